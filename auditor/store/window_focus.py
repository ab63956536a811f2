"""Which hosts of a window too large to keep whole a window read keeps: the ones an allowlist decision can use.

A year of a resolver's long tail puts a million distinct names in a 90-day window, past the evidence store's
MAX_HOSTS; the decisions act only on hosts a registry plays a part in. Past that limit the reader keeps
exactly those (decided on integer keys, before any record is made) and counts the rest:

- a role the knowledge base gave the host at ingest (registry, auth, cdn, blob ...), or /v2/ requests to it;
- a verdict of the store's judge (store/verdicts.py: a lookalike of a well-known registry, a self-hosted look);
- a name an allowlist entry under audit could cover (so no entry looks unused for want of its hosts);
- a host the evidence already holds (the command line's inputs, the snapshots' references) or a blocked one;
- the ends of redirect edges leaving any of those, followed to the end of each chain.

Below the limit nothing changes: every host of the window is read, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.store.cells import once_arrays
from auditor.store.codec import UNDATED_DAY, day_text, ids_of, ids_under, int_columns
from auditor.store.verdicts import flagged

if TYPE_CHECKING:
    import numpy as np

    from auditor.core.evidence import EvidenceStore


@dataclass(frozen=True)
class Focus:
    """What a window read past the limit keeps (HOSTS: sorted names ids) and what it only counts."""

    hosts: np.ndarray
    distinct: int  # distinct hosts the window holds
    other_hosts: int  # of them, not kept
    other_records: int  # their observation records
    other_edges: int  # redirect edge records leaving hosts not kept
    span: tuple[float | None, float | None]  # the first and last time of any of the window's cells


def focus(conn: sqlite3.Connection, since: int, until: int, store: EvidenceStore, covered: Collection[str],
          limit: int) -> Focus | None:
    """The focus of the window SINCE..UNTIL (day numbers), or None when it and STORE's hosts fit in LIMIT.
    Decided on masks over the names ids: every step is a pass over integer arrays."""
    import numpy as np

    cells = _window_hosts(conn, since, until)
    distinct = int(cells.present.sum())
    if distinct + len(store.activity) <= limit:
        return None
    edge_from, edge_to, edge_count = int_columns(
        conn, "SELECT group_concat(from_host), group_concat(to_host), group_concat(count) FROM edges"
              " WHERE day = ? OR day BETWEEN ? AND ?", (UNDATED_DAY, since, until))
    held = ids_of(conn, _held_names(conn, store, since, until))
    extra = [np.fromiter(flagged(conn).keys(), dtype=np.int64), np.fromiter(held.values(), dtype=np.int64),
             ids_under(conn, covered) if covered else np.zeros(0, dtype=np.int64), edge_from, edge_to]
    size = max([len(cells.present), *(int(a.max()) + 1 for a in extra if len(a))])
    keep = np.zeros(size, bool)
    keep[:len(cells.marked)] = cells.marked
    for ids in extra[:3]:
        keep[ids] = True
    while True:  # the chains leaving kept hosts, to their ends
        reached = edge_to[keep[edge_from]]
        reached = reached[~keep[reached]]
        if not len(reached):
            break
        keep[reached] = True
    kept_here = keep[:len(cells.present)] & cells.present
    return Focus(hosts=np.flatnonzero(keep), distinct=distinct, other_hosts=distinct - int(kept_here.sum()),
                 other_records=int(cells.records[~keep[:len(cells.records)]].sum()),
                 other_edges=int(edge_count[~keep[edge_from]].sum()), span=cells.span)


@dataclass
class _Cells:
    """The window's cells summed per names id: whether any cell of the host is there, whether a role or /v2/
    requests mark one, the records (answers included); the first and last time of them all."""

    present: np.ndarray
    marked: np.ndarray
    records: np.ndarray
    span: tuple[float | None, float | None]

    def add(self, hosts: np.ndarray, marked: np.ndarray, records: np.ndarray) -> None:
        import numpy as np

        if len(hosts) and int(hosts.max()) >= len(self.present):  # names added while this reads: grow
            size = int(hosts.max()) + 1
            self.present, self.marked, self.records = (np.concatenate([held, np.zeros(size - len(held), held.dtype)])
                                                       for held in (self.present, self.marked, self.records))
        self.present[hosts] = True
        self.marked[hosts[marked]] = True
        np.add.at(self.records, hosts, records)


def _window_hosts(conn: sqlite3.Connection, since: int, until: int) -> _Cells:
    """The window's cells summed per host, one day's once-seen arrays at a time (a window holds millions)."""
    import numpy as np

    size = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM names").fetchone()[0])
    found = _Cells(np.zeros(size, bool), np.zeros(size, bool), np.zeros(size, np.int64), (None, None))
    host, mark, count = int_columns(conn, "SELECT group_concat(host), group_concat(role != 0 OR api_calls > 0),"
                                          " group_concat(count + answers) FROM host_days WHERE day BETWEEN ? AND ?",
                                    (since, until))
    found.add(host, mark > 0, count)
    first, last = conn.execute("SELECT min(first), max(coalesce(last, first)) FROM host_days"
                               " WHERE day BETWEEN ? AND ?", (since, until)).fetchone()
    for day, _input, columns in once_arrays(conn, ("hosts", "roles", "answers", "times"), since, until):
        hosts = columns["hosts"].astype(np.int64)
        found.add(hosts, columns["roles"] > 0, columns["answers"].astype(np.int64) + 1)
        if len(hosts):  # as cells.once_cells reads a time
            times = columns["times"]
            early, late = day * 86_400 + int(times.min()) / 1000, day * 86_400 + int(times.max()) / 1000
            first = early if first is None else min(early, first)
            last = late if last is None else max(late, last)
    found.span = (first, last)
    return found


def _held_names(conn: sqlite3.Connection, store: EvidenceStore, since: int, until: int) -> set[str]:
    """Hosts the evidence already holds or names (references, edge ends, blocked groups) and the window's
    blocked hosts: kept whatever their role."""
    held = set(store.activity.keys()) | set(store.blocked_groups) | store.kept_anyway
    held.update(host for (host,) in conn.execute("SELECT DISTINCT host FROM blocked_days WHERE day BETWEEN ? AND ?",
                                                 (day_text(since), day_text(until))))
    return held


def use_focus(conn: sqlite3.Connection, found: Focus) -> None:
    """Make the focus's hosts the `temp.focus_hosts` table the readers filter the window's edges with."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS focus_hosts (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.focus_hosts")
    conn.executemany("INSERT INTO temp.focus_hosts VALUES (?)", ((int(i),) for i in found.hosts))
