"""The few DNS messages the simulation needs, in the standard library: an A query and its answer.

The stub upstream answers every A question with 127.0.0.1 (and every other type with no data), so a
resolver under test forwards to it and never reaches the network.
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass

from auditor.simulate.upstream import LOOPBACK, LoopbackServer

TYPE_A = 1
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    labels = [label.encode("ascii") for label in name.rstrip(".").split(".") if label]
    if any(len(label) > 63 for label in labels):
        raise ValueError(f"label longer than 63 octets in {name!r}")
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def query(name: str, qtype: int = TYPE_A) -> tuple[int, bytes]:
    """(message id, an A query for NAME with recursion desired)."""
    ident = secrets.randbelow(65536)
    return ident, struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)


@dataclass(frozen=True)
class Answer:
    rcode: str
    answers: int

    @property
    def resolved(self) -> bool:
        return self.rcode == "NOERROR" and self.answers > 0


def parse_answer(data: bytes, ident: int) -> Answer:
    if len(data) < 12:
        raise ValueError("short DNS message")
    got, flags, _qd, ancount = struct.unpack("!HHHH", data[:8])
    if got != ident:
        raise ValueError("answer to another query")
    return Answer(RCODES.get(flags & 0x000F, str(flags & 0x000F)), ancount)


def resolve(name: str, port: int, timeout: float = 3.0) -> Answer:
    """Ask the resolver on 127.0.0.1:PORT for NAME's A record."""
    ident, message = query(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, (LOOPBACK, port))
        while True:
            data, _ = sock.recvfrom(4096)
            try:
                return parse_answer(data, ident)
            except ValueError:
                continue  # a stray datagram: keep waiting for ours


def _question_end(data: bytes) -> int:
    position = 12
    while position < len(data) and data[position]:
        if data[position] & 0xC0:
            raise ValueError("compressed question name")
        position += 1 + data[position]
    if position + 5 > len(data):
        raise ValueError("truncated question")
    return position + 5


def stub_reply(data: bytes) -> bytes | None:
    """The answer to DATA: 127.0.0.1 for an A question, NOERROR without data otherwise; None if malformed."""
    try:
        ident, flags, qdcount = struct.unpack("!HHH", data[:6])
        if qdcount != 1 or flags & 0x8000:
            return None
        end = _question_end(data)
    except (struct.error, ValueError):
        return None
    qtype = struct.unpack("!H", data[end - 4:end - 2])[0]
    answer = b""
    if qtype == TYPE_A:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", TYPE_A, 1, 60, 4) + socket.inet_aton(LOOPBACK)
    header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | 0x0080, 1, 1 if answer else 0, 0, 0)
    return header + data[12:end] + answer


class StubUpstream(LoopbackServer):
    """A UDP DNS server that answers every name with 127.0.0.1 (a context manager)."""

    def __init__(self) -> None:
        super().__init__(socket.SOCK_DGRAM, "regaudit-dns-stub")
        self.questions = 0

    def serve_one(self) -> None:
        data, peer = self.sock.recvfrom(4096)
        reply = stub_reply(data)
        if reply is not None and peer[0].startswith("127."):
            self.questions += 1
            self.sock.sendto(reply, peer)
