"""One large line-oriented log read by many workers: split into byte ranges at line boundaries, each range
parsed on its own, the ranges' records folded back into the record stream one parse of the whole file yields.

Only kinds whose lines are independent are split (a Zeek log's `#` header is given to every range; dnsmasq
pairs a reply with an earlier query line, a CI log takes its runner from its header: those stay whole), and
only uncompressed files (a compressed stream has no seekable line boundaries; captures are never split).
A range task returns its records with line numbers counted from the range's start and its count of
newlines; `combined_records` renumbers them (a range's first line is one past the newlines of the ranges
before it) and folds records of one key that several ranges produced into one, as the parser's own fold
(`parsers/logs/line_reader.py: Batch`) does within a file. That is exact when the whole file's parse would
have flushed its fold once, at the end, and listed every problem it met; when it cannot be shown exact (more
distinct records than the parser holds, more problems than it lists per file, a problem summed over the
file, a parser failure, a Zeek header line inside the file), None says so and the file is parsed whole.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import BinaryIO

from auditor.core.model import BlockedAttempt, EdgeVia, Evidence, InputError, Observation, RedirectEdge, Source
from parsers.common.inputs import HEAD_BYTES, InputFile, ParseContext

# kind -> whether its leading `#` lines are a header every range needs (Zeek's #fields)
SPLITTABLE: dict[str, bool] = {"zeek": True, "squid": False, "bind9": False, "unbound": False, "coredns": False,
                               "route53": False}
DEFAULT_RANGE_BYTES = 128 * 1024 * 1024
MAX_CUT_SEARCH = 16 * 1024 * 1024  # a cut that finds no line end this far on is dropped (its ranges join)
_READ = 1024 * 1024
_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_CNAME_SEEN = re.compile(r"CNAME seen (\d+)x")
# problems whose text depends on how much of the file one parse saw: a split file with one is parsed whole
_WHOLE_FILE_PROBLEMS = ("lines like it, the first here", "records with an unreadable time stamp")


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, end) of the file at PATH (whole lines), parsed as KIND; HEADER is prepended to it."""

    path: str
    kind: str
    start: int
    end: int
    header: bytes = b""


@dataclass
class RangeRecords:
    """What a range task sends back (pickled as plain tuples: a frozen dataclass per record pickles ten times
    slower, and a range holds tens of thousands of records)."""

    records: list[Evidence] = field(default_factory=list)
    newlines: int = 0
    header_lines: int = 0
    exact: bool = True  # False: a failure or a header line inside the range: the file is parsed whole

    def __getstate__(self) -> tuple[object, ...]:
        return [_pack(r) for r in self.records], self.newlines, self.header_lines, self.exact

    def __setstate__(self, state: tuple[object, ...]) -> None:
        packed, self.newlines, self.header_lines, self.exact = state  # type: ignore[misc]
        self.records = [_unpack(p) for p in packed]  # type: ignore[attr-defined]


_PACKED: tuple[type, ...] = (Observation, BlockedAttempt, RedirectEdge, InputError)
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _PACKED}
_SOURCE_FIELDS = tuple(f.name for f in fields(Source))


def _pack(record: Evidence) -> tuple[object, ...]:
    cls = type(record)
    if cls not in _FIELDS:
        return (-1, record)
    values: list[object] = []
    for name in _FIELDS[cls]:
        value = getattr(record, name)
        if type(value) is Source:
            value = (0, *(getattr(value, f) for f in _SOURCE_FIELDS))
        elif name == "evidence":
            value = (1, *(tuple(getattr(source, f) for f in _SOURCE_FIELDS) for source in value))
        values.append(value)
    return (_PACKED.index(cls), *values)


def _unpack(packed: tuple[object, ...]) -> Evidence:
    if packed[0] == -1:
        return packed[1]  # type: ignore[return-value]
    cls = _PACKED[packed[0]]  # type: ignore[index]
    values = []
    for value in packed[1:]:
        if type(value) is tuple and value and value[0] == 0:
            value = Source(*value[1:])
        elif type(value) is tuple and value and value[0] == 1:
            value = tuple(Source(*source) for source in value[1:])
        values.append(value)
    return cls(*values)  # type: ignore[no-any-return]


