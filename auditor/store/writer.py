"""Writing one input into the store: its row and its aggregate, in one transaction.

The caller holds the write lock (`BEGIN IMMEDIATE`) around `write_input`, so a run killed mid-file
(kill -9, a full disk) leaves the store as it was before that file: SQLite's WAL rolls the open
transaction back on the next open.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.store.aggregate import Cell, InputAggregate, ObservationKey, SampleKey
from auditor.store.codec import KIND_INDEX, NO_NAME, ROLES_PENDING, Names, day_number, ms_of_day, pack_column, pack_ids

ROWS_PER_BATCH = 5_000
QUERY, ANSWER = "dns-query", "dns-answer"


@dataclass
class InputRow:
    path: str
    display: str
    kind: str
    family: str
    size: int
    content_sha256: str
    content_length: int
    start_offset: int
    ingested_at: str
    status: str = "ok"
    message: str = ""
    continues: int | None = None
    snapshot_id: int | None = None


def _json(values: Iterable[Any]) -> str:
    return json.dumps(sorted(values), ensure_ascii=False, separators=(",", ":"))


RoleOf = Callable[[str, bool], str]  # (host, seen with /v2/ requests) -> its role; the pipeline knows the roles


def no_role(_host: str, api: bool) -> str:
    return "registry" if api else ""


def write_input(conn: sqlite3.Connection, row: InputRow, agg: InputAggregate | None,
                after_batch: Callable[[int], None] = lambda _n: None, role_of: RoleOf = no_role) -> int:
    """Insert ROW and AGG (none for a failed input); the new input's id. AFTER_BATCH(rows written) is called
    between batches (tests use it to kill the process inside the transaction). ROLE_OF names each observed
    host's role (the store does not read the knowledge base: the pipeline passes it)."""
    contributed = agg.contributed() if agg is not None else {}
    if agg is not None and agg.error_samples:
        row.message = row.message or "; ".join(sorted(agg.error_samples))
    cursor = conn.execute(
        "INSERT INTO inputs (path, display, kind, family, size, content_sha256, content_length, start_offset,"
        " continues, snapshot_id, status, message, ingested_at, first_time, last_time, records, errors, contributed)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (row.path, row.display, row.kind, row.family, row.size, row.content_sha256, row.content_length,
         row.start_offset, row.continues, row.snapshot_id, row.status, row.message, row.ingested_at,
         agg.first_time if agg else None, agg.last_time if agg else None, agg.records if agg else 0,
         agg.errors if agg else 0, json.dumps(contributed, sort_keys=True)))
    input_id = int(cursor.lastrowid or 0)
    if agg is None:
        return input_id
    written = 0
    for sql, rows in _tables(agg, input_id, row.snapshot_id, role_of, (row.display, row.kind), conn):
        batch: list[tuple[Any, ...]] = []
        for values in rows:
            batch.append(values)
            if len(batch) >= ROWS_PER_BATCH:
                conn.executemany(sql, batch)
                written += len(batch)
                batch.clear()
                after_batch(written)
        if batch:
            conn.executemany(sql, batch)
            written += len(batch)
            after_batch(written)
    return input_id


def _tables(agg: InputAggregate, input_id: int, snapshot_id: int | None,  # type: ignore[no-untyped-def]
            role_of: RoleOf, own: tuple[str, str], conn: sqlite3.Connection):
    api_hosts = {host for (_day, host, _kind), c in agg.observations.items() if c.api_calls}
    roles = {host: role_of(host, host in api_hosts) for (_day, host, _kind) in agg.observations}
    names = Names(conn)
    names.intern(_strings(agg, roles))
    ids = names.ids
    regular: list[tuple[Any, ...]] = []
    once: dict[int, list[tuple[int, int, int, int, int, int, int]]] = {}
    for (day, host, kind), cell, answers in folded_cells(agg.observations):
        day_no = day_number(day)
        role = names.id(roles[host])
        clients = cell.clients.names
        if roles[host] != ROLES_PENDING and _seen_once(cell, day, clients, own):
            line = cell.best[1] + 1 if cell.best is not None else 0
            client = ids[next(iter(clients))] if clients else NO_NAME
            once.setdefault(day_no, []).append((ids[host], KIND_INDEX[kind], role, answers,
                                                ms_of_day(cell.first, day_no), client, line))  # type: ignore[arg-type]
            continue
        line, packet, other = _sample_parts(cell, own)
        regular.append((day_no, ids[host], KIND_INDEX[kind], input_id, role, cell.count, answers, cell.api_calls,
                        cell.first, None if cell.last == cell.first else cell.last,
                        pack_ids(ids[c] for c in clients), int(cell.clients.overflow), line, packet, other))
    regular.sort(key=lambda r: r[:4])  # in key order: the WITHOUT ROWID pages fill up instead of splitting
    yield ("INSERT INTO host_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", regular)
    yield ("INSERT INTO once_days (day, input_id, entries, hosts, kinds, roles, answers, times, clients, lines)"
           " VALUES (?,?,?,?,?,?,?,?,?,?)", (_once_row(day, input_id, sorted(entries))
                                             for day, entries in sorted(once.items())))
    yield ("INSERT INTO blocked_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           ((day, host, reason, input_id, c.count, c.first, c.last, _json(c.clients.names), int(c.clients.overflow),
             _json(c.images), _json(c.details), _json(c.samples))
            for (day, host, reason), c in sorted(agg.blocked.items())))
    yield ("INSERT INTO edges VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           sorted(((day_number(day), ids[src], ids[dst], via, input_id,
                    (c.confidence.value if c.confidence else "low"), c.count, c.first,
                    None if c.last == c.first else c.last, pack_ids(ids[n] for n in c.clients.names),
                    _json(c.details), edge_samples(c.samples, own)) for (day, src, dst, via), c in agg.edges.items()),
                  key=lambda r: r[:5]))
    yield ("INSERT INTO static_records VALUES (?,?,?,?)",
           ((input_id, snapshot_id, kind, payload) for kind, payload in sorted(agg.static)))


