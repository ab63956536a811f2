"""The fast path for Zeek dns.log TSV: a segment of data lines folded with numpy, no Python per line.

A segment qualifies when it is ASCII and every line has exactly the header's column count (checked
from the positions of its tabs and newlines); anything else goes through the regular-expression path
of zeek.py, which reads the same records and reports the malformed lines. The result is the same
records, counts, times and errors as that path:

- the used columns (client, server, query, qtype, rcode, answers) of every line are cut out in one
  numpy compaction into one string per line (the "line key");
- each distinct line key is split once, on first sight, into its query key (client, server, query,
  qtype, rcode) and answer key (query, qtype, rcode, answers), each judged once (host name, class);
- per segment, numpy counts the lines of each query/answer key and finds its first and last line;
  only those lines' time stamps are converted;
- the counts, earliest/latest times and first lines are summed per key in numpy arrays and written
  into the Batch only when it is flushed (`settle`). The Batch slots themselves are created on a key's
  first sight, in the order the line-by-line path would create them, so the Batch's size (which decides
  when it is flushed) and the order of records on the same line stay the same.

A segment whose first/last time stamps are not plain numbers (unset, ISO, NaN, zero) is handed to the
regular path before anything is recorded, so its time warnings stay exactly those of that path.
"""

from __future__ import annotations

import sys
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from auditor.model import ObservationKind
from parsers.dnslogs._common import host_name, id_spans, is_ip

if TYPE_CHECKING:
    from parsers.dnslogs.zeek import _Layout, _ZeekParser

MIN_CHARS = 64 * 1024  # below this a segment goes the regular way: numpy's set-up would cost more
_KEY_COLUMNS = ("id.orig_h", "id.resp_h", "query", "qtype_name", "rcode_name", "answers")
_UNSET = frozenset({"-", "(empty)", ""})
_CHAIN_TYPES = frozenset({"A", "AAAA", "CNAME", "HTTPS", "SVCB", "ANY", "*", "1", "28", "5"})
_FAR = sys.maxsize
_KEY_LIMIT = 100_000  # distinct line keys remembered before they are settled and forgotten
# what a query key becomes
_OK, _NO_NAME, _BAD_NAME, _EMPTY = 0, 1, 2, 3


def _value(text: str) -> str | None:
    return None if text in _UNSET else text


class _Sums:
    """Per key: lines, earliest and latest time, first line; since the last `settle`."""

    def __init__(self) -> None:
        self.count = np.zeros(0, np.int64)
        self.first = np.zeros(0, np.float64)
        self.last = np.zeros(0, np.float64)
        self.line = np.zeros(0, np.int64)
        self.slotted = np.zeros(0, bool)  # the key's Batch slots exist

    def grow(self, size: int) -> None:
        extra = size - len(self.count)
        if extra > 0:
            extra = max(extra, len(self.count), 1024)
            self.count = np.concatenate([self.count, np.zeros(extra, np.int64)])
            self.first = np.concatenate([self.first, np.full(extra, np.inf)])
            self.last = np.concatenate([self.last, np.full(extra, -np.inf)])
            self.line = np.concatenate([self.line, np.full(extra, _FAR, np.int64)])
            self.slotted = np.concatenate([self.slotted, np.zeros(extra, bool)])

    def add(self, ids: np.ndarray, count: np.ndarray, first: np.ndarray, last: np.ndarray,
            line: np.ndarray) -> None:
        self.count[ids] += count
        self.first[ids] = np.minimum(self.first[ids], first)
        self.last[ids] = np.maximum(self.last[ids], last)
        self.line[ids] = np.minimum(self.line[ids], line)

    def take(self) -> list[tuple[int, int, float, float, int]]:
        """(id, count, first, last, line) of every key with lines, and zero sums."""
        ids = np.flatnonzero(self.count)
        taken = list(zip(ids.tolist(), self.count[ids].tolist(), self.first[ids].tolist(),
                         self.last[ids].tolist(), self.line[ids].tolist(), strict=True))
        self.count[ids] = 0
        self.first[ids] = np.inf
        self.last[ids] = -np.inf
        self.line[ids] = _FAR
        return taken


def _fold(slot: list, count: int, first: float, last: float, line: int) -> None:
    """Batch's own fold (`_common._fold`) for times that are never None."""
    slot[0] += count
    slot[1] = first if slot[1] is None else min(slot[1], first)
    slot[2] = last if slot[2] is None else max(slot[2], last)
    if line < slot[3]:
        slot[3] = line


