"""A TCP listener on 127.0.0.1 that accepts and closes: where an allowed CONNECT ends up."""

from __future__ import annotations

import socket
import threading

LOOPBACK = "127.0.0.1"


class DummyUpstream:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, name="regaudit-dummy-upstream", daemon=True)

    def __enter__(self) -> DummyUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self._thread.join(timeout=2)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def free_port() -> int:
    """A TCP/UDP port on 127.0.0.1 free right now (the engine binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind((LOOPBACK, 0))
        port: int = tcp.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((LOOPBACK, port))  # raises if the UDP side is taken: the caller retries
    return port
