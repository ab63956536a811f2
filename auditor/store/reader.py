"""Reading the store back: windows of evidence as DataFrames (pandas.read_sql) and as evidence records.

Days are ISO dates (UTC) and compare as text. A window is inclusive at both ends.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    Confidence,
    EdgeVia,
    HostPurpose,
    HostReference,
    ImageReference,
    InputRecord,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
    Unresolved,
)
from auditor.store.aggregate import UNDATED, source_of, unpack_clients

if TYPE_CHECKING:
    import pandas as pd

    from auditor.core.evidence import EvidenceStore


@dataclass(frozen=True)
class Window:
    """The days a question is about: SINCE..UNTIL inclusive; AS_OF is "now" for the report."""

    since: date
    until: date
    as_of: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def bounds(self) -> tuple[str, str]:
        return self.since.isoformat(), self.until.isoformat()


def frame(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
    """SQL's result as a DataFrame; SQLite's own error (a damaged page ...) is raised as itself."""
    import pandas as pd

    try:
        return pd.read_sql(sql, conn, params=params)
    except pd.errors.DatabaseError as exc:
        if isinstance(exc.__cause__, sqlite3.Error):
            raise exc.__cause__ from None
        raise sqlite3.DatabaseError(str(exc)) from None


def fold_window(conn: sqlite3.Connection, window: Window, store: EvidenceStore) -> None:
    """Add the store's evidence of WINDOW to STORE: observations and blocked attempts of those days, redirect
    edges of those days (and undated ones), the latest complete repository snapshot of each root taken by
    the window's end, and the inputs that cover the window."""
    since, until = window.bounds
    _fold_observations(conn, since, until, store)
    _fold_blocked(conn, since, until, store)
    _fold_edges(conn, since, until, store)
    _fold_static(conn, until, store)
    for row in covering_inputs(conn, window).itertuples():
        # the absolute path: what reads an input again (enforcement signals) must find that file, not one
        # that happens to have the same relative name where this audit runs
        store.inputs.append(InputRecord(path=row.path, kind=row.kind, size=int(row.size),
                                        sha256=row.content_sha256, records=int(row.records), errors=int(row.errors),
                                        first_time=_float(row.first_time), last_time=_float(row.last_time),
                                        extra={"from_store": True, "ingested_at": row.ingested_at}))


def _float(value: object) -> float | None:
    import math

    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)  # type: ignore[arg-type]


def _fold_observations(conn: sqlite3.Connection, since: str, until: str, store: EvidenceStore) -> None:
    """One observation per (host, kind) of the window, with its clients: SQLite sums the days (a window of
    90 days becomes thousands of rows, not millions); the clients of distinct day cells are united here."""
    totals = frame(conn, "SELECT host, kind, sum(count) AS count, sum(api_calls) AS api_calls, min(first) AS first,"
                         " max(last) AS last, min(input_id || ' ' || sample) AS sample FROM host_days"
                         " WHERE day BETWEEN ? AND ?"
                         " GROUP BY host, kind ORDER BY host, kind", (since, until))
    if totals.empty:
        return
    inputs = {int(i): (display, kind) for i, display, kind in conn.execute("SELECT id, display, kind FROM inputs")}
    clients: dict[tuple[str, str], set[str]] = {}
    for host, kind, text in conn.execute("SELECT DISTINCT host, kind, clients FROM host_days"
                                         " WHERE day BETWEEN ? AND ? AND clients != ''", (since, until)):
        held = clients.get((host, kind))
        if held is None:
            held = clients[(host, kind)] = set()
        held.update(unpack_clients(text))
    for host, kind, count, api, first, last, sample in totals.itertuples(index=False, name=None):
        obs_kind = ObservationKind(kind)
        names = sorted(clients.get((host, kind), ()))
        source = _sample_source(sample, inputs) if isinstance(sample, str) else None
        count, api = int(count), int(api)
        first, last = _float(first), _float(last)
        # no client on the timed records: a window's first use of a host is not a connection start, and the
        # timeline (where live runs infer timing edges) must not take it for one; the store's timing edges were
        # inferred at ingest and come back with the other edges
        if api:
            store.add(Observation(host, obs_kind, first, None, detail="/v2/", source=source, count=api,
                                  last_time=last))
        if count - api or not api:
            store.add(Observation(host, obs_kind, first, None, source=source, count=count - api, last_time=last))
        for client in names:  # the clients, with no count of their own
            store.add(Observation(host, obs_kind, None, client, count=0))


