"""The fast path for Zeek dns.log TSV: a segment of data lines tokenized and grouped by polars, folded with
numpy, no Python per line or per group, only per new key.

A segment qualifies when it is ASCII with no carriage return, every line has exactly the header's column
count (the first line's tabs are counted, as polars takes the count from it; a shorter line's last column
reads as null; and the segment's tabs total lines x (columns - 1), as polars ignores a longer line's extra
columns when it reads chosen ones), no column is empty (Zeek writes `(empty)`; an empty column reads as
null) and every time stamp is a finite, non-zero number. Anything else goes through the
regular-expression path of zeek.py, which reads the same records and reports the malformed lines. The
result is the same records, counts, times and errors as that path:

- polars reads the used columns (time, client, server, query, qtype, rcode, answers) of the segment and
  groups its lines by query key (client, server, query, qtype, rcode) and by answer key (query, qtype,
  rcode, answers): per group, its line count and first and last line;
- a key is found again across segments by a 64-bit row hash (`hash_rows`) in a sorted numpy array, the
  match confirmed by a second, independently seeded hash; each key is read out of polars and judged
  (host name, class) only on first sight;
- the counts, earliest/latest times (those of the first and last line, as the regular path takes them)
  and first lines are summed per key in numpy arrays and written into the Batch only when it is flushed
  (`settle`). The Batch slots themselves are created on a key's first sight, in the order the
  line-by-line path would create them, so the Batch's size (which decides when it is flushed) and the
  order of records on the same line stay the same.

polars' float parser is correctly rounded, as Python's `float` is, so a time stamp it reads is the number
the regular path reads; a stamp it refuses (`-`, ISO, `1_0`) sends the segment to the regular path before
anything is recorded, so the time warnings stay exactly those of that path.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from auditor.core.model import ObservationKind
from parsers.common.lazy import lazy_module
from parsers.logs.line_reader import host_name, is_ip

np = lazy_module("numpy")  # imported on first use: start-up stays fast

if TYPE_CHECKING:
    import polars as pl

    from parsers.logs.dns.zeek_layout import ZeekLayout
    from parsers.logs.line_reader import LineParser

MIN_CHARS = 64 * 1024  # below this a segment goes the regular way: polars' set-up would cost more
_QUERY_COLUMNS = ("id.orig_h", "id.resp_h", "query", "qtype_name", "rcode_name")
_ANSWER_COLUMNS = ("query", "qtype_name", "rcode_name", "answers")
_KEY_COLUMNS = ("id.orig_h", "id.resp_h", "query", "qtype_name", "rcode_name", "answers")
_UNSET = frozenset({"-", "(empty)", ""})
_CHAIN_TYPES = frozenset({"A", "AAAA", "CNAME", "HTTPS", "SVCB", "ANY", "*", "1", "28", "5"})
_FAR = sys.maxsize
_KEY_LIMIT = 100_000  # distinct query and answer keys remembered before they are settled and forgotten
# seeds of the two row hashes: the first finds a key, the second confirms it (see _KeyTable)
_SEEDS = (0x5EED_0001, 0x0BAD_C0DE)
# what a query key becomes
_OK, _NO_NAME, _BAD_NAME = 0, 1, 2


def _polars() -> Any:
    """polars, imported on the first segment: most runs never read a large dns.log."""
    import polars

    return polars


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
        # ids are distinct within one call (one group per key), so fancy-index updates do not collide
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


class _Growing:
    """Values appended one by one and read as a numpy array, converting only what came since the last read."""

    def __init__(self, dtype: type) -> None:
        self.values: list = []
        self.dtype = dtype
        self.array = np.zeros(0, dtype)

    def __len__(self) -> int:
        return len(self.values)

    def append(self, value: object) -> None:
        self.values.append(value)

    def view(self) -> np.ndarray:
        if len(self.array) != len(self.values):
            self.array = np.concatenate([self.array, np.array(self.values[len(self.array):], self.dtype)])
        return self.array


class _Groups:
    """One segment's lines grouped by a key: key ids (known across segments), line counts, first and last
    line (indices into the segment)."""

    def __init__(self, ids: np.ndarray, count: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
        self.ids, self.count, self.first, self.last = ids, count, first, last


class _KeyTable:
    """Keys (tuples of column values) numbered on first sight. A key is found again by a 64-bit row hash
    (in a sorted array: no Python per lookup), and the match confirmed by a second, independently seeded
    one: keys that differ but agree on both hashes have odds of about n^2 / 2^129; keys that agree on the
    first only are caught (a collision)."""

    def __init__(self) -> None:
        self.hashes = np.zeros(0, np.uint64)  # first hashes, sorted
        self.owners = np.zeros(0, np.int64)  # the id of each of them
        self.checks = np.zeros(0, np.uint64)  # per id: the second hash
        self.keys: list[tuple[str, ...]] = []

    def __len__(self) -> int:
        return len(self.keys)

    def number(self, keys: pl.DataFrame, first: np.ndarray) -> tuple[np.ndarray, list[int]] | None:
        """The id of each row of KEYS and the rows whose key was new (numbered in the order of FIRST, their
        first lines); None, with nothing numbered, if two keys collide on the first hash."""
        hashes = keys.hash_rows(_SEEDS[0]).to_numpy()
        checks = keys.hash_rows(_SEEDS[1]).to_numpy()
        at = np.searchsorted(self.hashes, hashes)
        found = at < len(self.hashes)
        found[found] = self.hashes[at[found]] == hashes[found]
        ids = np.full(len(hashes), -1, np.int64)
        ids[found] = self.owners[at[found]]
        if not (self.checks[ids[found]] == checks[found]).all():
            return None
        unknown = np.flatnonzero(~found)
        if not len(unknown):
            return ids, []
        unknown = unknown[np.argsort(first[unknown], kind="stable")]
        start = len(self.keys)
        fresh_ids = np.arange(start, start + len(unknown))
        by_hash = np.argsort(hashes[unknown])
        fresh_hashes = hashes[unknown][by_hash]
        if (fresh_hashes[1:] == fresh_hashes[:-1]).any():
            return None
        ids[unknown] = fresh_ids
        places = np.searchsorted(self.hashes, fresh_hashes)
        self.hashes = np.insert(self.hashes, places, fresh_hashes)
        self.owners = np.insert(self.owners, places, fresh_ids[by_hash])
        self.checks = np.concatenate([self.checks, checks[unknown]])
        fresh = unknown.tolist()
        self.keys.extend(keys[fresh].rows())
        return ids, fresh


class DnsFolder:
    """Folds dns.log TSV segments of one file; see the module docstring."""

    def __init__(self, parser: LineParser) -> None:
        self.parser = parser
        self.reset()

    def reset(self) -> None:
        """Forget every key: the Batch was flushed, so its slots are gone."""
        self.query_keys = _KeyTable()  # (client, server, query, qtype, rcode)
        self.query_class = _Growing(np.int8)
        self.query_problem: dict[int, str] = {}
        self.query_host: list[str | None] = []
        self.query_slot: list[list | None] = []
        self.answer_keys = _KeyTable()  # (query, qtype, rcode, answers)
        self.answer_used = _Growing(bool)  # yields records (an address query with answers, a valid name)
        self.answer_slots: list[list[list] | None] = []
        self.queries = _Sums()
        self.answers = _Sums()

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

    def fold(self, text: str, first_line: int, layout: ZeekLayout, raw: bytes | None = None) -> bool:
        """Fold TEXT (data lines, the first numbered FIRST_LINE; RAW: its bytes, if known to be ASCII with no
        carriage return); False (nothing recorded) if it does not qualify for the fast path."""
        if any(name not in layout.column for name in _KEY_COLUMNS):
            return False
        if raw is None:
            if not text.isascii() or "\r" in text:
                return False
            raw = text.encode("ascii")
        width = layout.field_count
        # every line has WIDTH columns: polars takes the count from the first line and leaves a shorter
        # line's last column null (caught below); with columns chosen it ignores a longer line's extra
        # ones, so the tabs are counted: none short and the total right means none long either
        first_end = raw.find(b"\n")
        if raw.count(b"\t", 0, first_end if first_end >= 0 else len(raw)) != width - 1 or raw.endswith(b"\n"):
            return False
        data = np.frombuffer(raw, np.uint8)
        lines = int(np.count_nonzero(data == 10)) + 1  # bytes.count: slower
        if int(np.count_nonzero(data == 9)) != lines * (width - 1):
            return False
        # a header line's first column ("#fields", "#close") is no number, so it fails the time column,
        # unless the time is not the first column
        if layout.column["ts"] != 0 and (raw.startswith(b"#") or b"\n#" in raw):
            return False
        pl = _polars()
        try:
            frame = _read(raw, layout)
            if frame is None or frame.height != lines or any(frame.null_count().row(0)):
                return False  # a null: an empty column or a short line, which the regular path reports
            stamps = frame.get_column("ts").to_numpy()
            if not np.isfinite(stamps).all() or not stamps.all():
                return False  # NaN, infinite or zero: the regular path's float() and warnings decide
            if len(self.query_keys) + len(self.answer_keys) >= _KEY_LIMIT:
                # bounded memory whatever the Batch holds (distinct TXT answers make keys but no records);
                # the slots stay in the Batch, and a key seen again finds its slot there
                self.settle_and_reset()
            queries = self._groups(frame, _QUERY_COLUMNS, self.query_keys)
            answers = self._groups(frame, _ANSWER_COLUMNS, self.answer_keys)
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
            # PanicException is a BaseException: a polars bug met on hostile input must not end the run;
            # nothing is in the Batch yet, and keys numbered without slots are harmless
            return False
        if queries is None or answers is None:
            return False
        for key in self.query_keys.keys[len(self.query_class):]:
            self._register_query(key)
        for key in self.answer_keys.keys[len(self.answer_used):]:
            self._register_answer(key)
        self._record_queries(queries, stamps, first_line)
        used = self.answer_used.view()[answers.ids]
        self._record_answers(_Groups(answers.ids[used], answers.count[used], answers.first[used],
                                     answers.last[used]), stamps, first_line)
        return True

    def _groups(self, frame: pl.DataFrame, columns: tuple[str, ...], table: _KeyTable) -> _Groups | None:
        """The segment's lines grouped by COLUMNS, numbered in TABLE; None on a hash collision."""
        pl = _polars()
        grouped = frame.group_by(list(columns)).agg(
            pl.len().alias("count"), pl.col("row").min().alias("first"), pl.col("row").max().alias("last"))
        first = grouped.get_column("first").to_numpy().astype(np.int64)
        numbered = table.number(grouped.select(columns), first)
        if numbered is None:
            return None
        return _Groups(numbered[0], grouped.get_column("count").to_numpy().astype(np.int64), first,
                       grouped.get_column("last").to_numpy().astype(np.int64))

    def _register_query(self, key: tuple[str, ...]) -> None:
        query = key[2]
        query_id = len(self.query_class)
        self.query_slot.append(None)
        host = None
        if query in _UNSET:
            kind = _NO_NAME
        else:
            host, problem = host_name(query)
            if host is None:
                kind = _BAD_NAME
                self.query_problem[query_id] = problem or ""
            else:
                kind = _OK
        self.query_class.append(kind)
        self.query_host.append(host)

    def _register_answer(self, key: tuple[str, ...]) -> None:
        query, qtype, _rcode, answers = key
        self.answer_slots.append(None)
        self.answer_used.append(query not in _UNSET and answers not in _UNSET and qtype in _CHAIN_TYPES
                                and host_name(query)[0] is not None)

    def _record_queries(self, groups: _Groups, stamps: np.ndarray, first_line: int) -> None:
        ids, count, first, last = groups.ids, groups.count, groups.first, groups.last
        parser = self.parser
        kind = self.query_class.view()[ids]
        ok = kind == _OK
        ids_ok, first_ok = ids[ok], first[ok]
        self.queries.grow(len(self.query_keys))
        missing = ~self.queries.slotted[ids_ok]
        self.queries.slotted[ids_ok] = True
        batch = parser.batch
        for key_id in ids_ok[missing][np.argsort(first_ok[missing], kind="stable")].tolist():
            client, server, _query, qtype, rcode = self.query_keys.keys[key_id]
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
        self.queries.add(ids[ok], count[ok], stamps[first[ok]], stamps[last[ok]], first_line + first[ok])

    def _record_answers(self, groups: _Groups, stamps: np.ndarray, first_line: int) -> None:
        ids, count, first, last = groups.ids, groups.count, groups.first, groups.last
        self.answers.grow(len(self.answer_keys))
        missing = ~self.answers.slotted[ids]
        self.answers.slotted[ids] = True
        for key_id in ids[missing][np.argsort(first[missing], kind="stable")].tolist():
            self.answer_slots[key_id] = self._answer_slots(*self.answer_keys.keys[key_id])
        self.answers.add(ids, count, stamps[first], stamps[last], first_line + first)

    def _answer_slots(self, query: str, qtype: str, rcode: str, answers: str) -> list[list]:
        """The Batch slots an answers vector feeds, as `the regular Zeek parser's `answers`` would fold them."""
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


def _read(raw: bytes, layout: ZeekLayout) -> pl.DataFrame | None:
    """The used columns of RAW (tab-separated data lines, no header) with a `row` index, the time as a
    float, an empty or missing column as null; None if polars refuses the text (a time that is no number,
    a column the first line does not have). A longer line is not refused: the caller counts tabs."""
    pl = _polars()
    named = {layout.column[name]: name for name in ("ts", *_KEY_COLUMNS)}
    named.setdefault(layout.field_count - 1, "(last)")  # read too: a line short of columns has it null
    wanted = sorted(named)
    try:
        frame = pl.read_csv(raw, has_header=False, separator="\t", quote_char=None, comment_prefix=None,
                            columns=wanted, infer_schema=False, truncate_ragged_lines=False, raise_if_empty=False,
                            eol_char="\n", encoding="utf8")
        frame.columns = [named[index] for index in wanted]  # by position: default names differ across versions
        # strict: a stamp that is no number fails the segment (an empty one is null, caught by the caller)
        return frame.with_columns(pl.col("ts").cast(pl.Float64, strict=True)).with_row_index("row")
    except pl.exceptions.PolarsError:  # a longer first line, a time that is no number
        return None
