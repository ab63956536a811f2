"""Record a real registry pull whose blobs redirect to a separate storage host, inside a network namespace.

    sudo python3 sample_pcaps/lab/run_lab.py [--out sample_pcaps] [--keep]

What runs, all on the loopback interface of a namespace of its own (`regaudit-lab-<pid>`), never any other
address:
  dnsmasq         the namespace's resolver (127.0.0.1:53; /etc/netns/<ns>/resolv.conf points at it), with
                  CNAMEs registry.lab.test -> registry-frontend.lab.test and
                  blobs.storage.lab.test -> blobs-origin.storage.lab.test; queries logged to a file
  docker-registry two instances over one filesystem storage, both with the `redirect` storage middleware:
                  TLS on registry.lab.test:443 (blobs -> https://blobs.storage.lab.test) and
                  plain HTTP on registry.lab.test:5000 (blobs -> http://blobs.storage.lab.test)
  blobstore.py    the storage host, serving the registry's storage files by path (TLS 443, plain 80)
  tokenserver.py  the TLS registry's token issuer (auth.lab.test:443, `auth: token`, RS256 JWTs)
  skopeo          pushes a tiny hand-built OCI image, then pulls it twice while tcpdump records lo:
                  once over TLS (trusting the throwaway CA) and once over plain HTTP
  regaudit trace  the project's own live probe over both registries (and a name dnsmasq does not know)

Outputs (in --out): lab-tls-pull.pcap, lab-http-pull.pcap, lab-dnsmasq.log, lab-registry-tls.log,
lab-registry-http.log, lab-blobstore.log, lab-tokenserver.log, lab-trace-tls.json, lab-trace-http.json.
The namespace, its resolv.conf and the work directory are removed afterwards (unless --keep), also after a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labkit  # the lab directory is not a package: found through sys.path above

REGISTRY_IP = "127.0.10.1"
STORAGE_IP = "127.0.10.2"
AUTH_IP = "127.0.10.3"
AUTH_HOST = "auth.lab.test"
REGISTRY_HOST = "registry.lab.test"
REGISTRY_CANONICAL = "registry-frontend.lab.test"
STORAGE_HOST = "blobs.storage.lab.test"
STORAGE_CANONICAL = "blobs-origin.storage.lab.test"
TLS_PORT, HTTP_PORT = 443, 5000
STORAGE_TLS_PORT, STORAGE_HTTP_PORT = 443, 80
TLS_IMAGE = f"{REGISTRY_HOST}/lab/hello:1"  # port 443: the name carries no port
HTTP_IMAGE = f"{REGISTRY_HOST}:{HTTP_PORT}/lab/hello:1"
TAG = "1"
REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_TOOLS = ("ip", "docker-registry", "dnsmasq", "skopeo", "tcpdump", "openssl")


def missing_tools() -> list[str]:
    return [tool for tool in LAB_TOOLS if shutil.which(tool) is None]


# --- outside the namespace ------------------------------------------------------------------------------------

def run_outside(out: Path, keep: bool) -> int:
    if os.geteuid() != 0:
        print("run_lab: needs root (network namespaces)", file=sys.stderr)
        return 2
    if missing := missing_tools():
        print(f"run_lab: missing tools: {', '.join(missing)}", file=sys.stderr)
        return 2
    namespace = f"regaudit-lab-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="regaudit-lab-"))
    netns_etc = Path("/etc/netns") / namespace
    out.mkdir(parents=True, exist_ok=True)
    try:
        netns_etc.mkdir(parents=True)
        # `ip netns exec` bind-mounts this over /etc/resolv.conf: the namespace's resolver is our dnsmasq.
        (netns_etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions attempts:2 timeout:2\n")
        labkit.run(["ip", "netns", "add", namespace])
        inside = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, str(Path(__file__).resolve()),
                                 "--inside", "--workdir", str(workdir), "--out", str(out.resolve())],
                                env=labkit.clean_env(), timeout=120)
        return inside.returncode
    finally:
        _kill_namespace_processes(namespace)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        shutil.rmtree(netns_etc, ignore_errors=True)
        if keep:
            print(f"run_lab: work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _kill_namespace_processes(namespace: str) -> None:
    """Processes still in the lab's own namespace were started by this lab: stop them by pid."""
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    for pid in listed.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