def _sample_source(text: str, inputs: dict[int, tuple[str, str]]) -> Source | None:
    """`INPUT_ID [line,packet]` (the input's own file and parser) or `INPUT_ID [path,line,packet,parser]`."""
    input_id, _, body = text.partition(" ")
    value = json.loads(body)
    if len(value) == 2:
        own = inputs.get(int(input_id))
        if own is None:
            return None
        value = [own[0], value[0], value[1], own[1]]
    return source_of(value)


def _fold_blocked(conn: sqlite3.Connection, since: str, until: str, store: EvidenceStore) -> None:
    rows = frame(conn, "SELECT day, host, reason, sum(count) AS count, min(first) AS first, max(last) AS last,"
                       " group_concat(clients, '\x1f') AS clients, group_concat(images, '\x1f') AS images,"
                       " group_concat(details, '\x1f') AS details, group_concat(samples, '\x1f') AS samples"
                       " FROM blocked_days WHERE day BETWEEN ? AND ? GROUP BY day, host, reason"
                       " ORDER BY host, day, reason", (since, until))
    for row in rows.itertuples():
        clients = sorted(_joined(row.clients))
        samples = sorted(tuple(s) for s in _joined(row.samples, tuples=True))
        details = sorted(_joined(row.details))
        images = sorted(_joined(row.images))
        store.add(BlockedAttempt(row.host, BlockReason(row.reason), _float(row.first), clients[0] if clients else None,
                                 details[0] if details else "", source_of(samples[0]) if samples else None,
                                 images[0] if images else None, int(row.count), _float(row.last)))
        group = store.blocked_groups.get(row.host)
        if group is not None:  # the rest of the day's clients, images, details and samples
            group.clients.update(clients[1:])
            group.images.update(images[1:])
            for detail in details[1:]:
                if detail not in group.details and len(group.details) < 5:
                    group.details.append(detail)
            for sample in samples[1:]:
                source = source_of(sample)
                if source not in group.sources and len(group.sources) < 5:
                    group.sources.append(source)


def _joined(text: str | None, tuples: bool = False) -> set:  # type: ignore[type-arg]
    found: set = set()  # type: ignore[type-arg]
    for part in (text or "").split("\x1f"):
        if part and part != "[]":
            found.update(tuple(v) if tuples else v for v in json.loads(part))
    return found


def _fold_edges(conn: sqlite3.Connection, since: str, until: str, store: EvidenceStore) -> None:
    rows = frame(conn, "SELECT from_host, to_host, via, confidence, count, first, clients, details, samples"
                       " FROM edges WHERE day = ? OR day BETWEEN ? AND ?"
                       " ORDER BY from_host, to_host, via, day", (UNDATED, since, until))
    for row in rows.itertuples():
        samples = tuple(source_of(s) for s in json.loads(row.samples))
        details = json.loads(row.details)
        clients = json.loads(row.clients)
        store.add_edge(RedirectEdge(row.from_host, row.to_host, EdgeVia(row.via), Confidence(row.confidence),
                                    samples, "; ".join(details), _float(row.first),
                                    clients[0] if clients else None), count=int(row.count))


def _fold_static(conn: sqlite3.Connection, until: str, store: EvidenceStore) -> None:
    cursor = conn.execute(
        "SELECT s.kind, s.payload FROM static_records s JOIN inputs i ON i.id = s.input_id"
        " WHERE substr(i.ingested_at, 1, 10) <= ? AND (s.snapshot_id IS NULL OR s.snapshot_id IN ("
        "  SELECT max(id) FROM snapshots WHERE complete = 1 AND substr(started_at, 1, 10) <= ? GROUP BY root))"
        " ORDER BY s.rowid", (until, until))
    for kind, payload in cursor:
        body = json.loads(payload)
        source = source_of(body["source"]) if body["source"] else None
        if kind == "image":
            store.add(ImageReference(body["original"], body["registry"], body["endpoint"], body["repository"],
                                     body["tag"], body["digest"], source, body["context"]))
        elif kind == "host":
            store.add(HostReference(body["host"], HostPurpose(body["purpose"]), body["text"], source,
                                    body["context"]))
        else:
            store.add(Unresolved(body["text"], body["reason"], source, body["context"]))


