"""Writing one input into the store: its row and its aggregate, in one transaction.

The caller holds the write lock (`BEGIN IMMEDIATE`) around `write_input`, so a run killed mid-file
(kill -9, a full disk) leaves the store as it was before that file: SQLite's WAL rolls the open
transaction back on the next open.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auditor.store.aggregate import Cell, InputAggregate, pack_clients

ROWS_PER_BATCH = 5_000


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
    for sql, rows in _tables(agg, input_id, row.snapshot_id, role_of, (row.display, row.kind)):
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
            role_of: RoleOf, own: tuple[str, str]):
    api_hosts = {host for (_day, host, _kind), c in agg.observations.items() if c.api_calls}
    roles: dict[str, str] = {}

    def role(host: str) -> str:
        found = roles.get(host)
        if found is None:
            found = roles[host] = role_of(host, host in api_hosts)
        return found

    yield ("INSERT INTO host_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           ((day, host, kind, input_id, role(host), c.count, c.api_calls, c.first, c.last,
             pack_clients(c.clients.names), int(c.clients.overflow), _first_sample(c, own))
            for (day, host, kind), c in sorted(agg.observations.items())))
    yield ("INSERT INTO blocked_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           ((day, host, reason, input_id, c.count, c.first, c.last, _json(c.clients.names), int(c.clients.overflow),
             _json(c.images), _json(c.details), _json(c.samples))
            for (day, host, reason), c in sorted(agg.blocked.items())))
    yield ("INSERT INTO edges VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
           ((day, src, dst, via, input_id, (c.confidence.value if c.confidence else "low"), c.count, c.first, c.last,
             _json(c.clients.names), _json(c.details), _json(c.samples)) for (day, src, dst, via), c
            in sorted(agg.edges.items())))
    yield ("INSERT INTO static_records VALUES (?,?,?,?)",
           ((input_id, snapshot_id, kind, payload) for kind, payload in sorted(agg.static)))


def _first_sample(cell: Cell, own: tuple[str, str]) -> str | None:
    """The cell's sample; `[line, packet]` when it is in the input's own file and parser (nearly always: the
    path would be most of the row), else `[path, line, packet, parser]`."""
    best = cell.best if cell.best is not None else min(cell.samples) if cell.samples else None
    if best is None:
        return None
    if (best[0], best[3]) == own:
        return f"[{best[1]},{best[2]}]"
    return json.dumps(best, ensure_ascii=False)
