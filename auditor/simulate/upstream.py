"""Loopback servers for the engines `simulate` starts: where an allowed CONNECT or a forwarded query ends up."""

from __future__ import annotations

import socket
import threading
from typing import Self

LOOPBACK = "127.0.0.1"


class LoopbackServer:
    """A socket bound on 127.0.0.1 (a free port) served by a daemon thread while the context is open.

    Closing the socket is what stops the thread: its blocking call raises OSError.
    """

    def __init__(self, kind: socket.SocketKind, name: str) -> None:
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((LOOPBACK, 0))
        self.port: int = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve_until_closed, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self._thread.join(timeout=2)

    def _serve_until_closed(self) -> None:
        while True:
            try:
                self.serve_one()
            except OSError:
                return  # closed

    def serve_one(self) -> None:
        raise NotImplementedError


class DummyUpstream(LoopbackServer):
    """A TCP listener that accepts and closes: where an allowed CONNECT ends up."""

    def __init__(self) -> None:
        super().__init__(socket.SOCK_STREAM, "regaudit-dummy-upstream")
        self.sock.listen(64)
        self.connections = 0

    def serve_one(self) -> None:
        conn, _ = self.sock.accept()
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