def _strings(agg: InputAggregate, roles: dict[str, str]) -> set[str]:
    """Every host, client and role name the rows of AGG refer to by id."""
    found = set(roles) | set(roles.values())
    for cell in agg.observations.values():
        found.update(cell.clients.names)
    for (_day, src, dst, _via), cell in agg.edges.items():
        found.update((src, dst))
        found.update(cell.clients.names)
    return found


def folded_cells(observations: dict[ObservationKey, Cell]) -> Iterator[tuple[ObservationKey, Cell, int]]:
    """Each (key, cell, answers) to store, by key: a host's dns-answer cell of the day is folded into its
    dns-query cell (ANSWERS = the answer count) where it is the same observation (same first and last time
    and sample, no client and no /v2/ request of its own: a resolver log's reply to the query line), and
    not stored apart."""
    for key, cell in sorted(observations.items()):
        day, host, kind = key
        if kind == ANSWER:
            query = observations.get((day, host, QUERY))
            if query is not None and same_observation(cell, query):
                continue
            yield key, cell, 0
        elif kind == QUERY:
            answer = observations.get((day, host, ANSWER))
            yield key, cell, answer.count if answer is not None and same_observation(answer, cell) else 0
        else:
            yield key, cell, 0


def same_observation(answer: Cell, query: Cell) -> bool:
    return (answer.api_calls == 0 and not answer.clients.names and not answer.clients.overflow
            and answer.first == query.first and answer.last == query.last and answer.best == query.best)


def _seen_once(cell: Cell, day: str, clients: set[str] | frozenset[str], own: tuple[str, str]) -> bool:
    """A cell kept in the day's once-seen arrays: one occurrence (one time, at most one client, no /v2/
    request), dated, its sample a line of the input's own file (or none)."""
    if cell.count != 1 or cell.api_calls or not day or cell.first is None or cell.last != cell.first:
        return False
    if len(clients) > 1 or cell.clients.overflow:
        return False
    best = cell.best
    return best is None or ((best[0], best[3]) == own and not best[2])


def _once_row(day: int, input_id: int, entries: list[tuple[int, ...]]) -> tuple[Any, ...]:
    columns = list(zip(*entries, strict=True))
    return (day, input_id, len(entries), pack_column(columns[0], delta=True),
            *(pack_column(column) for column in columns[1:]))


def _sample_parts(cell: Cell, own: tuple[str, str]) -> tuple[int | None, int | None, str | None]:
    """The cell's sample: (line, packet, None) when it is in the input's own file and parser (nearly always: the
    path would be most of the row), else (None, None, `[path,line,packet,parser]`)."""
    best = cell.best if cell.best is not None else min(cell.samples) if cell.samples else None
    if best is None:
        return None, None, None
    if (best[0], best[3]) == own:
        return best[1], best[2], None
    return None, None, json.dumps(best, ensure_ascii=False)


def edge_samples(samples: Iterable[SampleKey], own: tuple[str, str]) -> str:
    """An edge's samples as JSON: `[line,packet]` for one in the input's own file, else the whole key."""
    return json.dumps([[s[1], s[2]] if (s[0], s[3]) == own else list(s) for s in sorted(samples)],
                      ensure_ascii=False, separators=(",", ":"))
