"""The real engines, started in a temporary directory on 127.0.0.1 and stopped by their own process id.

Squid: `http_port` on a free high port, every replayed name mapped to 127.0.0.1 in its `hosts_file`, its
resolver pointed at 127.0.0.1, ICMP pinger off, outgoing connections bound to 127.0.0.1. As root, Squid
insists on dropping to its `cache_effective_user` (Debian: proxy), so the directory is handed to that user;
as anyone else it runs as that user. Unbound: `interface: 127.0.0.1` on a free port, no privilege drop, no
chroot, validator off, everything forwarded to the stub upstream; the policy is the exported RPZ zone.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from auditor.simulate.dns_wire import LOOPBACK, resolve
from auditor.simulate.upstream import free_port

START_SECONDS = 30.0
SQUID_USER = "proxy"  # Debian's cache_effective_user


class EngineError(RuntimeError):
    """The engine is not installed, refused its configuration, or did not start."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool | None  # None: the engine gave no usable answer
    detail: str


def _which(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise EngineError(f"{name} is not installed (Debian package: {name})")


class _Engine:
    name = ""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=f"regaudit-{self.name}-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def _start(self, argv: list[str], ready: Callable[[], bool]) -> None:
        with (self.directory / "engine.out").open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.directory)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EngineError(f"{self.name} exited at start: {self.output()}")
            if ready():
                return
            time.sleep(0.1)
        raise EngineError(f"{self.name} did not answer on 127.0.0.1:{self.port} within {START_SECONDS:.0f} s")

    def output(self, limit: int = 2000) -> str:
        text = ""
        for name in ("engine.out", "cache.log", "unbound.log"):
            path = self.directory / name
            if path.is_file():
                text += path.read_text(errors="replace")
        lines = [ln for ln in text.splitlines() if "FATAL" in ln or "error" in ln.lower()] or text.splitlines()[-5:]
        return " | ".join(lines)[:limit]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self._configure_and_start()
        except BaseException:
            self.stop()  # a half-started engine leaves no process or directory behind
            raise
        return self

    def _configure_and_start(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SquidEngine(_Engine):
    name = "squid"

    def __init__(self, access_config: str, hosts: Iterable[str], upstream_port: int) -> None:
        super().__init__()
        self.binary = _which("squid")
        self.upstream_port = upstream_port
        self.hosts = sorted(set(hosts))
        self.access_config = access_config

    def _configure_and_start(self) -> None:
        (self.directory / "hosts").write_text(
            "".join(f"{LOOPBACK} {host}\n" for host in self.hosts), encoding="utf-8")
        (self.directory / "access.conf").write_text(self.access_config, encoding="utf-8")
        for attempt in range(5):
            self.port = free_port()
            (self.directory / "squid.conf").write_text(self._config(), encoding="utf-8")
            if os.geteuid() == 0:  # Squid drops root to cache_effective_user and must still write its log
                try:
                    os.chown(self.directory, pwd.getpwnam(SQUID_USER).pw_uid, -1)
                except KeyError:
                    raise EngineError(f"running as root, Squid switches to user {SQUID_USER!r}, which does not "
                                      "exist here: run simulate as an ordinary user") from None
            check = subprocess.run([self.binary, "-k", "parse", "-f", str(self.directory / "squid.conf")],
                                   capture_output=True, text=True, timeout=60, check=False)
            if check.returncode != 0:
                raise EngineError(f"squid refused the configuration: {check.stderr.strip()[-1500:]}")
            try:
                self._start([self.binary, "-N", "-f", str(self.directory / "squid.conf")], self._listening)
                return
            except EngineError:
                if attempt == 4 or "Address already in use" not in self.output():
                    raise
                self.stop_process_only()

    def stop_process_only(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def _config(self) -> str:
        d = self.directory
        return "\n".join([
            f"http_port {LOOPBACK}:{self.port}",
            "visible_hostname regaudit-simulate",
            f"hosts_file {d / 'hosts'}",
            f"dns_nameservers {LOOPBACK}",
            f"udp_incoming_address {LOOPBACK}",
            f"tcp_outgoing_address {LOOPBACK}",
            "pinger_enable off",
            "icp_port 0",
            "htcp_port 0",
            "cache deny all",
            "cache_mem 8 MB",
            "access_log none",
            f"cache_log {d / 'cache.log'}",
            "pid_filename none",
            f"coredump_dir {d}",
            "shutdown_lifetime 0 seconds",
            f"include {d / 'access.conf'}",
            "http_access deny all",
            "",
        ])

    def _listening(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def connect(self, host: str, timeout: float = 10.0) -> Verdict:
        """CONNECT HOST through Squid to the dummy upstream: 200 allowed, 403 denied."""
        target = f"[{host}]" if ":" in host else host
        request = f"CONNECT {target}:{self.upstream_port} HTTP/1.1\r\nHost: {target}:{self.upstream_port}\r\n\r\n"
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=timeout) as sock:
                sock.sendall(request.encode("ascii"))
                status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError as exc:
            return Verdict(None, f"no answer from squid: {exc}")
        words = status_line.split()
        code = words[1] if len(words) > 1 else ""
        if code == "200":
            return Verdict(True, "200 Connection established")
        if code == "403":
            return Verdict(False, "403 Forbidden (http_access)")
        return Verdict(None, f"unexpected answer {status_line[:80]!r}")


class UnboundEngine(_Engine):
    name = "unbound"

    def __init__(self, rpz_zone: str, upstream_port: int) -> None:
        super().__init__()
        self.binary = _which("unbound")
        self.upstream_port = upstream_port
        self.rpz_zone = rpz_zone

    def _configure_and_start(self) -> None:
        (self.directory / "allow.rpz").write_text(self.rpz_zone, encoding="utf-8")
        checker = _which("unbound-checkconf")
        for attempt in range(5):
            self.port = free_port()
            (self.directory / "unbound.conf").write_text(self._config(), encoding="utf-8")
            check = subprocess.run([checker, str(self.directory / "unbound.conf")], capture_output=True, text=True,
                                   timeout=60, check=False)
            if check.returncode != 0:
                raise EngineError(f"unbound refused the configuration: {(check.stdout + check.stderr).strip()[-1500:]}")
            try:
                self._start([self.binary, "-d", "-c", str(self.directory / "unbound.conf")], self._answering)
                return
            except EngineError:
                if attempt == 4 or "address already in use" not in self.output().lower():
                    raise

    def _config(self) -> str:
        d = self.directory
        return "\n".join([
            "server:",
            '    username: ""',
            '    chroot: ""',
            f'    directory: "{d}"',
            '    pidfile: ""',
            "    use-syslog: no",
            f'    logfile: "{d / "unbound.log"}"',
            f"    interface: {LOOPBACK}",
            f"    port: {self.port}",
            f"    outgoing-interface: {LOOPBACK}",
            "    do-ip6: no",
            "    do-tcp: no",
            "    do-not-query-localhost: no",
            '    module-config: "respip iterator"',
            "    qname-minimisation: no",
            "    access-control: 127.0.0.0/8 allow",
            "    cache-max-ttl: 0",
            "forward-zone:",
            '    name: "."',
            f"    forward-addr: {LOOPBACK}@{self.upstream_port}",
            "rpz:",
            "    name: rpz.regaudit.",
            f'    zonefile: "{d / "allow.rpz"}"',
            "",
        ])

    def _answering(self) -> bool:
        try:
            resolve("regaudit-ready.invalid", self.port, timeout=0.5)
            return True
        except OSError:
            return False

    def query(self, host: str) -> Verdict:
        try:
            answer = resolve(host, self.port)
        except (OSError, ValueError) as exc:
            return Verdict(None, f"no answer from unbound: {exc}")
        if answer.resolved:
            return Verdict(True, f"{answer.rcode}, {answer.answers} answer(s)")
        if answer.rcode == "NXDOMAIN":
            return Verdict(False, "NXDOMAIN (RPZ policy)")
        return Verdict(None, f"{answer.rcode} without an address")
