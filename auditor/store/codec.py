"""How schema 3 writes values: names as integer ids, days as day numbers, client sets as packed ids, and the
column arrays of the day's once-seen cells.

A resolver's long tail repeats the same host and client names on every row of every day; interned once in
`names` (one row per distinct string: hosts, clients, roles) a row holds a 1 to 3 byte integer instead.
"""

from __future__ import annotations

import sqlite3
import zlib
from array import array
from collections.abc import Iterable
from datetime import date, timedelta

from auditor.core.model import ObservationKind

KINDS: tuple[str, ...] = tuple(k.value for k in ObservationKind)  # stored as the index: dns-query is 0
KIND_INDEX = {kind: n for n, kind in enumerate(KINDS)}
ANSWER_KINDS = (KIND_INDEX["dns-answer"], KIND_INDEX["cname"])  # replies to a query already counted
UNDATED_DAY = -(2**31)  # the day of a record without a time (no real day is that far back)
EPOCH = date(1970, 1, 1)
NO_NAME = 0  # names ids start at 1: 0 is "none" (no role, no client)
CHUNK = 900  # ids or names per IN (...) list
ROLES_PENDING = "?"  # the role of a row migrated from version 1: filled in by the next command that opens the store


def day_number(text: str) -> int:
    """'2026-05-01' -> days since 1970-01-01; '' (undated) -> UNDATED_DAY."""
    return (date.fromisoformat(text) - EPOCH).days if text else UNDATED_DAY


def day_text(number: int) -> str:
    return "" if number == UNDATED_DAY else (EPOCH + timedelta(days=int(number))).isoformat()


def pack_ids(ids: Iterable[int]) -> int | bytes | None:
    """A set of name ids as stored: None (none), the id itself (one: a 1-3 byte integer), else uint32s."""
    ordered = sorted(set(ids))
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    return array("I", ordered).tobytes()


def unpack_ids(value: object) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int):
        return (value,)
    if isinstance(value, float):  # pandas turns an integer column with NULLs into floats
        return () if value != value else (int(value),)
    found = array("I")
    found.frombytes(value)  # type: ignore[arg-type]
    return tuple(found)


def pack_column(values: Iterable[int], delta: bool = False) -> bytes:
    """Unsigned 32-bit VALUES, zlib-compressed (DELTA: stored as differences, for a sorted column)."""
    numbers = array("I", values)
    if delta and numbers:
        previous = 0
        for n, value in enumerate(numbers):
            numbers[n], previous = value - previous, value
    return zlib.compress(numbers.tobytes(), 6)


def unpack_column(blob: bytes, delta: bool = False):  # type: ignore[no-untyped-def]
    """The numpy uint32 array PACK_COLUMN wrote (int64 after a delta decode)."""
    import numpy as np

    try:
        values = np.frombuffer(zlib.decompress(blob), dtype="<u4")
    except (zlib.error, ValueError, TypeError) as exc:  # a damaged page: reported as SQLite reports its own
        raise sqlite3.DatabaseError(f"database disk image is malformed (a once-seen array: {exc})") from None
    return np.cumsum(values, dtype=np.int64) if delta else values


def ms_of_day(epoch: float, day: int) -> int:
    """EPOCH as whole milliseconds after the start of DAY, truncated as the reports print them (half a
    microsecond of slack absorbs the float error of a 10-digit epoch)."""
    return int((epoch - day * 86_400) * 1000 + 5e-4)


