"""The redirect lab (sample_pcaps/lab/run_lab.py): what its captures and logs hold.

The committed outputs under sample_pcaps/ are checked wherever tshark is installed; the lab itself is re-run
(in a network namespace of its own, loopback only) where root, `ip netns` and the lab's packages are present,
and its fresh outputs get the same checks. The chain to find: the registry host, the storage host, and the
307 redirect edge between them (plain HTTP: in the clear; TLS: both names in SNI), plus the token host.
Checked twice: with tshark as an independent reader, and through regaudit's own parsers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core.model import EdgeVia, RedirectEdge
from parsers.traffic import trace_result
from tests.conftest import REPO_ROOT, run_parser

SAMPLES = REPO_ROOT / "sample_pcaps"
LAB_SCRIPT = SAMPLES / "lab" / "run_lab.py"
REGISTRY = "registry.lab.test"
REGISTRY_HTTP = "registry.lab.test:5000"
STORAGE = "blobs.storage.lab.test"
AUTH = "auth.lab.test"
LAB_TOOLS = ("ip", "docker-registry", "dnsmasq", "skopeo", "tcpdump", "openssl", "tshark")

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark (Debian package tshark)")


def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    missing = [tool for tool in LAB_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the lab needs {', '.join(missing)}"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True)
    if probe.returncode != 0:
        return "ip netns is not usable here"
    return None


def _tshark(pcap: Path, fields: list[str], display_filter: str) -> list[list[str]]:
    cmd = ["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for name in fields:
        cmd += ["-e", name]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def check_http_capture(pcap: Path) -> None:
    """Plain HTTP: the registry's 307 names the storage host, and the client then asks the storage host."""
    requests = _tshark(pcap, ["tcp.stream", "http.host", "http.request.method", "http.request.uri"], "http.request")
    stream_host = {stream: host for stream, host, _, _ in requests}
    assert {host for _, host, _, _ in requests} == {REGISTRY_HTTP, STORAGE}
    assert (REGISTRY_HTTP, "GET", "/v2/") in {(h, m, u) for _, h, m, u in requests}
    redirects = _tshark(pcap, ["tcp.stream", "http.response.code", "http.location"], "http.response.code == 307")
    assert len(redirects) == 2  # the config blob and the layer
    storage_paths = {uri for _, host, method, uri in requests if host == STORAGE and method == "GET"}
    for stream, _, location in redirects:
        assert stream_host[stream] == REGISTRY_HTTP  # the 307 came from the registry's connection
        target = urlsplit(location)
        assert (target.scheme, target.hostname) == ("http", STORAGE)
        assert target.path.startswith("/docker/registry/v2/blobs/sha256/")
        assert target.path in storage_paths  # and the client followed it to the storage host
    _check_dns(pcap)


def check_tls_capture(pcap: Path) -> None:
    """TLS: nothing in the clear, but the ClientHellos name the registry, its token host and the storage host."""
    names = {row[0] for row in _tshark(pcap, ["tls.handshake.extensions_server_name"], "tls.handshake.type == 1")}
    assert names == {REGISTRY, AUTH, STORAGE}
    assert _tshark(pcap, ["http.host"], "http.request") == []
    _check_dns(pcap)


def _check_dns(pcap: Path) -> None:
    answers = _tshark(pcap, ["dns.qry.name", "dns.cname"], "dns.flags.response == 1 && dns.cname")
    assert {(name, cname) for name, cname in answers} >= {
        (REGISTRY, "registry-frontend.lab.test"), (STORAGE, "blobs-origin.storage.lab.test")}


def check_logs(out: Path) -> None:
    dns_log = (out / "lab-dnsmasq.log").read_text()
    assert f"query[A] {REGISTRY} from 127.0.0.1" in dns_log
    assert f"config {REGISTRY} is <CNAME>" in dns_log
    assert "config blobs-origin.storage.lab.test is 127.0.10.2" in dns_log
    assert "config missing.lab.test is NXDOMAIN" in dns_log  # the probe's DNS-failure image
    registry_log = (out / "lab-registry-tls.log").read_text()
    assert '"GET /v2/ HTTP/1.1" 401' in registry_log
    assert "http.response.status=307" in registry_log
    blob_requests = [json.loads(line) for line in (out / "lab-blobstore.log").read_text().splitlines()]
    # skopeo downloaded the bodies; regaudit's probe only ever sent HEAD and received no body byte.
    assert any(r["method"] == "GET" and r["body_bytes"] > 0 for r in blob_requests)
    heads = [r for r in blob_requests if r["method"] == "HEAD"]
    assert len(heads) == 2 and all(r["body_bytes"] == 0 and not r["authorization"] for r in heads)


