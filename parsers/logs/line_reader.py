"""Shared machinery for DNS-server, proxy and CI logs.

Logs can be gigabytes, so every parser here streams its input in blocks of whole lines (`LogReader`),
accounts for every line (`LineStats`: parsed, ignored with a reason, or malformed), reports malformed
lines with their number but caps how many (a file of a million corrupt lines yields 20 errors and one
summary, not a million), and folds identical records within a block into one record with a count
(`Batch`). Names are normalized once (`host_name`), timestamps converted once per distinct stamp (`Clock`).

Time stamps without a zone (syslog, BIND, Windows DNS) are read as UTC: a log carries no zone, and a
guessed local zone would make results differ between machines. Syslog stamps carry no year either; the
year is the one of the file's modification time, minus one when the stamp would otherwise lie more
than two days after that time (a log that spans New Year and was last written in January).
"""

from __future__ import annotations

import calendar
import lzma
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import BinaryIO

import idna

from auditor.core.allowlist import could_be_ip
from auditor.core.allowlist import is_ip as address_is_ip
from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    Confidence,
    EdgeVia,
    Evidence,
    InputError,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
)
from parsers.common.inputs import InputFile, ParseContext, open_compressed
from parsers.common.lazy import lazy_module

np = lazy_module("numpy")  # imported on first use: start-up stays fast

# Lines are read and parsed in blocks of about this size: large enough that per-block costs vanish, small
# enough that the block, its decoded text and what a parser builds from it (polars' columns for Zeek) stay
# small. 8 MB cost a 5 M-line dns.log 300 MB of peak RSS; 4 MB, 265 MB and the same speed.
BLOCK_BYTES = 4 * 1024 * 1024
# A line that has not ended after this many bytes is skipped (and reported): holding it whole would let
# one hostile line exhaust memory.
MAX_LINE_BYTES = 1024 * 1024
_PIECE_BYTES = 256 * 1024
# Empty lines in a row past which the run is counted in one step instead of line by line.
_BLANK_RUN = b"\n" * 256
_NOT_NEWLINE = re.compile(rb"[^\n]")
FOLD_LIMIT = 100_000  # distinct folded records held before they are handed on
MAX_ERRORS_PER_FILE = 20
PREVIEW_CHARS = 80
_NAME_CACHE_LIMIT = 200_000
_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
_TIME_CACHE_LIMIT = 100_000
_NO_LINE = sys.maxsize  # the line of an empty fold slot: any real line is smaller


@dataclass
class LineStats:
    """What became of every line: parsed, ignored (with the reason) or malformed."""

    total: int = 0
    parsed: int = 0
    errors: int = 0
    ignored: Counter[str] = field(default_factory=Counter)

    def ignore(self, reason: str, count: int = 1) -> None:
        self.ignored[reason] += count

    @property
    def accounted(self) -> int:
        return self.parsed + self.errors + sum(self.ignored.values())


