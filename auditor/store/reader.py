"""Reading the store back: windows of evidence as DataFrames (pandas.read_sql) and as evidence records.

Days are ISO dates (UTC) and compare as text. A window is inclusive at both ends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
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
from auditor.store.aggregate import source_of
from auditor.store.cells import cells, frame, with_answers
from auditor.store.codec import (
    KINDS,
    UNDATED_DAY,
    day_number,
    day_text,
    ids_matching,
    ids_under,
    names_of,
    unpack_ids,
)
from auditor.store.window_focus import Focus, focus, use_focus

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


def fold_window(conn: sqlite3.Connection, window: Window, store: EvidenceStore, covered: Collection[str] = ()
                ) -> None:
    """Add the store's evidence of WINDOW to STORE: observations and blocked attempts of those days, redirect
    edges of those days (and undated ones), the latest complete repository snapshot of each root taken by
    the window's end, and the inputs that cover the window. A window with more hosts than the evidence store
    keeps is read in focus (window_focus.py): the hosts an allowlist decision can use, among them those the
    allowlist entries COVERED could cover, and a count of the rest."""
    from auditor.core import evidence

    since, until = window.bounds
    _fold_static(conn, until, store)  # first: a reference keeps its host in focus
    found = focus(conn, day_number(since), day_number(until), store, covered, evidence.MAX_HOSTS)
    if found is not None:
        use_focus(conn, found)
    store.remember_refusals(True)
    try:
        _fold_observations(conn, since, until, store, found)
        _fold_blocked(conn, since, until, store)
        _fold_edges(conn, since, until, store, found)
    finally:
        store.remember_refusals(False)
    if found is not None:
        store.counted_span = found.span
        kept = found.distinct - found.other_hosts
        store.count_unlisted({"observations": found.other_records, "redirect edges": found.other_edges}, (
            f"the window {since} to {until} holds {found.distinct:,} distinct hosts, more than the "
            f"{evidence.MAX_HOSTS:,} an audit keeps: the {kept:,} an allowlist decision can use (a registry role, "
            "/v2/ requests, a lookalike or self-hosted look, a name an entry covers, a referenced or blocked host, "
            f"the redirect chains from those) are kept; the other {found.other_hosts:,} hosts, with "
            f"{found.other_records:,} records and {found.other_edges:,} redirect edge records, are counted, not "
            "listed"))
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


def _fold_observations(conn: sqlite3.Connection, since: str, until: str, store: EvidenceStore,
                       found_focus: Focus | None = None) -> None:
    """One observation per (host, kind) of the window, with its clients: the window's cells are read on their
    integer keys (pandas.read_sql and the once-seen arrays), summed per (host, kind) in pandas, and the names
    joined once at the end (a window of 90 days becomes thousands of observations, not millions of rows).

    Past the evidence store's host limit the store keeps only the hosts worth keeping: those it would refuse
    are counted here in bulk (`EvidenceStore.new_hosts_kept`, `refuse`), not made into records one by one (a
    year of a resolver's long tail names millions of them), with the same outcome."""
    import numpy as np

    found = cells(conn, day_number(since), day_number(until),
                  None if found_focus is None else found_focus.hosts.tolist())
    if found.empty:
        return
    found = with_answers(found)
    keys = ["host", "kind"]
    totals = found.groupby(keys, sort=False).agg(count=("count", "sum"), api_calls=("api_calls", "sum"),
                                                 first=("first", "min"), last=("last", "max")).reset_index()
    names = names_of(conn, totals["host"].unique())
    totals["name"] = totals["host"].map(names)
    totals["kind_name"] = np.array(KINDS, dtype=object)[totals["kind"].to_numpy(dtype=np.int64)]
    totals = totals.sort_values(["name", "kind_name"], kind="stable")
    if found_focus is not None:  # the reader chose them: kept as referenced hosts are (up to twice the limit)
        store.kept_anyway.update(totals["name"])
    kept = store.new_hosts_kept(totals["name"].drop_duplicates())
    is_kept = totals["name"].isin(kept).to_numpy()
    refused = totals[~is_kept]
    # the refused rows up to the first that counts a record are added as they are (the store reports that one
    # as an error); the rest only add to the count of records not kept
    early = refused.iloc[:0]
    if len(refused) and not store.not_kept["observations"]:
        positive = np.flatnonzero(refused["count"].to_numpy() > 0)
        early = refused.iloc[:positive[0] + 1] if len(positive) else refused
    rest = refused.iloc[len(early):]
    totals = _concat(totals[is_kept], early)
    wanted = set(totals["host"])
    found = found[found["host"].isin(wanted)]
    sampled = found[found["sample_line"].notna() | found["sample"].notna()]
    samples = (sampled.sort_values(["input_id", "sample_line", "sample_packet"], kind="stable", na_position="last")
               .drop_duplicates(keys).set_index(keys)[["input_id", "sample_line", "sample_packet", "sample"]])
    totals = totals.set_index(keys).join(samples).reset_index()
    clients = _client_sets(found)
    names.update(names_of(conn, {c for held in clients.values() for c in held}))
    totals = totals.sort_values(["name", "kind_name"], kind="stable")
    inputs = {int(i): (display, kind) for i, display, kind in conn.execute("SELECT id, display, kind FROM inputs")}
    for row in totals.itertuples(index=False):
        obs_kind = ObservationKind(row.kind_name)
        held = sorted(names[c] for c in clients.get((row.host, row.kind), ()))
        source = _cell_source(row, inputs)
        count, api = int(row.count), int(row.api_calls)
        first, last = _float(row.first), _float(row.last)
        # no client on the timed records: a window's first use of a host is not a connection start, and the
        # timeline (where live runs infer timing edges) must not take it for one; the store's timing edges were
        # inferred at ingest and come back with the other edges
        if api:
            store.add(Observation(row.name, obs_kind, first, None, detail="/v2/", source=source, count=api,
                                  last_time=last))
        if count - api or not api:
            store.add(Observation(row.name, obs_kind, first, None, source=source, count=count - api,
                                  last_time=last))
        for client in held:  # the clients, with no count of their own
            store.add(Observation(row.name, obs_kind, None, client, count=0))
    if len(rest):
        store.refuse("observations", int(rest["count"].sum()), None)


def _concat(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([first, second]) if len(second) else first


def _client_sets(found: pd.DataFrame) -> dict[tuple[int, int], set[int]]:
    held: dict[tuple[int, int], set[int]] = {}
    with_clients = found[found["clients"].notna()]
    for host, kind, value in zip(with_clients["host"], with_clients["kind"], with_clients["clients"], strict=True):
        ids = unpack_ids(value)
        if ids:
            key = (int(host), int(kind))
            bucket = held.get(key)
            if bucket is None:
                bucket = held[key] = set()
            bucket.update(ids)
    return held


def _cell_source(row: object, inputs: dict[int, tuple[str, str]]) -> Source | None:
    """A cell's sample: a line (and packet) of its input's own file, or the JSON key of another."""
    other = row.sample
    if isinstance(other, str):
        return source_of(json.loads(other))
    line = row.sample_line
    if line is None or line != line:
        return None
    own = inputs.get(int(row.input_id))
    if own is None:
        return None
    packet = row.sample_packet
    return source_of([own[0], int(line), int(packet) if packet == packet and packet is not None else 0, own[1]])


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


def _fold_edges(conn: sqlite3.Connection, since: str, until: str, store: EvidenceStore,
                found_focus: Focus | None = None) -> None:
    # in focus, only the edges leaving a kept host (the others are counted by the focus)
    only = "" if found_focus is None else " AND from_host IN (SELECT id FROM temp.focus_hosts)"
    rows = conn.execute("SELECT day, from_host, to_host, via, confidence, count, first, clients, details, samples,"
                        f" input_id FROM edges WHERE (day = ? OR day BETWEEN ? AND ?){only}",
                        (UNDATED_DAY, day_number(since), day_number(until))).fetchall()
    if not rows:
        return
    names = names_of(conn, {r[1] for r in rows} | {r[2] for r in rows} | {c for r in rows for c in unpack_ids(r[7])})
    inputs = {int(i): (display, kind) for i, display, kind in conn.execute("SELECT id, display, kind FROM inputs")}
    # day numbers order as their dates do (the undated day first, as its empty text)
    for row in sorted(rows, key=lambda r: (names[r[1]], names[r[2]], r[3], r[0])):
        _day, src, dst, via, confidence, count, first, clients, details, samples, input_id = row
        if _refused_edge(store, names[src], names[dst], EdgeVia(via), int(count)):
            continue
        own = inputs.get(int(input_id), ("", ""))
        sources = tuple(source_of(s if len(s) == 4 else [own[0], s[0], s[1], own[1]]) for s in json.loads(samples))
        held = sorted(names[c] for c in unpack_ids(clients))
        store.add_edge(RedirectEdge(names[src], names[dst], EdgeVia(via), Confidence(confidence), sources,
                                    "; ".join(json.loads(details)), _float(first), held[0] if held else None),
                       count=int(count))


def _refused_edge(store: EvidenceStore, src: str, dst: str, via: EdgeVia, count: int) -> bool:
    """Whether the edge is one the store would refuse, past its limit and once it has reported that: then it is
    only counted, as add_edge would count it (a year's tail has hundreds of thousands of CNAME edges)."""
    if not store.not_kept["redirect edges"] or (src, dst, via) in store.edges or store.has_room(store.edges,
                                                                                                 (src, dst)):
        return False
    store.refuse("redirect edges", count, None)
    return True


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


def last_use(conn: sqlite3.Connection, until: str, entries: Collection[str] | None = None) -> pd.DataFrame:
    """Per observed host, the last day it was seen up to UNTIL: of every host, or (ENTRIES) of the hosts whose
    names could be covered by one of those allowlist entries (a superset, by the entry's literal tail: the
    decision applies its own matching)."""
    import pandas as pd

    hosts = None if entries is None else ids_under(conn, entries).tolist()
    if hosts is not None and not hosts:
        return pd.DataFrame({"host": pd.Series(dtype="object"), "last_day": pd.Series(dtype="object")})
    found = cells(conn, until=day_number(until), hosts=hosts)
    last = found.groupby("host")["day"].max()
    names = names_of(conn, last.index)
    result = pd.DataFrame({"host": [names[int(h)] for h in last.index], "last_day": [day_text(d) for d in last]})
    return result.sort_values("host", kind="stable", ignore_index=True)


def clients_on(conn: sqlite3.Connection, hosts: list[str], day: str) -> tuple[int, bool]:
    """Distinct clients of HOSTS on DAY (and whether that count is a floor: a cell overflowed)."""
    wanted = {i for host in hosts for i in ids_matching(conn, host, subdomains=False)}
    if not wanted:
        return 0, False
    number = day_number(day)
    found = cells(conn, number, number, wanted)
    ids: set[int] = set()
    for value in found["clients"]:
        ids.update(unpack_ids(value))
    return len(ids), bool((found["clients_overflow"] > 0).any())


def blocked_daily(conn: sqlite3.Connection, since: str, until: str) -> pd.DataFrame:
    return frame(conn, "SELECT day, host, reason, sum(count) AS count FROM blocked_days WHERE day BETWEEN ? AND ?"
                       " GROUP BY day, host, reason ORDER BY day, host, reason", (since, until))


def evidence_days(conn: sqlite3.Connection, since: str, until: str) -> set[str]:
    """The days in the window that hold any dated evidence."""
    bounds = (day_number(since), day_number(until))
    numbers = {d for (d,) in conn.execute("SELECT DISTINCT day FROM host_days WHERE day BETWEEN ? AND ?", bounds)}
    numbers |= {d for (d,) in conn.execute("SELECT DISTINCT day FROM once_days WHERE day BETWEEN ? AND ?", bounds)}
    days = {day_text(d) for d in numbers}
    days |= {d for (d,) in conn.execute("SELECT DISTINCT day FROM blocked_days WHERE day BETWEEN ? AND ?",
                                         (since, until))}
    return days


def store_began(conn: sqlite3.Connection) -> str | None:
    """The first day the store holds evidence for (or its first ingest, when it holds no dated evidence)."""
    numbers = [d for (d,) in conn.execute("SELECT min(day) FROM host_days WHERE day != ? UNION ALL"
                                          " SELECT min(day) FROM once_days", (UNDATED_DAY,)) if d is not None]
    days = [day_text(d) for d in numbers]
    blocked = conn.execute("SELECT min(day) FROM blocked_days WHERE day != ''").fetchone()[0]
    if blocked:
        days.append(str(blocked))
    if days:
        return min(days)
    first = conn.execute("SELECT min(ingested_at) FROM inputs").fetchone()[0]
    return str(first)[:10] if first else None


def allowlist_versions(conn: sqlite3.Connection) -> list[dict[str, object]]:
    return [{"sha256": sha, "path": path, "first_ingested": when, "entries": json.loads(entries)}
            for sha, path, when, entries in conn.execute(
                "SELECT sha256, path, first_ingested, entries FROM allowlists ORDER BY first_ingested, id")]


def window_ending(as_of: date, days: int) -> Window:
    """The DAYS days before AS_OF: `--window 90d --as-of 2026-12-01` is 2026-09-02 to 2026-12-01."""
    return Window(as_of - timedelta(days=days), as_of, as_of)


def named_cells(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every stored observation cell as schema 2 kept its rows (a folded answer as its own dns-answer row), with
    names, day and kind as text: day, host, kind, role, count, api_calls, first, last, clients (sorted names),
    clients_overflow, sample ([path, line, packet, parser] or None). For `store` inspection and tests."""
    found = with_answers(cells(conn))
    ids = set(found["host"]) | set(found["role"])
    clients = [unpack_ids(v) for v in found["clients"]]
    names = names_of(conn, ids | {c for held in clients for c in held})
    inputs = {int(i): (display, kind) for i, display, kind in conn.execute("SELECT id, display, kind FROM inputs")}
    samples = []
    for row in found.itertuples(index=False):
        source = _cell_source(row, inputs)
        samples.append([source.path, source.line or 0, source.packet or 0, source.parser] if source else None)
    named = found.assign(
        day=[day_text(int(d)) for d in found["day"]], host=[names[int(h)] for h in found["host"]],
        kind=[KINDS[int(k)] for k in found["kind"]], role=[names[int(r)] for r in found["role"]],
        clients=[tuple(sorted(names[c] for c in held)) for held in clients], sample=samples)
    columns = ["day", "host", "kind", "role", "count", "api_calls", "first", "last", "clients", "clients_overflow",
               "sample"]
    return named[columns].sort_values(["day", "host", "kind"], kind="stable", ignore_index=True)
