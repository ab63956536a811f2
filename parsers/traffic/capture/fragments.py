"""IP fragment reassembly for the datagrams worth it (DNS over UDP), bounded in count, size and age.

Large DNS responses (DNSSEC, long TXT/HTTPS sets) arrive as IPv4 or IPv6 fragments; their answers are in
the later fragments. Only datagrams whose first fragment has already been seen and is DNS are kept, so
bulk traffic never enters here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DATAGRAMS = 256
MAX_DATAGRAM_BYTES = 65535
MAX_FRAGMENT_AGE = 10_000  # frames: fragments of one datagram arrive back to back


@dataclass(slots=True)
class Datagram:
    proto: int
    family: int
    src: bytes
    dst: bytes
    frame: int
    time: float | None
    pieces: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None  # known once the last fragment (no "more fragments" flag) arrived
    size: int = 0

    def prefix(self) -> bytes:
        """The contiguous bytes from offset 0 (overlaps trimmed)."""
        out = bytearray()
        for offset in sorted(self.pieces):
            piece = self.pieces[offset]
            if offset > len(out):
                break
            out += piece[len(out) - offset:]
        return bytes(out)

    def complete(self) -> bytes | None:
        if self.total is None:
            return None
        data = self.prefix()
        return data[:self.total] if len(data) >= self.total else None


class Reassembler:
    def __init__(self) -> None:
        self.datagrams: dict[bytes, Datagram] = {}

    def start(self, key: bytes, datagram: Datagram, payload: bytes) -> list[Datagram]:
        """Keep the first fragment; returns the datagrams evicted to stay within bounds (decode them partial)."""
        evicted = []
        if key in self.datagrams:
            evicted.append(self.datagrams.pop(key))
        if len(self.datagrams) >= MAX_DATAGRAMS:
            evicted.append(self.datagrams.pop(next(iter(self.datagrams))))
        datagram.pieces[0] = payload
        datagram.size = len(payload)
        self.datagrams[key] = datagram
        return evicted

    def add(self, key: bytes, offset: int, more: bool, payload: bytes) -> tuple[Datagram, bytes] | None:
        """Add a later fragment; returns (datagram, whole payload) once every byte is there."""
        datagram = self.datagrams.get(key)
        if datagram is None:
            return None
        if (offset + len(payload) > MAX_DATAGRAM_BYTES or offset in datagram.pieces
                or datagram.size + len(payload) > MAX_DATAGRAM_BYTES):  # overlapping pieces must not pile up
            return None
        datagram.pieces[offset] = payload
        datagram.size += len(payload)
        if not more:
            datagram.total = offset + len(payload)
        whole = datagram.complete()
        if whole is None:
            return None
        del self.datagrams[key]
        return datagram, whole

    def expire(self, frame: int) -> list[Datagram]:
        stale = [key for key, d in self.datagrams.items() if frame - d.frame > MAX_FRAGMENT_AGE]
        return [self.datagrams.pop(key) for key in stale]

    def drain(self) -> list[Datagram]:
        left = list(self.datagrams.values())
        self.datagrams.clear()
        return left
