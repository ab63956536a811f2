"""DNS message decoding: the question, CNAME/A/AAAA/HTTPS answers and the rcode, with hostile-input limits."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
          7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
          64: "SVCB", 65: "HTTPS", 255: "ANY"}
TYPE_A, TYPE_CNAME, TYPE_AAAA, TYPE_SVCB, TYPE_HTTPS = 1, 5, 28, 64, 65
# A name is at most 255 bytes; a legal message needs far fewer pointer hops than this, a loop needs more.
MAX_NAME_BYTES = 255
MAX_POINTER_HOPS = 64
# Counts beyond what fits in a 64 KiB message are lies; stop before looping over them.
MAX_RECORDS = 4096
_HEADER = struct.Struct("!6H").unpack_from


class DnsError(ValueError):
    """The message is malformed. `truncated` is set when it merely ends early (snaplen, a lost fragment)."""

    def __init__(self, message: str, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


@dataclass(slots=True)
class DnsRecord:
    section: str  # "answer", "authority", "additional"
    owner: str
    rtype: int
    value: str  # address text for A/AAAA, target name for CNAME/HTTPS/SVCB


@dataclass(slots=True)
class DnsMessage:
    ident: int
    is_response: bool
    rcode: int
    questions: list[tuple[str, int]] = field(default_factory=list)
    records: list[DnsRecord] = field(default_factory=list)
    error: DnsError | None = None  # set when decoding stopped early; what came before is kept
    # The message less its identifier, when the scanner decoded it: equal keys are equal messages, so a
    # consumer may memoize what it derives from one (repeated lookups of a name cost one decode and one fold).
    key: bytes = b""

    @property
    def rcode_name(self) -> str:
        return RCODES.get(self.rcode, f"RCODE{self.rcode}")

    @property
    def qname(self) -> str | None:
        return self.questions[0][0] if self.questions else None


# Names by their wire labels (no pointer): a query's name comes back in its response, CNAME targets repeat.
_NAMES: dict[bytes, str] = {}
MAX_NAMES = 16384


def read_name(msg: bytes, off: int, limit: int = -1, seen: dict[int, tuple[str, int, int, int]] | None = None
              ) -> tuple[str, int]:
    """The (possibly compressed) name at OFF and the offset just after it; LIMIT: where its record ends.

    SEEN, one per message: the names already read in it by start offset, as (text, the offset just past their
    last byte, bytes counted against MAX_NAME_BYTES, pointer hops), so a pointer to one costs a lookup. Only
    well-formed names take this path; anything unusual is read by the careful loop, which names the fault."""
    size = len(msg) if limit < 0 else limit
    start = off
    while off < size:
        length = msg[off]
        if length == 0:
            if off - start > MAX_NAME_BYTES:
                break
            text = _labels(msg[start:off])
            if seen is not None:
                seen[start] = (text, off + 1, off - start, 0)
            return text or "<Root>", off + 1
        if length >= 0x40:
            if length < 0xC0 or seen is None or off + 1 >= size:
                break
            known = seen.get(((length & 0x3F) << 8) | msg[off + 1])
            if known is None:
                break
            suffix, extent, total, hops = known
            total += off - start
            if extent > size or total > MAX_NAME_BYTES or hops >= MAX_POINTER_HOPS:
                break
            prefix = _labels(msg[start:off]) if off > start else ""
            text = f"{prefix}.{suffix}" if prefix and suffix else prefix or suffix
            seen[start] = (text, extent if extent > off + 2 else off + 2, total, hops + 1)
            return text or "<Root>", off + 2
        off += length + 1
    return _read_name_carefully(msg, start, limit)


def _labels(wire: bytes) -> str:
    """WIRE, length-prefixed labels known to be in bounds, as dotted text."""
    text = _NAMES.get(wire)
    if text is None:
        labels = []
        at, end = 0, len(wire)
        while at < end:
            labels.append(wire[at + 1:at + 1 + wire[at]])
            at += 1 + wire[at]
        raw = b".".join(labels)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:  # hostnames are ASCII: keep anything else visibly escaped, never guessed at
            text = raw.decode("ascii", "backslashreplace")
        if len(_NAMES) >= MAX_NAMES:
            _NAMES.clear()
        _NAMES[wire] = text
    return text


def _read_name_carefully(msg: bytes, off: int, limit: int = -1) -> tuple[str, int]:
    labels: list[bytes] = []
    after = -1
    hops = 0
    total = 0
    size = len(msg) if limit < 0 else limit
    while True:
        if off >= size:
            raise DnsError("name runs past the end of the message", truncated=True)
        length = msg[off]
        if length == 0:
            off += 1
            break
        if length < 0x40:
            end = off + 1 + length
            if end > size:
                raise DnsError("label runs past the end of the message", truncated=True)
            total += length + 1
            if total > MAX_NAME_BYTES:
                raise DnsError(f"name longer than {MAX_NAME_BYTES} bytes")
            labels.append(msg[off + 1:end])
            off = end
            continue
        if length < 0xC0:
            raise DnsError(f"unsupported label type 0x{length & 0xC0:02x} at offset {off}")
        if off + 1 >= size:
            raise DnsError("compression pointer runs past the end of the message", truncated=True)
        if after < 0:
            after = off + 2
        hops += 1
        if hops > MAX_POINTER_HOPS:
            raise DnsError(f"compression pointer loop (more than {MAX_POINTER_HOPS} hops)")
        target = ((length & 0x3F) << 8) | msg[off + 1]
        if target >= size:
            raise DnsError(f"compression pointer to offset {target} past the end of the message", truncated=True)
        off = target
    raw = b".".join(labels)
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:  # hostnames are ASCII: keep anything else visibly escaped, never guessed at
        name = raw.decode("ascii", "backslashreplace")
    return name or "<Root>", (after if after >= 0 else off)


def decode(msg: bytes) -> DnsMessage:
    """Decode MSG as far as it goes; a malformed part sets `.error` and keeps what came before it."""
    if len(msg) < 12:
        raise DnsError(f"message of {len(msg)} bytes is shorter than the 12-byte header", truncated=True)
    ident, flags, *counts = _HEADER(msg)
    out = DnsMessage(ident=ident, is_response=bool(flags & 0x8000), rcode=flags & 0x0F)
    if flags & 0x7800:  # opcode other than QUERY (UPDATE, NOTIFY ...): no questions to learn from
        return out
    off = 12
    size = len(msg)
    seen: dict[int, tuple[str, int, int, int]] = {}
    try:
        for _ in range(counts[0] if counts[0] < MAX_RECORDS else MAX_RECORDS):
            name, off = read_name(msg, off, -1, seen)
            if off + 4 > size:
                raise DnsError("question runs past the end of the message", truncated=True)
            out.questions.append((name, (msg[off] << 8) | msg[off + 1]))
            off += 4
        for section, count in (("answer", counts[1]), ("authority", counts[2]), ("additional", counts[3])):
            for _ in range(count if count < MAX_RECORDS else MAX_RECORDS):
                off = _read_record(msg, off, section, out.records, seen)
    except DnsError as exc:
        # Kept without its traceback: the traceback's frames hold MSG (a view of the reader's 4 MiB
        # block) and OUT itself, a reference cycle only the garbage collector frees, which the relaxed
        # thresholds of bulk parsing let pile up until memory grew with the capture's size.
        out.error = exc.with_traceback(None)
    return out


def _read_record(msg: bytes, off: int, section: str, records: list[DnsRecord],
                 seen: dict[int, tuple[str, int, int, int]] | None = None) -> int:
    owner, off = read_name(msg, off, -1, seen)
    if off + 10 > len(msg):
        raise DnsError("resource record header runs past the end of the message", truncated=True)
    rtype = (msg[off] << 8) | msg[off + 1]
    rdlength = (msg[off + 8] << 8) | msg[off + 9]
    start = off + 10
    end = start + rdlength
    if end > len(msg):
        raise DnsError(f"{QTYPES.get(rtype, rtype)} record data runs past the end of the message", truncated=True)
    if rtype == TYPE_A:
        if rdlength != 4:
            raise DnsError(f"A record with {rdlength} data bytes")
        records.append(DnsRecord(section, owner, rtype, socket.inet_ntop(socket.AF_INET, msg[start:end])))
    elif rtype == TYPE_AAAA:
        if rdlength != 16:
            raise DnsError(f"AAAA record with {rdlength} data bytes")
        records.append(DnsRecord(section, owner, rtype, socket.inet_ntop(socket.AF_INET6, msg[start:end])))
    elif rtype == TYPE_CNAME:
        target, _ = read_name(msg, start, end, seen)
        records.append(DnsRecord(section, owner, rtype, target))
    elif rtype in (TYPE_HTTPS, TYPE_SVCB) and rdlength > 2:
        target, _ = read_name(msg, start + 2, end, seen)
        records.append(DnsRecord(section, owner, rtype, target))
    return end