def check_trace_outputs(out: Path) -> None:
    records = run_parser(trace_result.parse, out / "lab-trace-tls.json")
    edges = {(e.from_host, e.to_host, e.via) for e in records if isinstance(e, RedirectEdge)}
    assert edges == {(REGISTRY, STORAGE, EdgeVia.PROBE), (REGISTRY, AUTH, EdgeVia.PROBE)}
    tls_results = json.loads((out / "lab-trace-tls.json").read_text())["results"]
    assert [r["ok"] for r in tls_results] == [True, False]
    assert tls_results[1]["error"].startswith("DNS lookup failed for missing.lab.test")  # dnsmasq's NXDOMAIN
    document = json.loads((out / "lab-trace-http.json").read_text())
    (result,) = document["results"]
    assert [(h["role"], h["host"], h["status"]) for h in result["hops"]] == [
        ("registry-api", REGISTRY, 200), ("manifest", REGISTRY, 200), ("blob", REGISTRY, 307),
        ("storage", STORAGE, 200)]


def check_through_regaudit(out: Path) -> None:
    """regaudit discover over the captures: the same hosts and the http-location edge, from its own pcap parser."""
    http = _discover(out / "lab-http-pull.pcap")
    assert (REGISTRY, STORAGE, "http-location") in {(e["from"], e["to"], e["via"]) for e in http["redirect_edges"]}
    assert {REGISTRY, STORAGE} <= {h["host"] for h in http["observed_hosts"]}
    tls = _discover(out / "lab-tls-pull.pcap")
    sni_hosts = {h["host"] for h in tls["observed_hosts"] if "tls-sni" in h["kinds"]}
    assert sni_hosts == {REGISTRY, AUTH, STORAGE}


def _discover(path: Path) -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["discover", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- the committed samples ---------------------------------------------------------------------------------------

@pytest.mark.tshark
@needs_tshark
def test_committed_http_capture_shows_the_redirect_chain() -> None:
    check_http_capture(SAMPLES / "lab-http-pull.pcap")


@pytest.mark.tshark
@needs_tshark
def test_committed_tls_capture_names_every_host_in_sni() -> None:
    check_tls_capture(SAMPLES / "lab-tls-pull.pcap")


def test_committed_logs_and_trace_outputs() -> None:
    check_logs(SAMPLES)
    check_trace_outputs(SAMPLES)


def test_committed_captures_through_regaudit() -> None:
    check_through_regaudit(SAMPLES)


# --- a fresh run of the lab ----------------------------------------------------------------------------------------

@pytest.mark.lab
@pytest.mark.timeout(120)
def test_lab_reruns_and_records_the_chain(tmp_path: Path) -> None:
    reason = _lab_unavailable()
    if reason:
        pytest.skip(reason)
    before = _lab_namespaces()
    done = subprocess.run([sys.executable, str(LAB_SCRIPT), "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "run_lab: done" in done.stdout
    check_http_capture(tmp_path / "lab-http-pull.pcap")
    check_tls_capture(tmp_path / "lab-tls-pull.pcap")
    check_logs(tmp_path)
    check_trace_outputs(tmp_path)
    check_through_regaudit(tmp_path)
    # Self-cleaning: the run leaves no namespace and no /etc/netns resolv.conf behind (compared with before, so a
    # namespace left by some earlier, killed run does not fail this one).
    assert _lab_namespaces() == before


def _lab_namespaces() -> tuple[set[str], set[str]]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    return ({ns for ns in listed if ns.startswith("regaudit-lab-")},
            {p.name for p in Path("/etc/netns").glob("regaudit-lab-*")})