def plan_ranges(inp: InputFile, kind: str, range_bytes: int) -> list[ByteRange] | None:
    """INP's ranges of about RANGE_BYTES each, or None when it is read whole (one task)."""
    if kind not in SPLITTABLE or inp.compression is not None or inp.size < 2 * range_bytes:
        return None
    header = b""
    if SPLITTABLE[kind]:
        header = _header_of(inp.head)
        if len(header) >= min(len(inp.head), HEAD_BYTES) - 1:
            return None  # a header that does not end within the head: not a shape to split
    cuts = [0]
    with open(inp.path, "rb") as stream:
        for nominal in range(range_bytes, inp.size, range_bytes):
            cut = _line_start_from(stream, max(nominal, cuts[-1] + 1))
            if cut is not None and cut < inp.size and cut - cuts[-1] >= range_bytes // 2:
                cuts.append(cut)
    if len(cuts) < 2:
        return None
    bounds = [*cuts, inp.size]
    return [ByteRange(str(inp.path), kind, start, end, header if start else b"")
            for start, end in itertools.pairwise(bounds)]


def _header_of(head: bytes) -> bytes:
    """The leading `#` lines of HEAD."""
    header = b""
    for line in head.splitlines(keepends=True):
        if not line.startswith(b"#") or not line.endswith(b"\n"):
            break
        header += line
    return header


def _leading_header(path: Path) -> bytes:
    with open(path, "rb") as raw:
        return _header_of(raw.read(HEAD_BYTES))


def _line_start_from(stream: BinaryIO, position: int) -> int | None:
    """The first line start at or after POSITION (just past a newline at POSITION - 1 or later)."""
    stream.seek(position - 1)
    searched = 0
    while searched < MAX_CUT_SEARCH:
        piece = stream.read(_READ)
        if not piece:
            return None
        newline = piece.find(b"\n")
        if newline >= 0:
            return position - 1 + searched + newline + 1
        searched += len(piece)
    return None


