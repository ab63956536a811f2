"""One large line-oriented log read as byte ranges, the same ranges on both engines, so both give one answer.

Why the ranges are part of what a file's parse *is*: a log parser folds identical records (parsers/logs/
line_reader.py: Batch) and hands its fold on when it holds FOLD_LIMIT distinct records, so memory stays bounded
whatever the log. Where those hand-overs fall depends on everything read before them, and the evidence store
keeps things that depend on them (the first few source samples of a host, the timeline of first times, the
"CNAME seen Nx" details). A range parsed on its own cannot know where a parse of the whole file would have
handed its fold on, and folding the ranges' records back into the never-handed-on fold would need memory
without bound (one record per distinct key of the file). So no check after the fact can make a split file
exact in general; the rule instead is the same on every engine:

    a line-oriented log of a SPLITTABLE kind, not compressed, of at least twice R bytes (`--range-bytes`, default
    128 MiB, on both engines) is cut at the first line start at or after each multiple of R that its kind accepts
    (`plan_ranges`: any line start, or for a kind whose lines are read in context the first its rule in
    parsers/logs/range_cuts.py accepts, with the context that rule gives the range); each range is parsed by its own
    run of the parser (its own fold, its own cap of listed problems), and the file's record stream is the ranges'
    streams one after the other, each range's line numbers shifted by the newlines of the ranges before it
    (`file_records`).

The local engine reads the ranges one after the other in its process (`ranged_spec`, through the per-file fold
of auditor/pipeline/fold_file.py); the Dask engine parses them in parallel, one task each (`parse_range`), and
one task puts their streams together with the same `file_records`. The cuts depend only on the file's bytes
and R, and a range's parse only on its own bytes, so both engines yield the same record stream, record for
record, however many distinct records or problems the file holds: exact by construction, never a fallback.
A file under 2R is parsed whole, as it always was.

The rest of the rule:
- Zeek: the file's leading `#` header is given to every range, so its columns are known. A header line inside a
  range (concatenated logs; `#close` aside) makes that range's parse read on to the end of the file (the parser
  switches layouts as in a whole-file parse) and the ranges after it are not used.
- A parser failure ends the file where it happened (the ranges after it are not read), as in a whole-file parse:
  the records before it are kept, and the failure is named at its line.
- Problems are capped per range (20 listed, then one summary); a problem without a line (a summary) is named
  with the lines of its range ("lines 1,000,001-2,000,000: ...") and comes at the end of its range.
- A cut never falls on a line that starts with a compression magic (the range would be taken for an archive).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import BinaryIO

from auditor.core.model import BlockedAttempt, Evidence, InputError, Observation, RedirectEdge, Source
from parsers import ParserSpec
from parsers.common.inputs import HEAD_BYTES, InputFile, ParseContext

# kind -> whether its leading `#` lines are a header every range needs (Zeek's #fields)
SPLITTABLE: dict[str, bool] = {"zeek": True, "squid": False, "bind9": False, "unbound": False, "coredns": False,
                               "route53": False, "dnsmasq": False, "windows_dns": False, "docker_log": False}
# kinds whose lines are not independent: where a range may start, and what it is given, is their row of
# parsers/logs/range_cuts.py: POLICIES (imported when a file of one is cut: start-up stays light)
CUT_BY_POLICY = frozenset({"dnsmasq", "windows_dns", "docker_log"})
DEFAULT_RANGE_BYTES = 128 * 1024 * 1024
MAX_CUT_SEARCH = 16 * 1024 * 1024  # a cut that finds no line end this far on is dropped (its ranges join)
_READ = 1024 * 1024
_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


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
    """One range's parse: its records (a list when sent back by a task, pickled as plain tuples: a frozen
    dataclass per record pickles ten times slower; an iterator when the local engine reads it as it goes), its
    newlines (known once the records are read), whether it read on to the end of the file, and the parser's
    failure (its type name and text) after the records, if it failed."""

    records: list[Evidence] | Iterator[Evidence] = field(default_factory=list)
    newlines: int = 0
    header_lines: int = 0
    to_end: bool = False
    failure: tuple[str, str] | None = None

    def __getstate__(self) -> tuple[object, ...]:
        return [_pack(r) for r in self.records], self.newlines, self.header_lines, self.to_end, self.failure

    def __setstate__(self, state: tuple[object, ...]) -> None:
        packed, self.newlines, self.header_lines, self.to_end, self.failure = state  # type: ignore[misc]
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



def plan_ranges(inp: InputFile, kind: str, range_bytes: int | None) -> list[ByteRange] | None:
    """INP's ranges of about RANGE_BYTES each, or None when it is read whole (one parse)."""
    if range_bytes is None or kind not in SPLITTABLE or inp.compression is not None or inp.size < 2 * range_bytes \
            or inp.head.startswith(_MAGIC):
        return None
    header = b""
    if SPLITTABLE[kind]:
        header = _header_of(inp.head)
        if len(header) >= min(len(inp.head), HEAD_BYTES) - 1:
            return None  # a header that does not end within the head: not a shape to split
    cuts, headers = [0], [b""]
    with open(inp.path, "rb") as stream:
        cutter = None
        if kind in CUT_BY_POLICY:
            from parsers.logs.range_cuts import POLICIES, Cutter

            cutter = Cutter(POLICIES[kind], stream, inp.size)
        for nominal in range(range_bytes, inp.size, range_bytes):
            cut = _line_start_from(stream, max(nominal, cuts[-1] + 1))
            given = header
            if cut is not None and cutter is not None:
                placed = cutter.place(cut)
                cut, given = placed if placed is not None else (None, b"")
                if cut is not None and _starts_with_magic(stream, cut):
                    cut = None
            if cut is not None and cut < inp.size and cut - cuts[-1] >= range_bytes // 2:
                cuts.append(cut)
                headers.append(given)
    if len(cuts) < 2:
        return None
    bounds = [*cuts, inp.size]
    return [ByteRange(str(inp.path), kind, start, end, given)
            for (start, end), given in zip(itertools.pairwise(bounds), headers, strict=True)]