class DnsFolder:
    """Folds dns.log TSV segments of one file; see the module docstring."""

    def __init__(self, parser: _ZeekParser) -> None:
        self.parser = parser
        self.reset()

    def reset(self) -> None:
        """Forget every key: the Batch was flushed, so its slots are gone."""
        self.line_keys: dict[bytes, int] = {}
        self.query_of: list[int] = []  # per line key
        self.answer_of: list[int] = []
        self.query_ids: dict[tuple[str, ...], int] = {}
        self.query_keys: list[tuple[str, ...]] = []
        self.query_class: list[int] = []
        self.query_problem: dict[int, str] = {}
        self.query_host: list[str | None] = []
        self.query_slot: list[list | None] = []
        self.answer_ids: dict[tuple[str, ...], int] = {}
        self.answer_keys: list[tuple[str, ...]] = []
        self.answer_used: list[bool] = []  # yields records (an address query with answers, a valid name)
        self.answer_slots: list[list[list] | None] = []
        self.queries = _Sums()
        self.answers = _Sums()
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- settling into the Batch ----------------------------------------------------------------------

    def settle(self) -> None:
        """Write the sums into the Batch's slots (before a flush, or before the regular path folds)."""
        for key_id, count, first, last, line in self.queries.take():
            slot = self.query_slot[key_id]
            assert slot is not None
            _fold(slot, count, first, last, line)
        for key_id, count, first, last, line in self.answers.take():
            for slot in self.answer_slots[key_id] or ():
                _fold(slot, count, first, last, line)

    def settle_and_reset(self) -> None:
        self.settle()
        self.reset()

    # -- one segment ----------------------------------------------------------------------------------

    def fold(self, text: str, first_line: int, layout: _Layout) -> bool:
        """Fold TEXT (data lines, the first numbered FIRST_LINE); False (nothing recorded) if it does not
        qualify for the fast path."""
        if not text.isascii() or any(name not in layout.column for name in _KEY_COLUMNS):
            return False
        if len(self.line_keys) >= _KEY_LIMIT:
            # bounded memory whatever the Batch holds (distinct TXT answers make keys but no records); the
            # slots stay in the Batch, and a key seen again finds its slot there
            self.settle_and_reset()
        raw = text.encode("ascii")
        cut = _cut(raw, layout.field_count)
        if cut is None:
            return False
        if (np.frombuffer(raw, np.uint8)[cut.start(0)[1:]] == ord("#")).any():
            return False  # a header line: the caller cuts the text there
        columns = sorted(layout.column[name] for name in _KEY_COLUMNS)
        keys = _line_keys(raw, cut, columns)
        order = [columns.index(layout.column[name]) for name in _KEY_COLUMNS]
        line_keys = self.line_keys
        ids = np.fromiter(map(line_keys.get, keys, repeat(-1)), np.int64, len(keys))
        unknown = np.flatnonzero(ids < 0)
        if len(unknown):
            pick = itemgetter(*order)
            for key in dict.fromkeys(map(keys.__getitem__, unknown.tolist())):
                self._register(key, pick)
            ids[unknown] = np.fromiter(map(line_keys.__getitem__, map(keys.__getitem__, unknown.tolist())),
                                       np.int64, len(unknown))
        query_of, answer_of, query_class, answer_used = self._arrays_now()
        queries = id_spans(query_of[ids], len(self.query_keys))
        answers = id_spans(answer_of[ids], len(self.answer_keys))
        answers = tuple(part[answer_used[answers[0]]] for part in answers)
        stamp = layout.column["ts"]
        times = _times(raw, cut.start(stamp), cut.end(stamp),
                       np.concatenate([queries[2], queries[3], answers[2], answers[3]]))
        if times is None:
            return False
        self._record_queries(queries, query_class, times, first_line)
        self._record_answers(answers, times, first_line)
        return True

    def _arrays_now(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The per-key lists as arrays; only what was registered since the last call is converted."""
        done = len(self._arrays[0]) if self._arrays is not None else 0
        if self._arrays is None or done != len(self.query_of):
            fresh = (np.array(self.query_of[done:], np.int64), np.array(self.answer_of[done:], np.int64))
            query_class = np.array(self.query_class, np.int8)
            answer_used = np.array(self.answer_used, bool)
            if self._arrays is not None:
                fresh = (np.concatenate([self._arrays[0], fresh[0]]), np.concatenate([self._arrays[1], fresh[1]]))
            self._arrays = (*fresh, query_class, answer_used)
        return self._arrays

    def _register(self, key: bytes, pick: itemgetter) -> None:
        client, server, query, qtype, rcode, answers = pick(key.decode("ascii").split("\t"))
        host, problem = host_name(query) if query else (None, None)
        query_key = (client, server, query, qtype, rcode)
        query_id = self.query_ids.get(query_key)
        if query_id is None:
            query_id = self.query_ids[query_key] = len(self.query_keys)
            self.query_keys.append(query_key)
            self.query_slot.append(None)
            if not query:
                kind = _EMPTY
            elif query in _UNSET:
                kind = _NO_NAME
            elif host is None:
                kind = _BAD_NAME
                self.query_problem[query_id] = problem or ""
            else:
                kind = _OK
            self.query_class.append(kind)
            self.query_host.append(host)
        answer_key = (query, qtype, rcode, answers)
        answer_id = self.answer_ids.get(answer_key)
        if answer_id is None:
            answer_id = self.answer_ids[answer_key] = len(self.answer_keys)
            self.answer_keys.append(answer_key)
            self.answer_slots.append(None)
            self.answer_used.append(host is not None and answers not in _UNSET and qtype in _CHAIN_TYPES)
        self.line_keys[key] = len(self.query_of)
        self.query_of.append(query_id)
        self.answer_of.append(answer_id)

    def _record_queries(self, spans: tuple[np.ndarray, ...], query_class: np.ndarray, times: _Times,
                        first_line: int) -> None:
        ids, count, first, last = spans
        parser = self.parser
        kind = query_class[ids]
        ok = kind == _OK
        ids_ok, first_ok = ids[ok], first[ok]
        self.queries.grow(len(self.query_keys))
        missing = ~self.queries.slotted[ids_ok]
        self.queries.slotted[ids_ok] = True
        batch = parser.batch
        for key_id in ids_ok[missing][np.argsort(first_ok[missing], kind="stable")].tolist():
            client, server, _query, qtype, rcode = self.query_keys[key_id]
            host = self.query_host[key_id]
            assert host is not None
            self.query_slot[key_id] = batch.slot_observation(
                host, ObservationKind.DNS_QUERY, _value(client), _value(server), _value(rcode),
                "" if qtype in _UNSET else qtype)
        unnamed = int(count[kind == _NO_NAME].sum())
        if unnamed:
            parser.stats.ignore("DNS record without a query name", unnamed)
        bad = np.flatnonzero(kind == _BAD_NAME)
        for index in bad[np.argsort(first[bad], kind="stable")].tolist():
            key_id = int(ids[index])
            parser.reader.malformed(first_line + int(first[index]), f"query: {self.query_problem[key_id]}",
                                    int(count[index]))
        parser.stats.parsed += int(count[ok].sum())
        self.queries.add(ids[ok], count[ok], times.at(first[ok]), times.at(last[ok]), first_line + first[ok])
        empty = int(count[kind == _EMPTY].sum())
        if empty:
            parser.stats.ignore("empty line", empty)  # what the regular path calls a line it cannot split

    def _record_answers(self, spans: tuple[np.ndarray, ...], times: _Times, first_line: int) -> None:
        ids, count, first, last = spans
        self.answers.grow(len(self.answer_keys))
        missing = ~self.answers.slotted[ids]
        self.answers.slotted[ids] = True
        for key_id in ids[missing][np.argsort(first[missing], kind="stable")].tolist():
            self.answer_slots[key_id] = self._answer_slots(*self.answer_keys[key_id])
        self.answers.add(ids, count, times.at(first), times.at(last), first_line + first)

    def _answer_slots(self, query: str, qtype: str, rcode: str, answers: str) -> list[list]:
        """The Batch slots an answers vector feeds, as `_ZeekParser.answers` would fold them."""
        batch = self.parser.batch
        owner, _ = host_name(query)
        assert owner is not None
        slots = []
        for answer in answers.split(","):
            if is_ip(answer):
                slots.append(batch.slot_observation(owner, ObservationKind.DNS_ANSWER, None, None, _value(rcode),
                                                    answer))
                continue
            target, _ = host_name(answer)
            if target is None:
                continue
            if target != owner:
                slots.append(batch.slot_observation(target, ObservationKind.CNAME, None, None, None, owner))
                slots.append(batch.slot_edge(owner, target, None))
            owner = target
        return slots


class _Times:
    """Time stamps of chosen lines: `at(lines)` gives them in that order."""

    def __init__(self, lines: np.ndarray, values: np.ndarray) -> None:
        self.lines = lines
        self.values = values

    def at(self, lines: np.ndarray) -> np.ndarray:
        return self.values[np.searchsorted(self.lines, lines)]


class _Columns:
    """Where each line's columns end (`ends`, lines x columns: the tab or newline after each) and start."""

    def __init__(self, ends: np.ndarray) -> None:
        self.ends = ends

    def __len__(self) -> int:
        return len(self.ends)

    def start(self, column: int) -> np.ndarray:
        if column:
            return self.ends[:, column - 1] + 1
        return np.concatenate([[0], self.ends[:-1, -1] + 1])

    def end(self, column: int) -> np.ndarray:
        return self.ends[:, column]


def _cut(raw: bytes, width: int) -> _Columns | None:
    """The columns of every line; None unless every line has exactly WIDTH columns (and no control
    character below a newline besides the tab)."""
    data = np.frombuffer(raw, np.uint8)
    marks = np.empty(len(raw) + 1, bool)
    np.less(data, 11, out=marks[:-1])
    marks[-1] = True  # the end of the text ends the last line
    separators = np.flatnonzero(marks)
    lines, extra = divmod(len(separators), width)
    if extra:
        return None
    kinds = data[separators[:-1]]
    # every line ends in a newline (the last in the end of the text) and its other separators are tabs
    if not ((kinds[width - 1::width] == 10).all() and np.count_nonzero(kinds == 9) == len(kinds) - lines + 1):
        return None
    return _Columns(separators.reshape(lines, width))


def _line_keys(raw: bytes, columns: _Columns, wanted: list[int]) -> list[bytes]:
    """Per line, its WANTED columns joined by tabs: kept byte ranges marked by np.repeat, cut out in one go."""
    lines = len(columns)
    bounds = np.empty((lines, 2 * len(wanted) + 2), np.int64)
    for slot, column in enumerate(wanted):
        bounds[:, 2 * slot] = columns.start(column)
        bounds[:, 2 * slot + 1] = columns.end(column) + 1  # with the tab after it
    bounds[:, 2 * len(wanted) - 1] -= 1  # the last one without
    line_ends = columns.end(-1)
    bounds[:, -2] = line_ends  # then the line's newline
    bounds[:, -1] = line_ends + 1
    lengths = np.diff(bounds.ravel(), prepend=0)
    keep = np.repeat(np.tile(np.array([False, True]), lines * (len(wanted) + 1)), lengths)
    data = np.frombuffer(raw, np.uint8)
    return data[keep[:len(raw)]].tobytes().split(b"\n")


def _times(raw: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray) -> _Times | None:
    """The time stamps of LINES as numbers; None if any is not a plain, non-zero number."""
    wanted = np.unique(lines)
    values = _decimal_times(raw, starts[wanted], ends[wanted])
    if values is None:
        try:
            values = np.array(list(map(float, map(raw.__getitem__, map(slice, starts[wanted].tolist(),
                                                                         ends[wanted].tolist())))), np.float64)
        except ValueError:
            return None
    if len(values) and (np.isnan(values).any() or (values == 0).any()):
        return None
    return _Times(wanted, values)


def _decimal_times(raw: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Zeek's usual stamps (`1714557600.007411`: one width, digits around one point) converted in numpy;
    None for anything else. Exactly `float(text)`: the digits form an integer below 2**53 (exact as a
    float), the power of ten is exact, and the division is correctly rounded, as the parse is."""
    if not len(starts):
        return np.zeros(0, np.float64)
    width = int(ends[0] - starts[0])
    if width < 3 or width > 17 or not (ends - starts == width).all():
        return None
    text = np.frombuffer(raw, np.uint8)[starts[:, None] + np.arange(width)]
    points = text == ord(".")
    point = int(np.argmax(points[0]))
    if not points[:, point].all():
        return None
    digits = np.delete(text, point, axis=1).astype(np.int64) - ord("0")
    if ((digits < 0) | (digits > 9)).any() or point == 0 or point == width - 1:
        return None
    whole = digits @ (10 ** np.arange(width - 2, -1, -1, dtype=np.int64))
    if (whole >= 2**53).any():
        return None
    return whole / float(10 ** (width - 1 - point))
