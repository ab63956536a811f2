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
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.store.cells import once_arrays
from auditor.store.codec import CHUNK, UNDATED_DAY
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
    """The focus of the window SINCE..UNTIL (day numbers), or None when it and STORE's hosts fit in LIMIT."""
    import numpy as np

    hosts, marked, records, span = _window_hosts(conn, since, until)
    distinct = np.unique(hosts)
    if len(distinct) + len(store.activity) <= limit:
        return None
    keep = np.unique(hosts[marked])
    keep = np.union1d(keep, np.fromiter(flagged(conn).keys(), dtype=np.int64))
    keep = np.union1d(keep, _covered_ids(conn, covered))
    keep = np.union1d(keep, _ids_of(conn, _held_names(conn, store, since, until)))
    edge_from, edge_to, edge_count = _edge_keys(conn, since, until)
    while True:  # the chains leaving kept hosts, to their ends
        reached = np.setdiff1d(edge_to[np.isin(edge_from, keep)], keep)
        if not len(reached):
            break
        keep = np.union1d(keep, reached)
    in_window = np.isin(distinct, keep)
    kept_records = np.isin(hosts, keep)
    return Focus(hosts=keep, distinct=len(distinct), other_hosts=int((~in_window).sum()),
                 other_records=int(records[~kept_records].sum()),
                 other_edges=int(edge_count[~np.isin(edge_from, keep)].sum()), span=span)


def _window_hosts(conn: sqlite3.Connection, since: int, until: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float | None, float | None]]:
    """Every cell's host id, whether a role or /v2/ requests mark it, and its records (answers included); the
    first and last time of them all."""
    import numpy as np

    rows = conn.execute("SELECT host, role != 0 OR api_calls > 0, count + answers FROM host_days"
                        " WHERE day BETWEEN ? AND ?", (since, until)).fetchall()
    first, last = conn.execute("SELECT min(first), max(coalesce(last, first)) FROM host_days"
                               " WHERE day BETWEEN ? AND ?", (since, until)).fetchone()
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    hosts, marked, records = [table[:, 0]], [table[:, 1] > 0], [table[:, 2]]
    for day, _input, columns in once_arrays(conn, ("hosts", "roles", "answers", "times"), since, until):
        hosts.append(columns["hosts"].astype(np.int64))
        marked.append(columns["roles"] > 0)
        records.append(columns["answers"].astype(np.int64) + 1)
        if len(columns["times"]):  # as cells.once_cells reads a time
            times = day * 86_400 + columns["times"] / 1000
            first = min(float(times.min()), first) if first is not None else float(times.min())
            last = max(float(times.max()), last) if last is not None else float(times.max())
    return np.concatenate(hosts), np.concatenate(marked), np.concatenate(records), (first, last)


def _covered_ids(conn: sqlite3.Connection, entries: Collection[str]) -> np.ndarray:
    """The ids of stored names the ENTRIES could cover (a superset: the entry, its subdomains, or a pattern's
    literal tail), in one pass over the names."""
    import numpy as np

    clauses: list[str] = []
    params: list[str] = []
    for entry in sorted({e.strip().lower().rstrip(".") for e in entries if e.strip()}):
        tail = entry.rsplit("*", 1)[1] if "*" in entry else entry
        escaped = tail.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if "*" in entry:
            clauses.append("name LIKE ? ESCAPE '\\'")
            params.append("%" + escaped)
        else:
            clauses.append("name = ? OR name LIKE ? ESCAPE '\\'")
            params += [entry, "%." + escaped]
    if not clauses:
        return np.zeros(0, dtype=np.int64)
    found: list[int] = []
    for start in range(0, len(clauses), 200):  # SQLite's expression depth: entries in batches
        part = clauses[start:start + 200]
        used = sum(c.count("?") for c in clauses[:start])
        wanted = params[used:used + sum(c.count("?") for c in part)]
        found += [i for (i,) in conn.execute(f"SELECT id FROM names WHERE {' OR '.join(part)}", wanted)]
    return np.unique(np.array(found, dtype=np.int64))


def _held_names(conn: sqlite3.Connection, store: EvidenceStore, since: int, until: int) -> set[str]:
    """Hosts the evidence already holds or names (references, edge ends, blocked groups) and the window's
    blocked hosts: kept whatever their role."""
    from auditor.store.codec import day_text

    held = set(store.activity.keys()) | set(store.blocked_groups) | store.kept_anyway
    held.update(host for (host,) in conn.execute("SELECT DISTINCT host FROM blocked_days WHERE day BETWEEN ? AND ?",
                                                 (day_text(since), day_text(until))))
    return held


def _ids_of(conn: sqlite3.Connection, names: Iterable[str]) -> np.ndarray:
    import numpy as np

    wanted = sorted(names)
    found: list[int] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found += [i for (i,) in conn.execute(f"SELECT id FROM names WHERE name IN ({','.join('?' * len(chunk))})",
                                             chunk)]
    return np.array(found, dtype=np.int64)


def _edge_keys(conn: sqlite3.Connection, since: int, until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    rows = conn.execute("SELECT from_host, to_host, count FROM edges WHERE day = ? OR day BETWEEN ? AND ?",
                        (UNDATED_DAY, since, until)).fetchall()
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def use_focus(conn: sqlite3.Connection, found: Focus) -> None:
    """Make the focus's hosts the `temp.focus_hosts` table the readers filter the window's edges with."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS focus_hosts (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.focus_hosts")
    conn.executemany("INSERT INTO temp.focus_hosts VALUES (?)", ((int(i),) for i in found.hosts))