def _starts_with_magic(stream: BinaryIO, position: int) -> bool:
    stream.seek(position)
    return stream.read(8).startswith(_MAGIC)


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
    """The first line start at or after POSITION (just past a newline at POSITION - 1 or later) whose line does
    not begin with a compression magic (the parser would take a range starting there for an archive)."""
    while True:
        stream.seek(position - 1)
        searched = 0
        start = None
        while searched < MAX_CUT_SEARCH and start is None:
            piece = stream.read(_READ)
            if not piece:
                return None
            newline = piece.find(b"\n")
            if newline >= 0:
                start = position - 1 + searched + newline + 1
            searched += len(piece)
        if start is None:
            return None
        if not _starts_with_magic(stream, start):
            return start
        position = start + 1


class _RangeStream:
    """HEADER then the file's bytes [start, end), counting the range's newlines and watching for a `#` line
    inside it (past the file's own leading header, for the first range): from one on, it reads on to the end of
    the file (`to_end`)."""

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
        self.to_end = False

    def read(self, size: int = -1) -> bytes:
        if self._header:
            out, self._header = self._header, b""
            return out
        if self.left <= 0:
            return b""
        piece = self._file.read(self.left if size < 0 else min(size, self.left))
        if not piece:  # the file is shorter than when it was planned
            self.left = 0
            return b""
        self.left -= len(piece)
        self.newlines += piece.count(b"\n")
        if self._watch and not self.to_end and self._header_inside(piece):
            self.to_end = True
            self.left = max(os.fstat(self._file.fileno()).st_size - self._file.tell(), 0)
        return piece

    def _header_inside(self, piece: bytes) -> bool:
        starts = [0] if self._after_newline and piece.startswith(b"#") else []
        at = piece.find(b"\n#")
        while at >= 0:
            starts.append(at + 1)
            at = piece.find(b"\n#", at + 1)
        position = self._position
        self._position += len(piece)
        self._after_newline = piece.endswith(b"\n")
        # (a "#close" cut by the piece's end counts as a header line: the safe side)
        return any(position + start >= self._skip and not piece.startswith(b"#close", start) for start in starts)

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