# --- inside the namespace ------------------------------------------------------------------------------------

def run_inside(workdir: Path, out: Path) -> int:
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        labkit.run(["ip", "link", "set", "lo", "up"])
        for address in (REGISTRY_IP, STORAGE_IP, AUTH_IP):
            labkit.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"])
        certs = workdir / "certs"
        ca = labkit.make_ca(certs)
        registry_cert = labkit.make_cert(certs, ca, "registry", [REGISTRY_HOST, REGISTRY_CANONICAL])
        storage_cert = labkit.make_cert(certs, ca, "storage", [STORAGE_HOST, STORAGE_CANONICAL])
        auth_cert = labkit.make_cert(certs, ca, "auth", [AUTH_HOST])
        signer = labkit.make_signing_pair(certs)
        trust = labkit.trust_dir(workdir, ca)

        dns_log = workdir / "dnsmasq.log"
        procs.append(_start_dnsmasq(workdir, dns_log))
        labkit.wait_port("127.0.0.1", 53, proc=procs[-1])

        storage_root = workdir / "storage"
        storage_root.mkdir()
        logs = workdir / "logs"
        tls_config = labkit.write_registry_config(
            workdir / "registry-tls.yml", addr=f"{REGISTRY_IP}:{TLS_PORT}", rootdir=storage_root,
            redirect_baseurl=f"https://{STORAGE_HOST}", tls=registry_cert,
            token_auth={"realm": f"https://{AUTH_HOST}/token", "service": REGISTRY_HOST, "issuer": AUTH_HOST,
                        "rootcertbundle": str(signer.cert)})
        http_config = labkit.write_registry_config(
            workdir / "registry-http.yml", addr=f"{REGISTRY_IP}:{HTTP_PORT}", rootdir=storage_root,
            redirect_baseurl=f"http://{STORAGE_HOST}")
        blob_log = logs / "blobstore.log"
        procs += [
            labkit.start_registry(tls_config, logs / "registry-tls.log"),
            labkit.start_registry(http_config, logs / "registry-http.log"),
            labkit.start_blobstore(storage_root, f"{STORAGE_IP}:{STORAGE_TLS_PORT}", blob_log, tls=storage_cert),
            labkit.start_blobstore(storage_root, f"{STORAGE_IP}:{STORAGE_HTTP_PORT}", blob_log),
            labkit.start_tokenserver(f"{AUTH_IP}:443", signer, AUTH_HOST, REGISTRY_HOST, logs / "tokenserver.log",
                                     tls=auth_cert),
        ]
        for (host, port), proc in zip(((REGISTRY_IP, TLS_PORT), (REGISTRY_IP, HTTP_PORT),
                                       (STORAGE_IP, STORAGE_TLS_PORT), (STORAGE_IP, STORAGE_HTTP_PORT),
                                       (AUTH_IP, 443)),
                                      procs[1:], strict=True):
            labkit.wait_port(host, port, proc=proc)

        image = labkit.build_oci_layout(workdir / "oci", tag=TAG)
        policy = workdir / "policy.json"
        policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
        skopeo = ["skopeo", "--policy", str(policy), "copy", "--retry-times", "0"]
        labkit.run([*skopeo, "--dest-cert-dir", str(trust), f"oci:{image.layout}:{TAG}",
                    f"docker://{TLS_IMAGE}"], env=labkit.clean_env())

        _capture(out / "lab-tls-pull.pcap", [*skopeo, "--src-cert-dir", str(trust),
                                             f"docker://{TLS_IMAGE}",
                                             f"dir:{workdir / 'pull-tls'}"])
        _capture(out / "lab-http-pull.pcap", [*skopeo, "--src-tls-verify=false",
                                              f"docker://{HTTP_IMAGE}",
                                              f"dir:{workdir / 'pull-http'}"])
        for pulled in ("pull-tls", "pull-http"):
            layer = workdir / pulled / image.layer_digest.split(":", 1)[1]
            if not layer.is_file():
                raise RuntimeError(f"{pulled}: layer {image.layer_digest} missing after skopeo copy")
        _probe(out, trust / "ca.crt")
    finally:
        labkit.stop(procs)
    shutil.copy(dns_log, out / "lab-dnsmasq.log")
    shutil.copy(logs / "registry-tls.log", out / "lab-registry-tls.log")
    shutil.copy(logs / "registry-http.log", out / "lab-registry-http.log")
    shutil.copy(blob_log, out / "lab-blobstore.log")
    shutil.copy(logs / "tokenserver.log", out / "lab-tokenserver.log")
    print(f"run_lab: done in {time.monotonic() - started:.1f} s; outputs in {out}")
    return 0