def preview(text: str) -> str:
    """A short, printable excerpt of a line for an error message."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[:PREVIEW_CHARS])
    return shown + ("…" if len(text) > PREVIEW_CHARS else "")


class LogReader:
    """Streams one input as blocks of whole decoded lines; counts lines; reports malformed ones (capped).

    `block_end`: for a format whose lines are read in context (a dnsmasq `<CNAME>` reply names its target a
    few lines on), where a block read into BUF may end, given BUF's last newline: a newline at or before it,
    or -1 to read on; the lines after it are carried into the next block.
    """

    def __init__(self, inp: InputFile, ctx: ParseContext, parser: str, stats: LineStats | None = None,
                 block_end: Callable[[bytes, int], int] | None = None) -> None:
        self.inp = inp
        self.ctx = ctx
        self.parser = parser
        self.stats = stats if stats is not None else LineStats()
        self.block_end = block_end
        self._errors: list[InputError] = []
        self._reported = 0
        self._newlines = 0
        # the bytes of the block just yielded when its text is them exactly (ASCII, no carriage return),
        # else None: a parser that hands the block to a byte-level reader (polars) skips re-encoding it
        self.ascii_block: bytes | None = None

    # -- errors ------------------------------------------------------------------------------------

    def malformed(self, line: int, message: str, count: int = 1) -> None:
        """Count COUNT malformed lines alike (the first on LINE): reported once, the others in the summary."""
        self.stats.errors += count
        self._report(line, message + (f" ({count} lines like it, the first here)" if count > 1 else ""))

    def note(self, line: int | None, message: str) -> None:
        """Report a problem that is not a malformed line (the line was still parsed)."""
        self._report(line, message)

    def _report(self, line: int | None, message: str) -> None:
        self._reported += 1
        if self._reported <= MAX_ERRORS_PER_FILE:
            self._errors.append(self.inp.error(message, line=line, parser=self.parser))

    def take_errors(self) -> list[InputError]:
        errors, self._errors = self._errors, []
        errors.sort(key=lambda error: error.source.line or 0)
        return errors

    def summary(self) -> list[InputError]:
        """The errors still pending, plus one line for those not listed."""
        errors = self.take_errors()
        if self._reported > MAX_ERRORS_PER_FILE:
            hidden = self._reported - MAX_ERRORS_PER_FILE
            errors.append(self.inp.error(
                f"{hidden} more problems not listed ({self._reported} in total, {self.stats.errors} malformed "
                f"lines of {self.stats.total})", parser=self.parser))
        return errors

    # -- reading -----------------------------------------------------------------------------------

    def blocks(self) -> Iterator[tuple[str, int]]:
        """Yield (text, number of its first line): whole lines joined by newlines, no final newline."""
        line_no = 1
        pending = b""
        skipping = False  # inside an over-long line, discarding until its end
        skip_start = 0
        with self._open() as stream:
            while True:
                # BUF: the pending part line and what was read, joined in one copy; SIZE: what was read
                buf, size, failure = self._read(stream, pending)
                if size:
                    self.ctx.advance(size)
                if skipping and size:  # (nothing is pending while skipping: BUF is what was read)
                    newline = buf.find(b"\n")
                    if newline < 0:
                        buf = b""
                        if failure is None:
                            continue  # still inside the over-long line, however many blocks it spans
                    else:
                        buf = buf[newline + 1:]
                        skipping = False
                        line_no = skip_start + 1
                # only an empty read ends the file: a block emptied by skipping does not
                if failure is not None or not size:
                    if buf.endswith(b"\n"):
                        # only a held-back line is pending with its newline: it ends that line, it is no
                        # empty line of its own
                        buf = buf[:-1]
                    if buf and not skipping:
                        yield from self._emit(buf, line_no)
                        line_no += self._newlines + 1
                    if failure is not None:
                        # always reported, however many line errors came before: it says the file is cut
                        self._errors.append(self.inp.error(
                            f"input ends early or is corrupt after line {line_no - 1}: {failure}; "
                            "the lines before were read", parser=self.parser))
                    return
                if not buf:
                    pending = b""
                    continue
                if size < BLOCK_BYTES and failure is None:
                    pending = buf  # a short read is the end of the stream: the rest is one block, uncut
                    continue
                cut = self._cut(buf)
                if cut < 0:
                    if len(buf) > MAX_LINE_BYTES:
                        self.stats.total += 1
                        self.malformed(line_no, f"line longer than {MAX_LINE_BYTES} bytes; skipped")
                        skipping, skip_start, pending = True, line_no, b""
                    else:
                        pending = buf
                    continue
                block, pending = buf[:cut], buf[cut + 1:]
                yield from self._emit(block, line_no)
                line_no += self._newlines + 1

    def _open(self) -> BinaryIO:
        """The decompressed stream; a compressed file whose head could not be read (truncated early) is
        still decompressed here, so the lines before the damage are read and the damage reported."""
        if self.inp.compression is None:
            for magic, codec in _MAGIC:
                if self.inp.head.startswith(magic):
                    return open_compressed(self.inp.path, codec)
        return self.inp.open()

    def _cut(self, buf: bytes) -> int:
        cut = buf.rfind(b"\n")
        return self.block_end(buf, cut) if self.block_end is not None and cut > 0 else cut

    def _emit(self, raw: bytes, line_no: int) -> Iterator[tuple[str, int]]:
        """Hand RAW's lines on, except long runs of empty lines: those are counted (ignored, "empty line")
        and skipped, so a file of a billion newlines (a decompression bomb's favourite) costs a scan, not a
        billion parser calls. Leaves the count of RAW's newlines in `_newlines`."""
        newlines = int(np.count_nonzero(np.frombuffer(raw, np.uint8) == 10))  # bytes.count: slower
        run = raw.find(_BLANK_RUN)
        if run < 0:
            yield from self._emit_lines(raw, line_no, newlines)
            self._newlines = newlines
            return
        start = 0
        while start <= len(raw):
            run = raw.find(_BLANK_RUN, start)
            if run < 0:
                yield from self._segment(raw[start:], line_no)
                break
            after = _NOT_NEWLINE.search(raw, run)
            run_end = after.start() if after else len(raw)
            yield from self._segment(raw[start:run], line_no)
            line_no += raw.count(b"\n", start, run) + (run_end - run)
            skipped = run_end - run - 1 + (run_end == len(raw))  # the lines the run's newlines end
            self.stats.total += skipped
            self.stats.ignore("empty line", skipped)
            start = run_end
            if run_end == len(raw):
                break
        self._newlines = newlines

    def _segment(self, raw: bytes, line_no: int) -> Iterator[tuple[str, int]]:
        if raw:
            yield from self._emit_lines(raw, line_no, None)
        else:  # the one empty line between two runs, or before a run at the block's start
            self.stats.total += 1
            self.stats.ignore("empty line")

    def _emit_lines(self, raw: bytes, line_no: int, newlines: int | None) -> Iterator[tuple[str, int]]:
        """Decode RAW, cutting out lines over MAX_LINE_BYTES (reported by number): a window of that size
        without a newline lies inside such a line. One `find` per window keeps this check cheap; a line
        of between one and two windows may straddle two windows and pass. NEWLINES: RAW's count of them,
        when known (counted once: blocks are megabytes)."""
        start = 0
        for window in range(0, len(raw) - MAX_LINE_BYTES + 1, MAX_LINE_BYTES):
            if window < start or raw.find(b"\n", window, window + MAX_LINE_BYTES) >= 0:
                continue
            line_start = max(start, raw.rfind(b"\n", start, window) + 1)
            line_end = raw.find(b"\n", window + MAX_LINE_BYTES)
            line_end = len(raw) if line_end < 0 else line_end
            if line_start > start:
                yield self._decoded(raw[start:line_start - 1], line_no)
                line_no += raw.count(b"\n", start, line_start)
            self.stats.total += 1
            self.malformed(line_no, f"line of {line_end - line_start} bytes, longer than {MAX_LINE_BYTES}; skipped")
            line_no += 1
            start = line_end + 1
        if start == 0:
            yield self._decoded(raw, line_no, newlines)
        elif start <= len(raw):
            yield self._decoded(raw[start:], line_no)

    def _decoded(self, raw: bytes, line_no: int, newlines: int | None = None) -> tuple[str, int]:
        text = raw.decode("utf-8", "replace")
        self.ascii_block = raw if text.isascii() and "\r" not in text else None
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        # a newline byte decodes to a newline whatever else is in RAW, and no other byte does
        self.stats.total += (raw.count(b"\n") if newlines is None else newlines) + 1
        return text, line_no

    @staticmethod
    def _read(stream: BinaryIO, pending: bytes) -> tuple[bytes, int, Exception | None]:
        """PENDING and up to BLOCK_BYTES read after it, and how many were read; read in pieces so that what
        came before damage in a compressed stream is kept."""
        pieces: list[bytes] = [pending] if pending else []
        size = 0
        read = getattr(stream, "read1", stream.read)  # read1: returns what was decompressed before an error
        while size < BLOCK_BYTES:
            try:
                piece = read(min(_PIECE_BYTES, BLOCK_BYTES - size))
            except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as exc:
                return b"".join(pieces), size, exc
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces), size, None