class _RangeStream:
    """HEADER then the file's bytes [start, end), counting the range's newlines and watching for a `#` line
    inside it (past the file's own leading header, for the first range)."""

    def __init__(self, byte_range: ByteRange, watch_headers: bool, leading_header: int) -> None:
        self._file = open(byte_range.path, "rb")  # noqa: SIM115 (closed by close())
        self._file.seek(byte_range.start)
        self._header = byte_range.header
        self.left = byte_range.end - byte_range.start
        self._watch = watch_headers
        self._skip = leading_header if byte_range.start == 0 else 0
        self._position = 0
        self._after_newline = True  # a range starts at a line start
        self.newlines = 0
        self.header_inside = False

    def read(self, size: int = -1) -> bytes:
        if self._header:
            out, self._header = self._header, b""
            return out
        if self.left <= 0:
            return b""
        piece = self._file.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(piece)
        self.newlines += piece.count(b"\n")
        if self._watch and piece:
            self._look_for_headers(piece)
        return piece

    def _look_for_headers(self, piece: bytes) -> None:
        starts = [0] if self._after_newline and piece.startswith(b"#") else []
        at = piece.find(b"\n#")
        while at >= 0 and not self.header_inside:
            starts.append(at + 1)
            at = piece.find(b"\n#", at + 1)
        for start in starts:
            # (a "#close" cut by the piece's end counts as a header line: the safe side)
            if self._position + start >= self._skip and not piece.startswith(b"#close", start):
                self.header_inside = True
        self._position += len(piece)
        self._after_newline = piece.endswith(b"\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _RangeStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _RangeInput(InputFile):
    """The range as an input: the file's own path (its modification time dates syslog stamps), its stream."""

    stream: _RangeStream | None = None

    def open(self) -> BinaryIO:
        assert self.stream is not None
        return self.stream  # type: ignore[return-value]


def parse_range(byte_range: ByteRange, display: str, variables: dict[str, str]) -> RangeRecords:
    """The records of one range (runs on a worker)."""
    from parsers import parser_named

    spec = parser_named(byte_range.kind)
    watch = SPLITTABLE[byte_range.kind]
    result = RangeRecords(header_lines=byte_range.header.count(b"\n"))
    leading_header = len(_leading_header(Path(byte_range.path))) if watch and byte_range.start == 0 else 0
    with _RangeStream(byte_range, watch, leading_header) as stream:
        with open(byte_range.path, "rb") as raw:
            raw.seek(byte_range.start)
            head = byte_range.header + raw.read(HEAD_BYTES)
        if head.startswith(_MAGIC):
            result.exact = False  # the parser would take the range for a compressed stream
            return result
        inp = _RangeInput(Path(byte_range.path), display, byte_range.end - byte_range.start, head[:HEAD_BYTES])
        inp.stream = stream
        try:
            result.records = list(spec.parse(inp, ParseContext(variables=dict(variables))))
        except Exception:  # the whole-file parse meets it too and names it; that parse is the one kept
            result.exact = False
        result.newlines = stream.newlines
        if stream.header_inside or stream.left:  # a header line inside it, or a range not read to its end
            result.exact = False
    return result


def combined_records(parts: list[RangeRecords], fold_limit: int, max_errors: int) -> list[Evidence] | None:
    """The record stream of the whole file from its ranges' (in order), or None when that is not exact."""
    errors: list[InputError] = []
    folded: dict[tuple[object, ...], list] = {}  # key -> [count, first, last, line, a record of the key]
    offset = 0
    for index, part in enumerate(parts):
        if not part.exact:
            return None
        seen: set[tuple[object, ...]] = set()
        shift = offset - part.header_lines
        for record in part.records:
            line = _line_of(record)
            if index and line is not None and line <= part.header_lines:
                continue  # about the header given to this range: the first range said it already
            if isinstance(record, InputError):
                if line is None or any(text in record.message for text in _WHOLE_FILE_PROBLEMS):
                    return None
                errors.append(replace(record, source=replace(record.source, line=line + shift)))
                continue
            key = _fold_key(record)
            if key is None or key in seen or line is None:
                return None  # not a folded record, or the range flushed its fold twice
            seen.add(key)
            count, first, last = _amounts(record)
            entry = folded.get(key)
            if entry is None:
                folded[key] = [count, first, last, line + shift, record]
                continue
            entry[0] += count
            entry[1] = first if entry[1] is None else entry[1] if first is None else min(entry[1], first)
            entry[2] = last if entry[2] is None else entry[2] if last is None else max(entry[2], last)
            entry[3] = min(entry[3], line + shift)
        offset += part.newlines
    if len(folded) >= fold_limit or len(errors) > max_errors:
        return None  # the whole file's parse would have flushed early, or capped its problems
    order = {Observation: 1, RedirectEdge: 2, BlockedAttempt: 3}
    records = sorted(((entry[3], order[type(entry[4])], _rebuilt(*entry)) for entry in folded.values()),
                     key=lambda item: (item[0], item[1]))
    return [*errors, *(record for _line, _order, record in records)]


def _line_of(record: Evidence) -> int | None:
    source = record.evidence[0] if isinstance(record, RedirectEdge) and record.evidence else \
        getattr(record, "source", None)
    return getattr(source, "line", None)


def _fold_key(record: Evidence) -> tuple[object, ...] | None:
    if isinstance(record, Observation) and record.source is not None:
        return (1, record.host, record.kind, record.client, record.server, record.rcode, record.detail,
                record.source.path, record.source.parser)
    if isinstance(record, RedirectEdge) and record.via is EdgeVia.DNS_CNAME and len(record.evidence) == 1 \
            and _CNAME_SEEN.fullmatch(record.detail):
        return (2, record.from_host, record.to_host, record.client, record.confidence, record.evidence[0].parser)
    if isinstance(record, BlockedAttempt) and record.source is not None:
        return (3, record.host, record.reason, record.client, record.detail, record.image, record.source.parser)
    return None


def _amounts(record: Evidence) -> tuple[int, float | None, float | None]:
    if isinstance(record, RedirectEdge):
        match = _CNAME_SEEN.fullmatch(record.detail)
        assert match is not None
        return int(match.group(1)), record.time, record.time
    last = record.last_time if record.last_time is not None else record.time  # type: ignore[union-attr]
    return record.count, record.time, last  # type: ignore[union-attr]


def _rebuilt(count: int, first: float | None, last: float | None, line: int, record: Evidence) -> Evidence:
    """RECORD as the parser's fold writes it for the whole file (Batch.flush)."""
    later = last if count > 1 and last != first else None
    if isinstance(record, RedirectEdge):
        source = replace(record.evidence[0], line=line)
        return replace(record, evidence=(source,), detail=f"CNAME seen {count}x", time=first)
    assert isinstance(record, Observation | BlockedAttempt)
    return replace(record, source=replace(record.source, line=line), count=count, time=first, last_time=later)