class Names:
    """The `names` table: each distinct string once, with an integer id (hosts, clients and roles)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[str, int] = {}

    def intern(self, names: Iterable[str]) -> dict[str, int]:
        """The ids of NAMES, new ones added (the caller holds the write transaction)."""
        wanted = sorted({n for n in names if n and n not in self.ids})
        self.ids.update(ids_of(self.conn, wanted))
        missing = [n for n in wanted if n not in self.ids]
        if missing:
            first = (self.conn.execute("SELECT max(id) FROM names").fetchone()[0] or 0) + 1
            rows = [(first + n, name) for n, name in enumerate(missing)]
            self.conn.executemany("INSERT INTO names (id, name) VALUES (?, ?)", rows)
            self.ids.update((name, i) for i, name in rows)
        return self.ids

    def id(self, name: str) -> int:
        return self.ids[name] if name else NO_NAME


def ids_of(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
    """name -> id of those of NAMES the store holds."""
    found: dict[str, int] = {}
    wanted = sorted(set(names))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found.update(conn.execute(f"SELECT name, id FROM names WHERE name IN ({','.join('?' * len(chunk))})", chunk))
    return found


def names_of(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    """id -> name for IDS (0 is '')."""
    found: dict[int, str] = {NO_NAME: ""}
    wanted = sorted({int(i) for i in ids} - {NO_NAME})
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT id, name FROM names WHERE id IN ({marks})", chunk))
    return found


def ids_matching(conn: sqlite3.Connection, host: str, subdomains: bool = True) -> list[int]:
    """The ids of HOST and (SUBDOMAINS) every stored name under it."""
    if not subdomains:
        return [i for (i,) in conn.execute("SELECT id FROM names WHERE name = ?", (host,))]
    like = "%." + host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [i for (i,) in conn.execute("SELECT id FROM names WHERE name = ? OR name LIKE ? ESCAPE '\\'",
                                       (host, like))]


def int_columns(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()):  # type: ignore[no-untyped-def]
    """The integer columns of SQL's one row of `group_concat(...)` aggregates, as int64 arrays: a million rows
    come back as a few strings numpy parses, not as a million tuples."""
    import numpy as np

    row = conn.execute(sql, params).fetchone()
    return tuple(np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, dtype=np.int64)
                 for text in row)


def ids_under(conn: sqlite3.Connection, entries: Iterable[str]):  # type: ignore[no-untyped-def]
    """The ids of stored names ENTRIES could cover (a superset, the decisions apply their own matching): the
    entry, its subdomains, or a pattern's names ending in the text after its last `*`. One pass over the names
    for all entries: their text is read as strings of NAMES_PER_READ names and each tail found in them by
    `bytes.find`; what a tail found is remembered while the names stay as they are (they are only ever added),
    so the period facts' question after the window read's costs nothing."""
    import numpy as np

    exact: set[str] = set()
    tails: set[bytes] = set()
    for entry in entries:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if "*" in entry:
            tails.add(entry.rsplit("*", 1)[1].encode())
        else:
            exact.add(entry)
            tails.add(b"." + entry.encode())
    found = [i for name in sorted(exact) for i in ids_matching(conn, name, subdomains=False)]
    tails.discard(b"")
    memo = _tail_memo(conn)
    missing = sorted(tails - memo.keys())
    if missing:
        memo.update(_ids_ending_in(conn, missing))
    for tail in tails:
        found += memo[tail]
    return np.unique(np.array(found, dtype=np.int64))


# tail -> names ids, for one state of one store's names (its file, count and id range): the names are only ever
# added, so that state is their content
_TAILS: dict[tuple[object, ...], dict[bytes, list[int]]] = {}


def _tail_memo(conn: sqlite3.Connection) -> dict[bytes, list[int]]:
    state = (conn.execute("PRAGMA database_list").fetchone()[2],
             *conn.execute("SELECT count(*), min(id), max(id) FROM names").fetchone())
    if state not in _TAILS:
        _TAILS.clear()
        _TAILS[state] = {}
    return _TAILS[state]


NAMES_PER_READ = 500_000  # names read as one string at a time (about 14 MB): memory stays flat with the store


def _ids_ending_in(conn: sqlite3.Connection, tails: list[bytes]) -> dict[bytes, list[int]]:
    import numpy as np

    found: dict[bytes, list[int]] = {tail: [] for tail in tails}
    low, high = conn.execute("SELECT min(id), max(id) FROM names").fetchone()
    if low is None:
        return found
    for start in range(low, high + 1, NAMES_PER_READ):
        ids, data = conn.execute("SELECT group_concat(id), CAST(group_concat(name, char(10)) AS BLOB) FROM names"
                                 " WHERE id BETWEEN ? AND ?", (start, start + NAMES_PER_READ - 1)).fetchone()
        if not ids:
            continue
        numbers = np.fromstring(ids, dtype=np.int64, sep=",")
        ends = np.append(np.flatnonzero(np.frombuffer(data, np.uint8) == 10), len(data))
        if len(ends) != len(numbers):  # a name holding a newline: read them one by one instead
            return dict(zip(tails, _ids_ending(conn, tails), strict=True))
        data += b"\n"
        for tail in tails:
            wanted, at, hits = tail + b"\n", 0, []
            while (at := data.find(wanted, at)) >= 0:
                hits.append(at)
                at += len(wanted)
            if hits:
                found[tail] += numbers[np.searchsorted(ends, np.array(hits, dtype=np.int64))].tolist()
    return found


def _ids_ending(conn: sqlite3.Connection, tails: list[bytes]) -> list[list[int]]:
    """Per tail, the ids of the names ending in it, read name by name (names the one-string read cannot use)."""
    wanted = [tail.decode() for tail in tails]
    found: list[list[int]] = [[] for _ in tails]
    for i, name in conn.execute("SELECT id, name FROM names ORDER BY id"):
        for at, tail in enumerate(wanted):
            if name.endswith(tail):
                found[at].append(i)
    return found
