"""Each stored name's verdict, decided once: the names a window read must keep although no role says so.

A window of a resolver's long tail holds a million names; screening each for a lookalike of a registry on every
audit costs tens of seconds, while each name is new only once. The pipeline's judge (it reads the knowledge base
and the lookalike rules, which the store sits below) is asked about the names added since the last judgement;
only the names it flags get a row. The judge's own version (a hash of what it decides from) is kept in `meta`:
when it changes, every name is judged again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

JUDGED_PER_TRANSACTION = 100_000  # names judged between commits: a long first judgement is resumable


@dataclass(frozen=True)
class Judge:
    """VERSION names what DECIDE decides from; DECIDE maps a name to its verdict, or None (nothing to say)."""

    version: str
    decide: Callable[[str], str | None]


def refresh(conn: sqlite3.Connection, judge: Judge, progress: Callable[[int], None] = lambda _n: None) -> int:
    """Judge the names not yet judged by JUDGE (all of them when the stored verdicts are another judge's);
    the number judged. Each batch is its own write transaction, so an interrupted refresh keeps its work."""
    judged = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            through = _through(conn, judge.version)
            batch = conn.execute("SELECT id, name FROM names WHERE id > ? ORDER BY id LIMIT ?",
                                 (through, JUDGED_PER_TRANSACTION)).fetchall()
            if batch:
                conn.executemany("INSERT OR REPLACE INTO name_verdicts (id, verdict) VALUES (?, ?)",
                                 [(i, v) for i, name in batch if (v := judge.decide(name)) is not None])
                conn.execute("UPDATE meta SET value = ? WHERE key = 'verdicts_through'", (str(batch[-1][0]),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not batch:
            return judged
        judged += len(batch)
        progress(len(batch))


def pending(conn: sqlite3.Connection, judge: Judge) -> int:
    """How many names JUDGE has not judged yet (without judging them)."""
    through = _judged_through(conn, judge.version) or 0
    return int(conn.execute("SELECT count(*) FROM names WHERE id > ?", (through,)).fetchone()[0])


def _judged_through(conn: sqlite3.Connection, version: str) -> int | None:
    """The last names id VERSION has judged, or None when the stored verdicts are another judge's."""
    stored = conn.execute("SELECT value FROM meta WHERE key = 'verdicts_judge'").fetchone()
    if stored is None or stored[0] != version:
        return None
    return int(conn.execute("SELECT value FROM meta WHERE key = 'verdicts_through'").fetchone()[0])


def _through(conn: sqlite3.Connection, version: str) -> int:
    """The last names id VERSION has judged; a store judged by another version starts over (in the caller's
    transaction)."""
    through = _judged_through(conn, version)
    if through is not None:
        return through
    conn.execute("DELETE FROM name_verdicts")
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('verdicts_judge', ?)", (version,))
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('verdicts_through', '0')")
    return 0


def flagged(conn: sqlite3.Connection) -> dict[int, str]:
    """id -> verdict of the flagged names."""
    return {int(i): str(v) for i, v in conn.execute("SELECT id, verdict FROM name_verdicts")}
