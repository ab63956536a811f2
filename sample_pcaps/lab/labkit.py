"""Building blocks of the redirect lab, shared by run_lab.py and the live-probe tests.

Everything here talks to loopback only: a throwaway CA made with openssl, a tiny OCI image built by hand,
configuration files for the real distribution registry (`docker-registry`), and helpers to start and stop
the processes the lab runs. Registry configuration is written as JSON, which is valid YAML.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
BLOBSTORE = LAB_DIR / "blobstore.py"
TOKENSERVER = LAB_DIR / "tokenserver.py"
REQUIRED_TOOLS = ("docker-registry", "openssl")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class CommandFailed(RuntimeError):
    pass


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run CMD; on failure raise with its stderr, so a lab failure says what went wrong."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def trust_dir(workdir: Path, ca: CertPair) -> Path:
    """A directory holding only the CA as ca.crt: containers/image (skopeo --*-cert-dir) reads every *.crt there
    as a CA and insists on a .cert for every .key, so the server keys must not sit beside it."""
    trust = workdir / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    (trust / "ca.crt").write_bytes(ca.cert.read_bytes())
    return trust


def clean_env() -> dict[str, str]:
    """The environment for lab clients: no proxy settings, so nothing leaves loopback through a proxy."""
    return {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}


# --- certificates -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def make_ca(workdir: Path, name: str = "regaudit lab CA") -> CertPair:
    workdir.mkdir(parents=True, exist_ok=True)
    pair = CertPair(workdir / "ca.crt", workdir / "ca.key")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-keyout", str(pair.key), "-out", str(pair.cert),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return pair


def make_cert(workdir: Path, ca: CertPair, name: str, sans: list[str]) -> CertPair:
    """A server certificate for NAME signed by CA; SANS are DNS names or IP addresses."""
    workdir.mkdir(parents=True, exist_ok=True)
    pair = CertPair(workdir / f"{name}.crt", workdir / f"{name}.key")
    csr = workdir / f"{name}.csr"
    ext = workdir / f"{name}.ext"
    alt = ",".join(f"IP:{san}" if san.replace(".", "").isdigit() else f"DNS:{san}" for san in sans)
    ext.write_text(f"subjectAltName={alt}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={sans[0]}",
         "-keyout", str(pair.key), "-out", str(csr)])
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(pair.cert)])
    return pair


def make_signing_pair(workdir: Path) -> CertPair:
    """A self-signed key and certificate the token server signs JWTs with (the registry's rootcertbundle)."""
    workdir.mkdir(parents=True, exist_ok=True)
    pair = CertPair(workdir / "token-signer.crt", workdir / "token-signer.key")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=regaudit lab token",
         "-keyout", str(pair.key), "-out", str(pair.cert)])
    return pair


# --- a tiny OCI image ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabImage:
    layout: Path
    tag: str
    manifest_digest: str
    config_digest: str
    layer_digest: str
    layer_size: int


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_oci_layout(dest: Path, tag: str = "1", payload: bytes = b"hello from the regaudit lab\n",
                     padding: int = 0, architecture: str = "amd64") -> LabImage:
    """An OCI image layout with one layer holding hello.txt (and PADDING random-looking bytes, if asked).

    Fixed timestamps make the digests stable from run to run.
    """
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = [("hello.txt", payload)]
        if padding:
            # Incompressible filler so a test can tell a downloaded blob body from a headers-only request.
            filler = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(padding // 32 + 1))
            files.append(("filler.bin", filler[:padding]))
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    uncompressed = tar_bytes.getvalue()
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(uncompressed)
    layer = compressed.getvalue()
    config = json.dumps({
        "architecture": architecture, "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [_sha256(uncompressed)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": _sha256(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for data in (layer, config, manifest):
        (blobs / _sha256(data).split(":", 1)[1]).write_bytes(data)
    (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (dest / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": _sha256(manifest), "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    return LabImage(dest, tag, _sha256(manifest), _sha256(config), _sha256(layer), len(layer))


OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def build_oci_index(dest: Path, tag: str, architectures: tuple[str, ...]) -> tuple[str, dict[str, LabImage]]:
    """A multi-platform image: one linux image per architecture (in that order) under one OCI image index.

    Returns the index digest and the images by architecture; push it with `skopeo copy --all`.
    """
    images = {arch: build_oci_layout(dest, tag=f"{tag}-{arch}", payload=f"hello from {arch}\n".encode(),
                                     architecture=arch) for arch in architectures}
    index = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": image.manifest_digest,
                       "size": (dest / "blobs" / "sha256" / image.manifest_digest.split(":", 1)[1]).stat().st_size,
                       "platform": {"os": "linux", "architecture": arch}} for arch, image in images.items()],
    }, sort_keys=True).encode()
    (dest / "blobs" / "sha256" / _sha256(index).split(":", 1)[1]).write_bytes(index)
    (dest / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_INDEX, "digest": _sha256(index), "size": len(index),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    return _sha256(index), images


# --- registry configuration ----------------------------------------------------------------------------------

def write_registry_config(path: Path, *, addr: str, rootdir: Path, redirect_baseurl: str | None,
                          tls: CertPair | None = None, token_auth: dict[str, str] | None = None) -> Path:
    """A docker-registry config: filesystem storage, and the `redirect` storage middleware so blob GETs
    answer 307 to REDIRECT_BASEURL + the blob's storage path (the way S3/GCS/Azure backends redirect)."""
    config: dict[str, object] = {
        "version": "0.1",
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(rootdir)}, "maintenance": {
            "uploadpurging": {"enabled": False}}},
        "http": {"addr": addr, "secret": "regaudit-lab-not-a-secret",
                 "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    if redirect_baseurl:
        config["middleware"] = {"storage": [{"name": "redirect", "options": {"baseurl": redirect_baseurl}}]}
    if tls:
        config["http"]["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}  # type: ignore[index]
    if token_auth:
        config["auth"] = {"token": token_auth}
    path.write_text(json.dumps(config, indent=2))
    return path


# --- processes -------------------------------------------------------------------------------------------------

def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")  # noqa: SIM115 -- the child owns it for its lifetime
    try:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env or clean_env(),
                                start_new_session=True)
    finally:
        handle.close()


def start_registry(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return start(["docker-registry", "serve", str(config)], log)


def start_blobstore(root: Path, listen: str, log: Path, tls: CertPair | None = None,
                    head_status: int = 0) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(BLOBSTORE), "--root", str(root), "--listen", listen, "--log", str(log),
           "--head-status", str(head_status)]
    if tls:
        cmd += ["--cert", str(tls.cert), "--key", str(tls.key)]
    return start(cmd, log.with_suffix(".stderr"))


def start_tokenserver(listen: str, signer: CertPair, issuer: str, service: str, log: Path,
                      tls: CertPair | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(TOKENSERVER), "--listen", listen, "--sign-cert", str(signer.cert),
           "--sign-key", str(signer.key), "--issuer", issuer, "--service", service, "--log", str(log)]
    if tls:
        cmd += ["--cert", str(tls.cert), "--key", str(tls.key)]
    return start(cmd, log.with_suffix(".stderr"))


def wait_port(host: str, port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stop(procs: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM) -> None:
    """Stop the processes this lab started, by their own ids (each runs in its own session)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def serve(listen: str, handler: type, cert: Path | None, key: Path | None) -> None:
    """Serve HANDLER on LISTEN (`host:port`) until killed; over TLS when CERT is given (the lab's servers)."""
    host, _, port = listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), handler)
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