# -- frames for the period questions ------------------------------------------------------------------


def covering_inputs(conn: sqlite3.Connection, window: Window) -> pd.DataFrame:
    """The inputs whose records fall in the window (and repository inputs of the snapshots in force)."""
    since, until = window.bounds
    return frame(conn, "SELECT id, path, display, kind, size, content_sha256, records, errors, first_time, last_time,"
                       " ingested_at FROM inputs WHERE status = 'ok' AND ("
                       "  (first_time IS NOT NULL AND date(first_time, 'unixepoch') <= ?"
                       "   AND date(last_time, 'unixepoch') >= ?)"
                       "  OR snapshot_id IN (SELECT max(id) FROM snapshots WHERE complete = 1"
                       "   AND substr(started_at, 1, 10) <= ? GROUP BY root))"
                       " ORDER BY first_time, display, id", (until, since, until))


def last_use(conn: sqlite3.Connection, until: str) -> pd.DataFrame:
    """Per observed host, the last day it was seen up to UNTIL."""
    return frame(conn, "SELECT host, max(day) AS last_day FROM host_days WHERE day != ? AND day <= ?"
                       " GROUP BY host ORDER BY host", (UNDATED, until))


def clients_on(conn: sqlite3.Connection, hosts: list[str], day: str) -> tuple[int, bool]:
    """Distinct clients of HOSTS on DAY (and whether that count is a floor: a cell overflowed)."""
    names: set[str] = set()
    overflow = False
    for start in range(0, len(hosts), 500):
        chunk = hosts[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for clients, more in conn.execute(f"SELECT clients, clients_overflow FROM host_days WHERE day = ?"
                                          f" AND host IN ({marks})", (day, *chunk)):
            names.update(unpack_clients(clients))
            overflow = overflow or bool(more)
    return len(names), overflow


def blocked_daily(conn: sqlite3.Connection, since: str, until: str) -> pd.DataFrame:
    return frame(conn, "SELECT day, host, reason, sum(count) AS count FROM blocked_days WHERE day BETWEEN ? AND ?"
                       " GROUP BY day, host, reason ORDER BY day, host, reason", (since, until))


def evidence_days(conn: sqlite3.Connection, since: str, until: str) -> set[str]:
    """The days in the window that hold any dated evidence."""
    days = {d for (d,) in conn.execute("SELECT DISTINCT day FROM host_days WHERE day BETWEEN ? AND ?", (since, until))}
    days |= {d for (d,) in conn.execute("SELECT DISTINCT day FROM blocked_days WHERE day BETWEEN ? AND ?",
                                         (since, until))}
    return days


def store_began(conn: sqlite3.Connection) -> str | None:
    """The first day the store holds evidence for (or its first ingest, when it holds no dated evidence)."""
    day = conn.execute("SELECT min(day) FROM (SELECT min(day) AS day FROM host_days WHERE day != ''"
                       " UNION ALL SELECT min(day) FROM blocked_days WHERE day != '')").fetchone()[0]
    if day:
        return str(day)
    first = conn.execute("SELECT min(ingested_at) FROM inputs").fetchone()[0]
    return str(first)[:10] if first else None


def allowlist_versions(conn: sqlite3.Connection) -> list[dict[str, object]]:
    return [{"sha256": sha, "path": path, "first_ingested": when, "entries": json.loads(entries)}
            for sha, path, when, entries in conn.execute(
                "SELECT sha256, path, first_ingested, entries FROM allowlists ORDER BY first_ingested, id")]


def window_ending(as_of: date, days: int) -> Window:
    """The DAYS days before AS_OF: `--window 90d --as-of 2026-12-01` is 2026-09-02 to 2026-12-01."""
    return Window(as_of - timedelta(days=days), as_of, as_of)
