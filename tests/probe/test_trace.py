"""`regaudit trace` against a real registry on loopback.

The registry is the real distribution registry (`docker-registry`) with the `redirect` storage middleware, so
blob GETs answer 307 to a separate storage host (sample_pcaps/lab/blobstore.py on another loopback address,
logging the body bytes it sends). One registry runs plain HTTP, one TLS with a throwaway CA, one with token
auth (a JWT issuer from the lab). Everything listens on 127.0.0.x: nothing leaves loopback.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core.model import EdgeVia, InputError, Observation, ObservationKind, RedirectEdge
from auditor.probe.trace import Role, TraceOptions, trace_image
from auditor.probe.wwwauth import parse_www_authenticate
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.traffic import trace_result
from tests.conftest import FIXTURES, REPO_ROOT, run_parser

sys.path.insert(0, str(REPO_ROOT / "sample_pcaps" / "lab"))
import labkit  # lives beside the lab script, not in a package

REGISTRY_IP = "127.0.0.1"
STORAGE_IP = "127.0.0.2"
TOKEN_IP = "127.0.0.3"
TRACE_FIXTURES = FIXTURES / "traffic" / "trace_result"
TRACE_SCHEMA_FILE = REPO_ROOT / "reports" / "schemas" / "trace.schema.json"

needs_registry = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("docker-registry", "skopeo", "openssl")),
    reason="needs docker-registry, skopeo and openssl (Debian packages docker-registry, skopeo, openssl)")


@dataclass
class Lab:
    image: str  # registry/repository:tag as a user would write it
    blob_log: Path
    image_info: labkit.LabImage
    ca: labkit.CertPair | None = None
    token_log: Path | None = None
    multi: dict[str, labkit.LabImage] | None = None  # the multi-platform tag's images, by architecture

    def tagged(self, tag: str) -> str:
        return f"{self.image.rsplit(':', 1)[0]}:{tag}"

    def blob_requests(self, expected: int = 1) -> list[dict[str, object]]:
        """The storage host's request log in the order the requests arrived. It is written after the response
        is sent, so wait a moment for EXPECTED records (and a moment longer, so an unexpected extra one shows up
        too)."""
        deadline = time.monotonic() + 3
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines = self.blob_log.read_text().splitlines() if self.blob_log.exists() else []
            if len(lines) >= expected:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        lines = self.blob_log.read_text().splitlines() if self.blob_log.exists() else []
        return sorted((json.loads(line) for line in lines), key=lambda record: record["received_ns"])


def _start_lab(tmp: Path, tls: bool, token: bool, head_status: int = 0) -> tuple[Lab, list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    ca = labkit.make_ca(tmp / "certs") if tls else None
    registry_cert = labkit.make_cert(tmp / "certs", ca, "registry", [REGISTRY_IP]) if ca else None
    storage_cert = labkit.make_cert(tmp / "certs", ca, "storage", [STORAGE_IP]) if ca else None
    scheme = "https" if tls else "http"
    registry_port, storage_port = labkit.free_port(REGISTRY_IP), labkit.free_port(STORAGE_IP)
    storage = tmp / "storage"
    storage.mkdir()
    token_auth = None
    token_log = None
    try:
        if token:
            signer = labkit.make_signing_pair(tmp / "certs")
            token_port = labkit.free_port(TOKEN_IP)
            token_log = tmp / "token.log"
            token_auth = {"realm": f"http://{TOKEN_IP}:{token_port}/token", "service": "lab-registry",
                          "issuer": "regaudit-lab-issuer", "rootcertbundle": str(signer.cert)}
            procs.append(labkit.start_tokenserver(f"{TOKEN_IP}:{token_port}", signer, "regaudit-lab-issuer",
                                                  "lab-registry", token_log))
            labkit.wait_port(TOKEN_IP, token_port, proc=procs[-1])
        config = labkit.write_registry_config(
            tmp / "registry.yml", addr=f"{REGISTRY_IP}:{registry_port}", rootdir=storage,
            redirect_baseurl=f"{scheme}://{STORAGE_IP}:{storage_port}", tls=registry_cert, token_auth=token_auth)
        blob_log = tmp / "blobstore.log"
        procs.append(labkit.start_registry(config, tmp / "registry.log"))
        labkit.wait_port(REGISTRY_IP, registry_port, proc=procs[-1])
        procs.append(labkit.start_blobstore(storage, f"{STORAGE_IP}:{storage_port}", blob_log, tls=storage_cert,
                                            head_status=head_status))
        labkit.wait_port(STORAGE_IP, storage_port, proc=procs[-1])
        # A config blob of a few hundred bytes and a 256 KiB layer: a body read would be plain in the log.
        info = labkit.build_oci_layout(tmp / "oci", tag="1", padding=256 * 1024)
        image = f"{REGISTRY_IP}:{registry_port}/lab/hello:1"
        trust = ["--dest-cert-dir", str(labkit.trust_dir(tmp, ca))] if ca else ["--dest-tls-verify=false"]
        policy = tmp / "policy.json"
        policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
        skopeo = ["skopeo", "--policy", str(policy), "copy", "--retry-times", "0", *trust]
        labkit.run([*skopeo, f"oci:{info.layout}:1", f"docker://{image}"], env=labkit.clean_env(), timeout=60)
        # A multi-platform tag whose index lists arm64 first: the probe must pick linux/amd64.
        _, multi = labkit.build_oci_index(tmp / "oci-multi", "multi", ("arm64", "amd64"))
        labkit.run([*skopeo, "--all", f"oci:{tmp / 'oci-multi'}:multi", f"docker://{image.rsplit(':', 1)[0]}:multi"],
                   env=labkit.clean_env(), timeout=60)
        blob_log.unlink(missing_ok=True)  # the push's own requests are not the probe's
    except BaseException:
        labkit.stop(procs)
        raise
    return Lab(image, blob_log, info, ca, token_log, multi), procs


@pytest.fixture(scope="module")
def plain_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab, procs = _start_lab(tmp_path_factory.mktemp("plain"), tls=False, token=False)
    yield lab
    labkit.stop(procs)


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab, procs = _start_lab(tmp_path_factory.mktemp("tls"), tls=True, token=False)
    yield lab
    labkit.stop(procs)


@pytest.fixture(scope="module")
def token_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab, procs = _start_lab(tmp_path_factory.mktemp("token"), tls=False, token=True)
    yield lab
    labkit.stop(procs)


@pytest.fixture(scope="module")
def head_refusing_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab, procs = _start_lab(tmp_path_factory.mktemp("nohead"), tls=False, token=False, head_status=403)
    yield lab
    labkit.stop(procs)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def _trace(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["trace", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# --- the flow against a real registry --------------------------------------------------------------------------

@needs_registry
def test_plain_http_trace_follows_the_blob_redirect_to_the_storage_host(plain_lab: Lab) -> None:
    code, out, _ = _trace(plain_lab.image, "--plain-http", "--format", "json", "--timeout", "5")
    assert code == 0
    document = json.loads(out)
    jsonschema.validate(document, json.loads(TRACE_SCHEMA_FILE.read_text()))
    assert (document["schema"], document["version"]) == ("regaudit/trace", 1)
    (result,) = document["results"]
    assert result["ok"] is True and result["error"] is None
    hops = result["hops"]
    assert [(h["role"], h["method"], h["status"]) for h in hops] == [
        ("registry-api", "GET", 200), ("manifest", "GET", 200), ("blob", "GET", 307), ("storage", "HEAD", 200)]
    registry_port = int(plain_lab.image.split(":")[1].split("/")[0])
    assert all(h["host"] == REGISTRY_IP and h["port"] == registry_port for h in hops[:3])
    assert hops[1]["path"] == "/v2/lab/hello/manifests/1"
    # The blob asked for is the image config, and the registry sent it to the storage host by its storage path.
    config_hex = plain_lab.image_info.config_digest.split(":")[1]
    assert hops[2]["path"] == f"/v2/lab/hello/blobs/sha256:{config_hex}"
    assert hops[2]["location"].startswith(f"http://{STORAGE_IP}:")
    assert hops[2]["location"].endswith(f"/docker/registry/v2/blobs/sha256/{config_hex[:2]}/{config_hex}/data")
    assert hops[3]["host"] == STORAGE_IP and hops[3]["path"].endswith(f"/{config_hex}/data")
    # The storage host saw one HEAD and sent no body byte.
    assert [(r["method"], r["status"], r["body_bytes"]) for r in plain_lab.blob_requests()] == [("HEAD", 200, 0)]


@needs_registry
def test_an_index_resolves_to_linux_amd64(plain_lab: Lab) -> None:
    assert plain_lab.multi is not None
    amd64 = plain_lab.multi["amd64"]
    result = trace_image(plain_lab.tagged("multi"), TraceOptions(plain_http=True, timeout=5))
    assert result.ok, result.error
    assert [(h.role, h.path.rsplit("/", 1)[1], h.status) for h in result.hops] == [
        (Role.REGISTRY_API, "", 200), (Role.MANIFEST, "multi", 200), (Role.MANIFEST, amd64.manifest_digest, 200),
        (Role.BLOB, amd64.config_digest, 307), (Role.STORAGE, "data", 200)]
    assert result.blob == amd64.config_digest != plain_lab.multi["arm64"].config_digest


@needs_registry
def test_storage_refusing_head_gets_a_get_closed_after_the_headers(head_refusing_lab: Lab) -> None:
    result = trace_image(head_refusing_lab.image, TraceOptions(plain_http=True, timeout=5))
    assert result.ok, result.error
    assert [(h.role, h.method, h.status) for h in result.hops][-3:] == [
        (Role.BLOB, "GET", 307), (Role.STORAGE, "HEAD", 403), (Role.STORAGE, "GET", 200)]
    assert [(r["method"], r["status"]) for r in head_refusing_lab.blob_requests(expected=2)] == [
        ("HEAD", 403), ("GET", 200)]


@needs_registry
def test_text_output_prints_every_hop_and_the_chain(plain_lab: Lab) -> None:
    code, out, _ = _trace(plain_lab.image, "--plain-http")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(plain_lab.image)
    assert any(" registry-api " in line and " 200 " in line for line in lines)
    assert any(" blob " in line and " 307 " in line for line in lines)
    assert any(line.strip().startswith(f"Location: http://{STORAGE_IP}:") for line in lines)
    assert f"  chain: {REGISTRY_IP} -> {STORAGE_IP}" in lines


@needs_registry
def test_tls_registry_needs_its_ca(tls_lab: Lab) -> None:
    code, out, err = _trace(tls_lab.image, "--timeout", "5")
    assert code == 2
    assert "TLS certificate verification failed" in err
    assert tls_lab.blob_requests(expected=0) == []

    assert tls_lab.ca is not None
    code, out, err = _trace(tls_lab.image, "--ca-file", str(tls_lab.ca.cert), "--format", "json")
    assert code == 0, err
    hops = json.loads(out)["results"][0]["hops"]
    assert [(h["scheme"], h["role"], h["status"]) for h in hops] == [
        ("https", "registry-api", 200), ("https", "manifest", 200), ("https", "blob", 307),
        ("https", "storage", 200)]
    assert hops[3]["host"] == STORAGE_IP
    assert [(r["method"], r["body_bytes"]) for r in tls_lab.blob_requests()] == [("HEAD", 0)]

    code, out, err = _trace(tls_lab.image, "--insecure", "--format", "json")
    assert code == 0, err
    assert [h["status"] for h in json.loads(out)["results"][0]["hops"]] == [200, 200, 307, 200]


@needs_registry
def test_token_auth_hop_is_traced_and_the_token_never_reaches_storage(token_lab: Lab) -> None:
    result = trace_image(token_lab.image, TraceOptions(plain_http=True, timeout=5))
    assert result.ok, result.error
    assert [(h.role, h.host, h.status) for h in result.hops] == [
        (Role.REGISTRY_API, REGISTRY_IP, 401), (Role.AUTH_TOKEN, TOKEN_IP, 200), (Role.MANIFEST, REGISTRY_IP, 200),
        (Role.BLOB, REGISTRY_IP, 307), (Role.STORAGE, STORAGE_IP, 200)]
    assert result.hops[1].path == "/token"
    # The registry's bearer token went to the registry only: the storage host saw a HEAD without Authorization.
    assert [(r["method"], r["authorization"], r["body_bytes"]) for r in token_lab.blob_requests()] == [
        ("HEAD", False, 0)]
    assert token_lab.token_log is not None
    issued = [json.loads(line) for line in token_lab.token_log.read_text().splitlines()]
    assert issued[-1]["scope"] == ["repository:lab/hello:pull"] and issued[-1]["service"] == "lab-registry"


@needs_registry
def test_errors_are_reported_per_image_and_the_run_goes_on(plain_lab: Lab) -> None:
    dead_port = labkit.free_port(REGISTRY_IP)  # bound then released: nothing listens there
    registry = plain_lab.image.split("/")[0]
    code, out, err = _trace(f"{REGISTRY_IP}:{dead_port}/lab/hello:1", f"{registry}/lab/missing:1", plain_lab.image,
                            "NOT A REFERENCE", "--plain-http", "--format", "json", "--timeout", "3")
    assert code == 2
    results = json.loads(out)["results"]
    assert [r["ok"] for r in results] == [False, False, True, False]
    assert results[0]["error"] == f"connection refused by {REGISTRY_IP}:{dead_port}"
    assert results[1]["error"] == "manifest 1: not found (404)"
    assert results[3]["error"].startswith("invalid reference:")
    assert err.count("regaudit: trace ") == 3


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind((REGISTRY_IP, 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        result = trace_image(f"{REGISTRY_IP}:{port}/x/y:1", TraceOptions(plain_http=True, timeout=0.5))
    assert result.error == f"timed out after 0.5 s talking to {REGISTRY_IP}:{port}"
    assert result.hops[0].status is None and result.hops[0].role == Role.REGISTRY_API


@needs_registry
def test_proxy_environment_is_honoured_and_no_proxy_bypasses_it(plain_lab: Lab) -> None:
    dead_proxy = f"http://{REGISTRY_IP}:{labkit.free_port(REGISTRY_IP)}"
    env = {"HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "http_proxy": dead_proxy}
    code, _, err = _trace(plain_lab.image, "--plain-http", "--timeout", "3", env=env)
    assert code == 2
    assert f"(via proxy {dead_proxy})" in err

    env_bypass = {**env, "NO_PROXY": f"{REGISTRY_IP},{STORAGE_IP}", "no_proxy": f"{REGISTRY_IP},{STORAGE_IP}"}
    code, out, err = _trace(plain_lab.image, "--plain-http", "--timeout", "3", env=env_bypass)
    assert code == 0, err
    assert "[proxy" not in out


def test_docker_hub_names_go_to_registry_1_docker_io(monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy is a dead loopback port: the probe stops at the first hop and nothing leaves this machine.
    dead_proxy = f"http://{REGISTRY_IP}:{labkit.free_port(REGISTRY_IP)}"
    monkeypatch.setenv("HTTPS_PROXY", dead_proxy)
    monkeypatch.setenv("https_proxy", dead_proxy)
    result = trace_image("alpine", TraceOptions(timeout=2))
    assert (result.registry, result.repository, result.reference) == ("registry-1.docker.io", "library/alpine",
                                                                      "latest")
    assert (result.hops[0].host, result.hops[0].port, result.hops[0].path) == ("registry-1.docker.io", 443, "/v2/")
    assert result.error == f"connection refused by registry-1.docker.io:443 (via proxy {dead_proxy})"


# --- hostile servers -----------------------------------------------------------------------------------------------
# A real registry does not send these; a tiny HTTP server on loopback plays a hostile or broken one.

class _HostileRegistry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    realm = ""

    def _reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v2/" and self.realm:
            self._reply(401, {"WWW-Authenticate": f'Bearer realm="{self.realm}",service="x"'})
        elif self.path == "/v2/":
            self._reply(200, {})
        elif "/manifests/" in self.path:
            self._reply(200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                        json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64}}).encode())
        else:  # blobs and every storage hop: redirect again, forever
            self._reply(307, {"Location": "/loop?X-Signature=secret"})

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def hostile_registry() -> Iterator[tuple[str, type[_HostileRegistry]]]:
    handler = type("Handler", (_HostileRegistry,), {"realm": ""})
    server = ThreadingHTTPServer((REGISTRY_IP, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{REGISTRY_IP}:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_redirect_loop_stops_at_the_bound_and_signed_queries_are_not_recorded(
        hostile_registry: tuple[str, type[_HostileRegistry]]) -> None:
    registry, _ = hostile_registry
    result = trace_image(f"{registry}/a/b:1", TraceOptions(plain_http=True, timeout=3, max_redirects=3))
    assert result.error == "more than 3 redirects; stopped"
    assert [h.role for h in result.hops] == [Role.REGISTRY_API, Role.MANIFEST, Role.BLOB] + [Role.STORAGE] * 3
    assert all(h.location == f"http://{registry}/loop?…" for h in result.hops[2:])
    assert "secret" not in json.dumps([h.__dict__ for h in result.hops])


def test_a_token_realm_with_a_file_url_is_refused(hostile_registry: tuple[str, type[_HostileRegistry]]) -> None:
    registry, handler = hostile_registry
    handler.realm = "file:///etc/passwd"
    result = trace_image(f"{registry}/a/b:1", TraceOptions(plain_http=True, timeout=3))
    assert result.error == "auth-token: unsupported URL scheme in file:///etc/passwd?…"  # scope query redacted
    assert [(h.role, h.status, h.error) for h in result.hops] == [
        (Role.REGISTRY_API, 401, None), (Role.AUTH_TOKEN, None, "unsupported URL scheme 'file'")]


# --- WWW-Authenticate ------------------------------------------------------------------------------------------

def test_www_authenticate_bearer_with_quoted_commas_and_a_second_challenge() -> None:
    header = ('Bearer realm="https://auth.example/token?a=1,b=2",service="registry.example",'
              'scope="repository:team/app:pull" , Basic realm="say \\"hi\\""')
    bearer, basic = parse_www_authenticate(header)
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.example/token?a=1,b=2", "service": "registry.example",
                             "scope": "repository:team/app:pull"}
    assert (basic.scheme, basic.params) == ("basic", {"realm": 'say "hi"'})


def test_www_authenticate_token68_case_and_garbage() -> None:
    assert parse_www_authenticate("Negotiate YWJj==, BEARER Realm=r") [1].params == {"realm": "r"}
    assert parse_www_authenticate("Negotiate YWJj==")[0].token68 == "YWJj=="
    assert parse_www_authenticate("") == []
    # A hostile header never raises; an unterminated quote leaves the value empty.
    assert parse_www_authenticate('Bearer realm="unterminated')[0].params == {"realm": ""}
    assert [c.scheme for c in parse_www_authenticate(",,= ,Bearer error=\"x\"")] == ["bearer"]


# --- trace JSON read back as evidence ---------------------------------------------------------------------------

def test_trace_json_is_read_back_as_probe_evidence() -> None:
    path = TRACE_FIXTURES / "lab-trace.json"
    inp = InputFile.from_path(path)
    assert parser_for(inp).name == trace_result.NAME
    records = run_parser(trace_result.parse, path)
    edges = {(e.from_host, e.to_host, e.via) for e in records if isinstance(e, RedirectEdge)}
    assert edges == {("registry.lab.test", "blobs.storage.lab.test", EdgeVia.PROBE),
                     ("registry.lab.test", "auth.lab.test", EdgeVia.PROBE)}
    hops = [r for r in records if isinstance(r, Observation)]
    assert all(h.kind == ObservationKind.PROBE_HOP for h in hops)
    assert [h.host for h in hops][:2] == ["registry.lab.test", "auth.lab.test"]
    assert any(h.rcode == "error" and "DNS lookup failed" in h.detail for h in hops)
    assert all(r.source.parser == "trace_result" for r in records if hasattr(r, "source") and r.source)


def test_discover_shows_the_probe_edge(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["discover", str(TRACE_FIXTURES / "lab-trace.json"), "--format", "json"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "blobs.storage.lab.test" in text and "registry.lab.test" in text and '"probe"' in text


def test_malformed_trace_json_yields_errors_and_keeps_the_good_results() -> None:
    records = run_parser(trace_result.parse, TRACE_FIXTURES / "malformed-trace.json")
    errors = [r for r in records if isinstance(r, InputError)]
    assert [e.message for e in errors] == ["results[1]: not a trace result (no 'image' string)",
                                           "results[2]: malformed hops skipped: 1, 2"]
    edges = [r for r in records if isinstance(r, RedirectEdge)]
    assert [(e.from_host, e.to_host) for e in edges] == [("registry.example", "storage.example")]


def test_truncated_trace_json_is_an_error_not_a_crash() -> None:
    records = run_parser(trace_result.parse, TRACE_FIXTURES / "truncated-trace.json")
    assert len(records) == 1 and isinstance(records[0], InputError)
    assert records[0].message.startswith("not valid JSON:")