def _range_records(byte_range: ByteRange, display: str, ctx: ParseContext, out: RangeRecords) -> Iterator[Evidence]:
    """The records of one range as its parser yields them; OUT (made with the range's header lines) gets the
    range's newlines and whether it read on to the end of the file once they are read."""
    from parsers import parser_named

    spec = parser_named(byte_range.kind)
    watch = SPLITTABLE[byte_range.kind]
    leading_header = len(_leading_header(Path(byte_range.path))) if watch and byte_range.start == 0 else 0
    with _RangeStream(byte_range, watch, leading_header) as stream:
        with open(byte_range.path, "rb") as raw:
            raw.seek(byte_range.start)
            head = byte_range.header + raw.read(HEAD_BYTES)
        inp = _RangeInput(Path(byte_range.path), display, byte_range.end - byte_range.start, head[:HEAD_BYTES])
        inp.stream = stream
        try:
            yield from spec.parse(inp, ctx)
        finally:
            out.newlines, out.to_end = stream.newlines, stream.to_end


def parse_range(byte_range: ByteRange, display: str, variables: dict[str, str]) -> RangeRecords:
    """The records of one range, read whole (a Dask task)."""
    out = RangeRecords(header_lines=byte_range.header.count(b"\n"))
    records = out.records
    assert isinstance(records, list)
    try:
        records.extend(_range_records(byte_range, display, ParseContext(variables=dict(variables)), out))
    except Exception as exc:  # the file's stream ends here, with this failure (named as a local parse names it)
        out.failure = (type(exc).__name__, str(exc))
    return out


def read_in_turn(ranges: list[ByteRange], display: str, ctx: ParseContext) -> Iterator[RangeRecords]:
    """The ranges parsed one after the other as `file_records` asks for them (the local engine)."""
    for byte_range in ranges:
        out = RangeRecords(header_lines=byte_range.header.count(b"\n"))
        out.records = _range_records(byte_range, display, ctx, out)
        yield out


def ranged_spec(spec: ParserSpec, ranges: list[ByteRange]) -> ParserSpec:
    """SPEC reading a file as RANGES, in this process: the record stream `file_records` makes of them."""
    return ParserSpec(spec.name, spec.detect,
                      lambda inp, ctx: file_records(read_in_turn(ranges, inp.display, ctx)), spec.detect_content)


def file_records(parts: Iterable[RangeRecords]) -> Iterator[Evidence]:
    """The file's record stream from its ranges' parses, in order: each range's records with their lines shifted
    by the newlines before the range (less the header lines it was given), its line-less problems last and named
    by the range's lines; a range that read on to the end of the file is the last; a failure ends the stream."""
    offset = 0
    for index, part in enumerate(parts):
        shift = offset - part.header_lines
        lineless: list[InputError] = []
        for record in part.records:
            line = _line_of(record)
            if line is None:
                if isinstance(record, InputError):
                    lineless.append(record)
                else:
                    yield record
            elif not index or line > part.header_lines:  # (about the header given to a later range: said already)
                yield _shifted(record, shift) if shift else record
        if part.failure is not None:
            raise type(part.failure[0], (Exception,), {})(part.failure[1])
        lines = f"lines {offset + 1:,}-{offset + part.newlines:,}: "
        yield from (replace(error, message=lines + error.message) for error in lineless)
        if part.to_end:
            return
        offset += part.newlines


def _line_of(record: Evidence) -> int | None:
    source = record.evidence[0] if isinstance(record, RedirectEdge) and record.evidence else \
        getattr(record, "source", None)
    return getattr(source, "line", None)


def _shifted(record: Evidence, shift: int) -> Evidence:
    """RECORD with its source lines moved by SHIFT (built from its fields: dataclasses.replace cost a fifth of a
    ranged parse)."""
    names = _FIELDS.get(type(record))
    if names is None:
        source = getattr(record, "source", None)
        return replace(record, source=_moved(source, shift)) if isinstance(source, Source) else record  # type: ignore[type-var]
    values = [getattr(record, name) for name in names]
    for position, name in enumerate(names):
        value = values[position]
        if name == "source" and value is not None:
            values[position] = _moved(value, shift)
        elif name == "evidence":
            values[position] = tuple(_moved(source, shift) for source in value)
    return type(record)(*values)  # type: ignore[no-any-return]


def _moved(source: Source, shift: int) -> Source:
    return source if source.line is None else Source(source.path, source.line + shift, source.packet, source.parser)