# -- names ----------------------------------------------------------------------------------------

_ASCII_NAME = re.compile(r"(?:[a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_name_cache: dict[str, tuple[str | None, str | None]] = {}


def host_name(raw: str) -> tuple[str | None, str | None]:
    """(normalized name, None) or (None, why it is not a host name).

    Lowercased, trailing dot removed; `xn--` labels stay as written; Unicode names become their IDNA
    (punycode) form; anything else that is not a DNS name is refused with a reason.
    """
    hit = _name_cache.get(raw)
    if hit is not None:
        return hit
    result = _normalize(raw)
    if len(_name_cache) >= _NAME_CACHE_LIMIT:
        _name_cache.clear()
    _name_cache[raw] = result
    return result


def forget_names() -> None:
    """Drop the remembered names: once a run's inputs are read they only hold memory the decisions could use
    (200,000 names and their answers, about 40 MB), and the addresses checked."""
    _name_cache.clear()
    _ip_cache.clear()


def _normalize(raw: str) -> tuple[str | None, str | None]:
    name = raw.strip().rstrip(".")  # the same object when nothing is stripped
    if not name.islower():  # lower() makes a copy even of a lowercase name: the evidence would hold both
        name = name.lower()
    if not name:
        return None, "empty name (the root)"
    if len(name) > 253:
        return None, f"name longer than 253 characters: {preview(name)}"
    if name.isascii():
        if _ASCII_NAME.fullmatch(name):
            return name, None
        return None, f"not a valid host name: {preview(raw)}"
    try:
        encoded = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        return None, f"invalid internationalized name {preview(raw)}: {exc}"
    return _normalize(encoded) if encoded != name else (None, f"not a valid host name: {preview(raw)}")


_ip_cache: dict[str, bool] = {}


def is_ip(text: str) -> bool:
    """core.allowlist.is_ip, remembered for the texts that could be an address (a log names its clients' and
    servers' addresses again and again; other names are refused without the memo)."""
    if not could_be_ip(text):
        return False
    hit = _ip_cache.get(text)
    if hit is not None:
        return hit
    result = address_is_ip(text)
    if len(_ip_cache) >= _NAME_CACHE_LIMIT:
        _ip_cache.clear()
    _ip_cache[text] = result
    return result


def strip_port(text: str) -> str:
    """`1.2.3.4#53`, `1.2.3.4:53`, `[::1]:53` -> the address alone."""
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end > 0 else text
    for sep in ("#", "/"):
        if sep in text:
            return text.split(sep, 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


# -- time -----------------------------------------------------------------------------------------

MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_SYSLOG = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?")
_BIND = re.compile(r"(\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?")
_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")


class Clock:
    """Turns the time stamps of logs into epoch seconds (UTC); caches per distinct stamp."""

    def __init__(self, reference: float | None = None) -> None:
        self.reference = reference if reference is not None else time.time()
        self._year = time.gmtime(self.reference).tm_year
        self._cache: dict[str, float | None] = {}
        self._hours: dict[str, float | None] = {}

    @classmethod
    def for_input(cls, inp: InputFile) -> Clock:
        try:
            return cls(inp.path.stat().st_mtime)
        except OSError:
            return cls()

    def _cached(self, text: str, convert: object) -> float | None:
        if text in self._cache:
            return self._cache[text]
        value = convert(text)  # type: ignore[operator]
        if len(self._cache) >= _TIME_CACHE_LIMIT:
            self._cache.clear()
        self._cache[text] = value
        return value

    def syslog(self, text: str) -> float | None:
        """`May 19 15:36:12` (no year, no zone)."""
        if len(text) == 15 and text[12] == ":" and text[9] == ":":
            # the usual shape: converted from its hour's cache (as `_syslog` does), cheaper than a lookup
            hour = self.syslog_hour(text[:9])
            if hour is not None and text[10:12].isdigit() and text[13:15].isdigit():
                return hour + int(text[10:12]) * 60 + int(text[13:15])
        return self._cached(text, self._syslog)

    def syslog_hour(self, prefix: str) -> float | None:
        """The time of `May 19 15` (a syslog stamp's first 9 characters) at minute and second 0; cached.
        A stamp of the usual shape is this plus its minutes and seconds."""
        hour = self._hours.get(prefix, -1.0)
        if hour == -1.0:
            hour = self._hours[prefix] = self._syslog_slow(prefix + ":00:00")
        return hour

    def _syslog(self, text: str) -> float | None:
        if len(text) == 15 and text[12] == ":" and text[9] == ":":
            # the common case: one calendar conversion per hour, not per second
            hour = self._hours.get(text[:9], -1.0)
            if hour == -1.0:
                hour = self._hours[text[:9]] = self._syslog_slow(text[:9] + ":00:00")
            if hour is not None and text[10:12].isdigit() and text[13:15].isdigit():
                return hour + int(text[10:12]) * 60 + int(text[13:15])
        return self._syslog_slow(text)

    def _syslog_slow(self, text: str) -> float | None:
        match = _SYSLOG.match(text)
        if match is None or match.group(1) not in MONTHS:
            return None
        month = MONTHS[match.group(1)]
        day, hour, minute, second = (int(match.group(i)) for i in range(2, 6))
        fraction = float("0." + match.group(6)) if match.group(6) else 0.0
        try:
            stamp = calendar.timegm((self._year, month, day, hour, minute, second))
            if stamp > self.reference + 2 * 86400:
                stamp = calendar.timegm((self._year - 1, month, day, hour, minute, second))
        except (ValueError, OverflowError):
            return None
        if not _valid_date(self._year, month, day):
            return None
        return stamp + fraction

    def bind(self, text: str) -> float | None:
        """`17-Feb-2018 23:06:56.326` (no zone)."""
        return self._cached(text, _bind_time)

    def iso(self, text: str) -> float | None:
        """ISO 8601, with or without zone (none: UTC); fractions beyond microseconds are cut."""
        if len(text) > 20 and text[-1] == "Z" and text[19] == "." and text[20:-1].isdigit():
            # UTC with a fraction (GitHub Actions, Route 53, Zeek JSON): one conversion per second
            whole = self._cached(text[:19] + "Z", iso_time)
            return None if whole is None else whole + float("0." + text[20:-1][:6])
        return self._cached(text, iso_time)

    def any(self, text: str) -> float | None:
        """Whichever of the shapes above TEXT has, or an epoch number."""
        return self._cached(text, self._any)

    def _any(self, text: str) -> float | None:
        if text[:1].isdigit():
            if text[2:3] == "-" or text[1:2] == "-":
                return _bind_time(text)
            if "-" in text[:5]:
                return iso_time(text)
            try:
                return float(text)
            except ValueError:
                return None
        return self._syslog(text)


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _bind_time(text: str) -> float | None:
    match = _BIND.match(text)
    if match is None or match.group(2) not in MONTHS:
        return None
    day, year = int(match.group(1)), int(match.group(3))
    month = MONTHS[match.group(2)]
    if not _valid_date(year, month, day):
        return None
    stamp = calendar.timegm((year, month, day, int(match.group(4)), int(match.group(5)), int(match.group(6))))
    return stamp + (float("0." + match.group(7)) if match.group(7) else 0.0)


def iso_time(text: str) -> float | None:
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _ISO_FRACTION.sub(r"\1", text.replace(",", "."), count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6
    return moment.timestamp()


# -- folding --------------------------------------------------------------------------------------

def _earlier(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _later(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


class Batch:
    """Identical observations, edges and blocked attempts of one block, folded into one record each.

    The record's source is the first line it was seen on; its time and last_time the earliest and latest.
    """

    def __init__(self, inp: InputFile, parser: str) -> None:
        self.inp = inp
        self.parser = parser
        self._obs: dict[tuple[object, ...], list] = {}
        self._edges: dict[tuple[str, str, str | None], list] = {}
        self._blocks: dict[tuple[object, ...], list] = {}
        # called first thing in flush(): a parser that keeps folded counts of its own writes them in here
        self.before_flush: Callable[[], None] | None = None

    def slot_observation(self, host: str, kind: ObservationKind, client: str | None, server: str | None,
                         rcode: str | None, detail: str) -> list:
        """The fold slot [count, time, last time, line] of an observation, created empty (count 0) if new:
        for a parser that folds counts itself and adds them later (the slot keeps its place in the order)."""
        return self._obs.setdefault((host, kind, client, server, rcode, detail), [0, None, None, _NO_LINE])

    def slot_edge(self, alias: str, target: str, client: str | None) -> list:
        return self._edges.setdefault((alias, target, client), [0, None, None, _NO_LINE])

    def observe(self, host: str, kind: ObservationKind, line: int, time: float | None = None,
                client: str | None = None, server: str | None = None, rcode: str | None = None,
                detail: str = "", count: int = 1, last_time: float | None = None) -> None:
        _fold(self._obs, (host, kind, client, server, rcode, detail), line, time, last_time, count)

    def fold_observation(self, key: tuple[str, ObservationKind, str | None, str | None, str | None, str], line: int,
                         time: float | None, last_time: float | None, count: int) -> None:
        """`observe` with its key made once: (host, kind, client, server, rcode, detail); `_fold` inlined."""
        if last_time is None:
            last_time = time
        entry = self._obs.get(key)
        if entry is None:
            self._obs[key] = [count, time, last_time, line]
            return
        entry[0] += count
        earliest, latest = entry[1], entry[2]
        entry[1] = time if earliest is None else earliest if time is None else min(earliest, time)
        entry[2] = last_time if latest is None else latest if last_time is None else max(latest, last_time)
        if line < entry[3]:
            entry[3] = line

    def cname(self, alias: str, target: str, line: int, time: float | None = None, client: str | None = None,
              server: str | None = None, count: int = 1, last_time: float | None = None) -> None:
        if alias == target:
            return
        self.observe(target, ObservationKind.CNAME, line, time, client, server, None, alias, count, last_time)
        _fold(self._edges, (alias, target, client), line, time, last_time, count)

    def block(self, host: str, reason: BlockReason, line: int, time: float | None = None,
              client: str | None = None, detail: str = "", image: str | None = None, count: int = 1,
              last_time: float | None = None) -> None:
        _fold(self._blocks, (host, reason, client, detail, image), line, time, last_time, count)

    def __len__(self) -> int:
        return len(self._obs) + len(self._edges) + len(self._blocks)

    def flush_if_full(self) -> Iterable[Evidence]:
        """Records are folded across blocks until the batch holds FOLD_LIMIT of them: a host seen all day
        becomes a few records, and memory stays bounded."""
        return self.flush() if len(self) >= FOLD_LIMIT else []

    def flush(self) -> Iterator[Evidence]:
        """The folded records in input order (by first line), and an empty batch (at once, before any record is
        read). Each record is made as it is read: 10^5 folded requests held as records at once were a quarter
        of a Squid log's peak memory."""
        if self.before_flush is not None:
            self.before_flush()
        order: list[tuple[int, int, tuple, list]] = [(slot[3], 1, key, slot) for key, slot in self._obs.items()]
        order += [(slot[3], 2, key, slot) for key, slot in self._edges.items()]
        order += [(slot[3], 3, key, slot) for key, slot in self._blocks.items()]
        self._obs, self._edges, self._blocks = {}, {}, {}
        order.sort(key=itemgetter(0, 1))
        return self._records(order)

    def _records(self, order: list[tuple[int, int, tuple, list]]) -> Iterator[Evidence]:
        path, parser = self.inp.display, self.parser
        for index, (line, kind, key, slot) in enumerate(order):
            order[index] = None  # type: ignore[call-overload]  # let each go once made
            count, first, last = slot[0], slot[1], slot[2]
            if kind == 1:
                host, obs_kind, client, server, rcode, detail = key
                # positional arguments, Source made here (not by inp.source): this runs once per record
                yield Observation(host, obs_kind, first, client, server, rcode, detail,
                                  Source(path, line, None, parser), count,
                                  last if count > 1 and last != first else None)
            elif kind == 2:
                alias, target, client = key
                yield RedirectEdge(from_host=alias, to_host=target, via=EdgeVia.DNS_CNAME, confidence=Confidence.HIGH,
                                   evidence=(self.inp.source(line=line, parser=parser),), detail=f"CNAME seen {count}x",
                                   time=first, client=client)
            else:
                host, reason, client, detail, image = key
                yield BlockedAttempt(host=host, reason=reason, time=first, client=client, detail=detail,
                                     source=self.inp.source(line=line, parser=parser), image=image, count=count,
                                     last_time=last if count > 1 and last != first else None)


def _fold(table: dict, key: tuple, line: int, first: float | None, last: float | None, count: int) -> None:
    last = first if last is None else last
    entry = table.get(key)
    if entry is None:
        table[key] = [count, first, last, line]
        return
    entry[0] += count
    entry[1] = _earlier(entry[1], first)
    entry[2] = _later(entry[2], last)
    if line < entry[3]:
        entry[3] = line


def head_lines(inp: InputFile, limit: int = 30) -> list[str]:
    """The first non-empty lines of the decompressed head, decoded, for detection."""
    if inp.looks_binary:
        return []
    return inp.memo(("head_lines", limit), lambda: _head_lines(inp, limit))  # type: ignore[no-any-return]


def _head_lines(inp: InputFile, limit: int) -> list[str]:
    # the raw split is shared by every limit asked for (the text is cut after the first 200 lines, not split whole)
    raw = inp.memo("head_split", lambda: inp.head_text.split("\n", 200))
    if limit * 4 > 200:
        raw = inp.head_text.split("\n")
    lines = [line.strip("\r") for line in raw[:limit * 4] if line.strip()]
    return lines[:limit]


class LineParser:
    """A log read line by line: subclasses set NAME and implement `line()`; state lives on the instance.

    `run()` streams the input, calls `line(text, number)` for every line, folds what the lines recorded
    into `batch`, and yields the records and (capped) errors block by block.
    """

    NAME = ""

    def __init__(self, inp: InputFile, ctx: ParseContext, stats: LineStats | None = None) -> None:
        self.inp = inp
        self.reader = LogReader(inp, ctx, self.NAME, stats)
        self.stats = self.reader.stats
        self.batch = Batch(inp, self.NAME)
        self.clock = Clock.for_input(inp)

    def run(self) -> Iterator[Evidence]:
        try:
            for text, first_line in self.reader.blocks():
                self.block(text, first_line)
                yield from self.batch.flush_if_full()
                yield from self.reader.take_errors()
            self.finish()
            records = self.batch.flush()  # the memos' sums are settled into the batch first (before_flush)
            self.release()  # and the memos let go before the records are made and stored
            yield from records
            yield from self.reader.summary()
        finally:
            # a parser's before_flush holds the parser (and its memos, tens of MB on a big log): a cycle that
            # only a full collection frees, and the relaxed threshold makes that late; cut it when the run ends
            self.batch.before_flush = None

    def block(self, text: str, first_line: int) -> None:
        line_no = first_line
        for line in text.split("\n"):
            if line.strip():
                self.line(line, line_no)
            else:
                self.stats.ignore("empty line")
            line_no += 1

    def line(self, text: str, number: int) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last line (for formats whose records span lines)."""

    def release(self) -> None:
        """Called when the last records are settled, before they are made: let go of what parsing memoized."""

    def malformed(self, number: int, message: str) -> None:
        self.reader.malformed(number, message)

    def host(self, raw: str, number: int, what: str) -> str | None:
        """The normalized name, or None after counting the line as malformed."""
        host, problem = host_name(raw)
        if host is None:
            self.malformed(number, f"{what}: {problem}")
        return host


def id_spans(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids present, their line count, first line, last line), ids ascending."""
    count = np.bincount(ids, minlength=size)
    lines = np.arange(len(ids))
    first = np.full(size, len(ids), np.int64)
    np.minimum.at(first, ids, lines)
    last = np.full(size, -1, np.int64)
    np.maximum.at(last, ids, lines)
    present = np.flatnonzero(count)
    return present, count[present], first[present], last[present]
