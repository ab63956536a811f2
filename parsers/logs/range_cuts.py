"""Where a log whose lines are not independent may be cut into byte ranges (auditor/pipeline/byte_ranges.py).

A range is parsed by its own run of the parser, so a cut must fall where that run reads the lines after it as a
parse of the whole file does. Each kind's rule is one row of POLICIES; the knowledge of what spans lines stays in
the parser, which exposes it:

- dnsmasq: a `<CNAME>` reply is paired with its target, the first answer up to PAIR_WINDOW (8) lines on, and a
  block line with the query up to 8 lines back that names its client. A range starts at a line start where no
  such pair spans the cut (`dnsmasq.cut_splits_pair`).
- windows_dns: a detail-mode record is its PACKET line and the indented lines after it. A range starts at a
  PACKET line (`windows_dns.starts_record`), and a PACKET line resets every per-record state of the parser.
- docker_log: the runner is named once in a job header, and an error takes its image from a `docker pull` up to
  PULL_CONTEXT_LINES (30) lines before. A range starts at any line start and is given a prefix: the last runner
  line before the cut, then the 30 lines before the cut with every line but the runner and pull lines
  (`docker_log.context_of`) blanked, so those keep their distance to the cut.

A candidate is searched from the first line start at or after the nominal cut, up to SEARCH_BYTES on; when none
is accepted (or the lines a rule reads do not fit in the bytes read: lines of hundreds of KB), the cut is dropped
and its two ranges are one. Dropping a cut is always safe: it is the whole-file parse of that stretch.

The docker prefix is parsed as the range's first lines (the range's `header`); it yields no record (runner and
pull lines record nothing, blank lines are ignored), and `file_records` drops any record of a header line all the
same. The prefix's lines count in a range's summary line ("... malformed lines of N") as a Zeek header's do.

Syslog years: dnsmasq and docker stamps carry none; `Clock` takes it from the file's modification time per stamp
(the mtime's year, one less when the stamp would lie over two days after the mtime), with no state carried from
earlier lines (no roll-over seen before), and a range is opened at the file's own path: the same year for every
line, whichever range reads it. Nothing to hand over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from parsers.logs import docker_log
from parsers.logs.dns import dnsmasq, windows_dns
from parsers.logs.line_reader import MAX_LINE_BYTES

SEARCH_BYTES = 256 * 1024  # how far past the nominal cut a rule looks for a line it accepts
_BACK_BYTES = 256 * 1024  # read before the first candidate: the lines a rule reads before it
_READ = 1024 * 1024


@dataclass(frozen=True)
class CutPolicy:
    """How a range of one kind may start: the rule reads BEFORE lines before a candidate and AFTER lines from it
    on (fewer at the file's ends) and says whether a range may start there; CONTEXT, when the kind needs one,
    makes the prefix a range starting there is given, from the lines before the cut."""

    before: int
    after: int
    accepts: Callable[[Sequence[str], int], bool]
    context: Callable[[BinaryIO], _DockerContext] | None = None


def _text(raw: bytes) -> str:
    """RAW (one line, with its newline) as the parser sees it (parsers/logs/line_reader.py: LogReader)."""
    text = raw.decode("utf-8", "replace")
    text = text[:-1] if text.endswith("\n") else text
    return text[:-1] if text.endswith("\r") else text


class _DockerContext:
    """The runner line in force at each cut, found by one forward scan of the file over all its cuts."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.runner = b""  # the last runner line before `scanned`
        self.scanned = 0  # a line start
        # an over-long line (the parser skips it, or for 1-2 MiB may skip it) since the last runner line: which
        # runner the parser holds after it is not known here, so no range starts until the next runner line
        self.unsure = False

    def prefix(self, window: list[bytes], window_start: int) -> bytes | None:
        """The prefix of a range whose PULL_CONTEXT_LINES lines before it are WINDOW (raw, with their newlines),
        starting at byte WINDOW_START; None: no range may start there."""
        self._scan_to(window_start)
        if self.unsure:
            return None
        return self.runner + b"".join(line if docker_log.context_of(_text(line)) else b"\n" for line in window)

    def _scan_to(self, end: int) -> None:
        stream, position, carry, skipping = self.stream, self.scanned, b"", False
        stream.seek(position)
        while position < end:
            piece = stream.read(min(_READ, end - position))
            if not piece:
                break
            position += len(piece)
            if skipping:  # inside an over-long line: its end is the next newline
                newline = piece.find(b"\n")
                if newline < 0:
                    continue
                piece, skipping = piece[newline + 1:], False
            data = carry + piece
            whole = data.rfind(b"\n") + 1 if position < end else len(data)
            body, carry = data[:whole], data[whole:]
            if len(carry) >= MAX_LINE_BYTES:
                self.unsure, skipping, carry = True, True, b""
            # only BODY's first line can be over-long: the carry is shorter, and a line after it lies in PIECE
            if (body.find(b"\n") + 1 or len(body)) >= MAX_LINE_BYTES:
                self.unsure = True
            found = body.find(docker_log.RUNNER_LITERAL)
            while found >= 0:
                start = body.rfind(b"\n", 0, found) + 1
                stop = body.find(b"\n", found) + 1 or len(body)
                line = body[start:stop]
                if len(line) >= MAX_LINE_BYTES:
                    self.unsure = True
                elif docker_log.context_of(_text(line)) == "runner":
                    self.runner, self.unsure = line if line.endswith(b"\n") else line + b"\n", False
                found = body.find(docker_log.RUNNER_LITERAL, stop)
        self.scanned = end


POLICIES: dict[str, CutPolicy] = {
    "dnsmasq": CutPolicy(dnsmasq.PAIR_WINDOW, dnsmasq.PAIR_WINDOW,
                         lambda lines, at: not dnsmasq.cut_splits_pair(lines, at)),
    "windows_dns": CutPolicy(0, 1, lambda lines, at: windows_dns.starts_record(lines[at])),
    "docker_log": CutPolicy(docker_log.PULL_CONTEXT_LINES, 0, lambda _lines, _at: True, _DockerContext),
}


class Cutter:
    """The cuts of one file of a kind with a policy, asked for in increasing order (`place`)."""

    def __init__(self, policy: CutPolicy, stream: BinaryIO, size: int) -> None:
        self.policy = policy
        self.stream = stream
        self.size = size
        self.context = policy.context(stream) if policy.context is not None else None

    def place(self, line_start: int) -> tuple[int, bytes] | None:
        """(the cut, the prefix of the range starting there) for the first line start at or after LINE_START
        (itself a line start) that the policy accepts within SEARCH_BYTES, or None: no cut."""
        policy, stream = self.policy, self.stream
        start = max(line_start - _BACK_BYTES, 0)
        stream.seek(start)
        data = stream.read(line_start - start + SEARCH_BYTES + _BACK_BYTES)
        at_end = start + len(data) >= self.size
        first = 0 if start == 0 else data.find(b"\n", 0, line_start - start) + 1  # past a partial first line
        if first == 0 and start:
            first = line_start - start  # one line fills the bytes read before: no line before the cut is known
        raw = data[first:].split(b"\n")
        raw = [line + b"\n" for line in raw[:-1]] + ([raw[-1]] if raw[-1] and at_end else [])
        offsets = [start + first]
        for line in raw:
            offsets.append(offsets[-1] + len(line))
        texts = [_text(line) for line in raw]
        index = offsets.index(line_start) if line_start in offsets else len(raw)
        from_file_start = start + first == 0
        for at in range(index, len(raw)):
            if offsets[at] - line_start > SEARCH_BYTES:
                break
            if at < policy.before and not from_file_start:
                continue  # the lines before it were not read whole
            if at + policy.after > len(raw) and not at_end:
                break
            low = max(at - policy.before, 0)
            if not policy.accepts(texts[low:at + policy.after], at - low):
                continue
            if self.context is None:
                return offsets[at], b""
            prefix = self.context.prefix(raw[low:at], offsets[low])
            return None if prefix is None else (offsets[at], prefix)
        return None
