"""Schema 2 -> 3 in place: the daily rows of a version-2 store rewritten with interned names, day numbers,
answers folded into their queries and once-seen cells in column arrays.

Each input's version-2 rows are turned back into the cells they were written from (count, /v2/ count,
first/last, clients, the sample) and written by the version-3 writer, so a migrated store holds what a
version-3 ingest of the same inputs would. Runs inside the migration's transaction: a failure leaves the
version-2 store as it was.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from auditor.core.model import Confidence
from auditor.store.aggregate import Cell, Clients, InputAggregate, unpack_clients


def migrate_v2_rows(conn: sqlite3.Connection, create: list[str]) -> None:
    from auditor.store.writer import _tables

    conn.execute("DROP INDEX host_days_host")
    conn.execute("ALTER TABLE host_days RENAME TO host_days_v2")
    conn.execute("ALTER TABLE edges RENAME TO edges_v2")
    for statement in create:
        conn.execute(statement)
    inputs = {i: (display, kind) for i, display, kind in conn.execute("SELECT id, display, kind FROM inputs")}
    ids = sorted({i for (i,) in conn.execute("SELECT DISTINCT input_id FROM host_days_v2 UNION"
                                             " SELECT DISTINCT input_id FROM edges_v2")})
    for input_id in ids:
        own = inputs.get(input_id, ("", ""))
        agg, roles = _aggregate(conn, input_id, own)
        for sql, rows in _tables(agg, input_id, None, lambda host, _api, held=roles: held.get(host, ""), own, conn):
            conn.executemany(sql, list(rows))
    conn.execute("DROP TABLE host_days_v2")
    conn.execute("DROP TABLE edges_v2")


def _clients(names: list[str], overflow: int) -> Clients:
    clients = Clients()
    for name in names:
        clients.add(name)
    clients.overflow = bool(overflow)
    return clients


def _sample(text: str | None, own: tuple[str, str]) -> tuple[Any, ...] | None:
    if not text:
        return None
    value = json.loads(text)
    return (own[0], value[0], value[1], own[1]) if len(value) == 2 else tuple(value)


def _aggregate(conn: sqlite3.Connection, input_id: int, own: tuple[str, str]
               ) -> tuple[InputAggregate, dict[str, str]]:
    agg = InputAggregate()
    roles: dict[str, str] = {}
    for day, host, kind, role, count, api, first, last, clients, overflow, sample in conn.execute(
            "SELECT day, host, kind, role, count, api_calls, first, last, clients, clients_overflow, sample"
            " FROM host_days_v2 WHERE input_id = ?", (input_id,)):
        agg.observations[(day, host, kind)] = Cell(count=count, first=first, last=last, api_calls=api,
                                                   clients=_clients(unpack_clients(clients), overflow),
                                                   best=_sample(sample, own))
        roles[host] = role
    for day, src, dst, via, confidence, count, first, last, clients, details, samples in conn.execute(
            "SELECT day, from_host, to_host, via, confidence, count, first, last, clients, details, samples"
            " FROM edges_v2 WHERE input_id = ?", (input_id,)):
        agg.edges[(day, src, dst, via)] = Cell(
            count=count, first=first, last=last, clients=_clients(json.loads(clients), 0),
            details=set(json.loads(details)), samples={tuple(s) for s in json.loads(samples)},
            confidence=Confidence(confidence))
    return agg, roles