def _probe(out: Path, ca_file: Path) -> None:
    """regaudit's own live probe over the same lab, once per registry; the missing host shows a DNS failure."""
    regaudit = [sys.executable, "-m", "auditor.cli", "trace", "--format", "json", "--timeout", "5"]
    for name, extra in (("lab-trace-tls.json", [TLS_IMAGE, f"missing.lab.test/lab/hello:{TAG}", "--ca-file",
                                                 str(ca_file)]),
                        ("lab-trace-http.json", [HTTP_IMAGE, "--plain-http"])):
        done = subprocess.run([*regaudit, *extra, "-o", str(out / name)], cwd=REPO_ROOT, env=labkit.clean_env(),
                              capture_output=True, text=True, timeout=60)
        if not (out / name).is_file() or done.returncode not in (0, 2):
            raise RuntimeError(f"regaudit trace failed ({done.returncode}): {done.stderr.strip()}")


def _start_dnsmasq(workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    config = workdir / "dnsmasq.conf"
    config.write_text("\n".join([
        "no-resolv", "no-hosts", "no-poll", "bind-interfaces", "listen-address=127.0.0.1", "port=53",
        "user=root", "group=root", "log-queries=extra", f"log-facility={log}",
        "domain-needed", "local=/lab.test/",
        f"host-record={REGISTRY_CANONICAL},{REGISTRY_IP}",
        f"host-record={STORAGE_CANONICAL},{STORAGE_IP}",
        f"host-record={AUTH_HOST},{AUTH_IP}",
        f"cname={REGISTRY_HOST},{REGISTRY_CANONICAL}",
        f"cname={STORAGE_HOST},{STORAGE_CANONICAL}",
        "",
    ]))
    return labkit.start(["dnsmasq", "--keep-in-foreground", f"--conf-file={config}",
                         f"--pid-file={workdir / 'dnsmasq.pid'}"], workdir / "dnsmasq.stderr")


def _capture(pcap: Path, client: list[str]) -> None:
    """Record loopback while CLIENT runs; DNS, TLS handshakes and HTTP all cross lo inside the namespace."""
    pcap.unlink(missing_ok=True)
    stderr_path = pcap.with_suffix(".tcpdump.txt")
    # Immediate mode, or packets still in the kernel's ring block are lost when tcpdump stops; it also switches
    # libpcap to fixed-size frames of the snapshot length, so the buffer must hold the burst of a whole pull.
    tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "65535",
                                "-B", "32768", "-w", str(pcap)],
                               stdout=subprocess.DEVNULL, stderr=open(stderr_path, "wb"),  # noqa: SIM115
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while b"listening on" not in stderr_path.read_bytes():
            if time.monotonic() > deadline or tcpdump.poll() is not None:
                raise RuntimeError(f"tcpdump did not start: {stderr_path.read_text(errors='replace')}")
            time.sleep(0.05)
        labkit.run(client, env=labkit.clean_env())
        time.sleep(0.3)  # let the last FIN/ACKs reach the capture
    finally:
        labkit.stop([tcpdump], sig=signal.SIGINT)
        stats = stderr_path.read_text(errors="replace")
        stderr_path.unlink(missing_ok=True)
        dropped = re.search(r"(\d+) packets? dropped by kernel", stats)
        if dropped and int(dropped.group(1)):
            raise RuntimeError(f"tcpdump: {dropped.group(0)} while recording {pcap.name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="where the captures and logs go (default: sample_pcaps/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (certs, storage, configs)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return run_inside(args.workdir, args.out)
    return run_outside(args.out, args.keep)


if __name__ == "__main__":
    sys.exit(main())
