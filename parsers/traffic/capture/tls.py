"""TLS ClientHello: recognize its first bytes, gather it from one or more records, read SNI and ALPN."""

from __future__ import annotations

from dataclasses import dataclass, field

# A ClientHello with post-quantum key shares is ~1.8 KB; 16 KB is one maximal TLS record.
MAX_HELLO_BYTES = 16 * 1024
EXT_SERVER_NAME = 0
EXT_ALPN = 16


class TlsError(ValueError):
    """A length in the ClientHello lies. `hello` holds what was read before the lie."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.hello: ClientHello | None = None


@dataclass(slots=True)
class ClientHello:
    server_names: list[str] = field(default_factory=list)
    alpn: list[str] = field(default_factory=list)
    partial: bool = False  # decoded from the part that arrived (the rest of the flight was never seen)


def looks_like_client_hello(data: bytes, off: int = 0) -> bool:
    """Handshake record (0x16), version 3.x, handshake type 1 (ClientHello) right after the 5-byte header."""
    return (len(data) >= off + 6 and data[off] == 0x16 and data[off + 1] == 3 and data[off + 2] <= 4
            and data[off + 5] == 1)


def handshake_bytes(stream: bytes) -> tuple[bytes, bool]:
    """Concatenate the handshake-record payloads at the start of STREAM.

    Returns (handshake bytes, complete): complete when the first handshake message is entirely there.
    A record whose length points past the data simply contributes what arrived.
    """
    out = bytearray()
    off = 0
    size = len(stream)
    while off + 5 <= size and len(out) < MAX_HELLO_BYTES:
        if stream[off] != 0x16 or stream[off + 1] != 3:
            break
        length = (stream[off + 3] << 8) | stream[off + 4]
        out += stream[off + 5:off + 5 + length]
        off += 5 + length
        if len(out) >= 4 and len(out) >= 4 + ((out[1] << 16) | (out[2] << 8) | out[3]):
            return bytes(out), True
    return bytes(out), False


def needed_bytes(stream: bytes) -> int | None:
    """How many stream bytes the whole ClientHello needs, when that can already be told (bounded)."""
    hs, complete = handshake_bytes(stream)
    if complete:
        return 0
    if len(hs) < 4:
        return None
    return min(4 + ((hs[1] << 16) | (hs[2] << 8) | hs[3]), MAX_HELLO_BYTES)


def parse_client_hello(hs: bytes, partial: bool = False) -> ClientHello:
    """Read SNI and ALPN from a handshake message (type 1). Raises TlsError for lengths that lie.

    With PARTIAL, the message is known to be cut short: extensions read before the cut are kept.
    """
    hello = ClientHello(partial=partial)
    if len(hs) < 4 or hs[0] != 1:
        raise TlsError("not a ClientHello handshake message")
    body_len = (hs[1] << 16) | (hs[2] << 8) | hs[3]
    end = min(len(hs), 4 + body_len)
    off = 4 + 2 + 32  # legacy_version, random
    off = _skip_vector(hs, off, 1, end, "session id")
    off = _skip_vector(hs, off, 2, end, "cipher suites")
    off = _skip_vector(hs, off, 1, end, "compression methods")
    if off == end:
        return hello  # no extensions (SSL 3 style)
    if off + 2 > end:
        raise TlsError("extensions length runs past the ClientHello")
    ext_end = off + 2 + ((hs[off] << 8) | hs[off + 1])
    if ext_end > end and not partial:
        raise TlsError(f"extensions length {ext_end - off - 2} runs past the ClientHello")
    ext_end = min(ext_end, end)
    off += 2
    try:
        _extensions(hs, off, ext_end, partial, hello)
    except TlsError as exc:
        exc.hello = hello
        raise
    return hello


def _extensions(hs: bytes, off: int, ext_end: int, partial: bool, hello: ClientHello) -> None:
    while off + 4 <= ext_end:
        ext_type = (hs[off] << 8) | hs[off + 1]
        ext_len = (hs[off + 2] << 8) | hs[off + 3]
        start, off = off + 4, off + 4 + ext_len
        if off > ext_end:
            if partial:
                break
            raise TlsError(f"extension {ext_type} length {ext_len} runs past the extensions block")
        if ext_type == EXT_SERVER_NAME:
            hello.server_names.extend(_names(hs, start, off, 2, "server name"))
        elif ext_type == EXT_ALPN:
            hello.alpn.extend(_names(hs, start, off, 1, "ALPN"))


def _skip_vector(data: bytes, off: int, width: int, end: int, what: str) -> int:
    if off + width > end:
        raise TlsError(f"{what} length runs past the ClientHello")
    length = int.from_bytes(data[off:off + width], "big")
    off += width + length
    if off > end:
        raise TlsError(f"{what} length {length} runs past the ClientHello")
    return off


def _names(data: bytes, off: int, end: int, width: int, what: str) -> list[str]:
    """The entries of an SNI list (type byte + 2-byte length each) or ALPN list (1-byte length each)."""
    if off + 2 > end:
        raise TlsError(f"{what} list shorter than its length field")
    list_end = off + 2 + ((data[off] << 8) | data[off + 1])
    if list_end > end:
        raise TlsError(f"{what} list length runs past its extension")
    off += 2
    names = []
    while off < list_end:
        if width == 2:  # server_name: name_type(1) + length(2)
            if off + 3 > list_end:
                raise TlsError("server name entry runs past its list")
            name_type, length = data[off], (data[off + 1] << 8) | data[off + 2]
            off += 3
        else:
            name_type, length = 0, data[off]
            off += 1
        if off + length > list_end:
            raise TlsError(f"{what} entry length {length} runs past its list")
        if name_type == 0:
            names.append(data[off:off + length].decode("ascii", "backslashreplace"))
        off += length
    return names
