"""`regaudit history` and `regaudit store info|prune`: what the store holds about a host, and about itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from auditor.core.allowlist import MatchMode, covers
from auditor.store.cells import cells, once_arrays
from auditor.store.codec import ANSWER_KINDS, UNDATED_DAY, day_number, day_text, ids_matching, names_of, unpack_ids
from auditor.store.reader import allowlist_versions, frame
from auditor.store.schema import SCHEMA_VERSION


def _normal(name: str) -> str:
    """A host or an allowlist entry as written (`*.example.com`, `Example.COM.`) -> the name it covers."""
    name = name.strip().lower().rstrip(".")
    return name[2:] if name.startswith("*.") else name


def history(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    """NAME's daily use (NAME and its subdomains), clients, blocked attempts, and the allowlist versions whose
    entries covered it."""
    host = _normal(name)
    like = "%." + host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    ids = ids_matching(conn, host)
    use = cells(conn, hosts=ids) if ids else None
    blocked = frame(conn, "SELECT day, reason, sum(count) AS count FROM blocked_days"
                          " WHERE (host = ? OR host LIKE ? ESCAPE '\\') GROUP BY day, reason ORDER BY day, reason",
                    (host, like))
    days: dict[str, dict[str, Any]] = {}
    if use is not None and not use.empty:
        names = names_of(conn, set(use["host"]) | set(use["role"]))
        for number, rows in use.groupby("day", sort=True):
            clients: set[int] = set()
            for value in rows["clients"]:
                clients.update(unpack_ids(value))
            # an answer or a CNAME is the reply to a lookup already counted as a query: not a use of its own
            uses = int(rows.loc[~rows["kind"].isin(ANSWER_KINDS), "count"].sum())
            day = day_text(int(number))
            days[day] = {"day": day, "uses": uses, "clients": len(clients),
                         "clients_more": bool((rows["clients_overflow"] > 0).any()),
                         "hosts": sorted({names[int(h)] for h in rows["host"]}),
                         "roles": sorted({names[int(r)] for r in rows["role"]} - {""}), "blocked": {}}
    for row in blocked.itertuples():
        entry = days.setdefault(row.day, {"day": row.day, "uses": 0, "clients": 0, "clients_more": False,
                                          "hosts": [], "roles": [], "blocked": {}})
        entry["blocked"][row.reason] = int(row.count)
    versions = [{"sha256": v["sha256"], "path": v["path"], "from": v["first_ingested"],
                 "entries": sorted(e for e in v["entries"] if covers(e, host, MatchMode.SUFFIX))}
                for v in allowlist_versions(conn)]
    return {"name": host, "days": [days[d] for d in sorted(days)],
            "total_uses": sum(d["uses"] for d in days.values()),
            "total_blocked": sum(sum(d["blocked"].values()) for d in days.values()),
            "allowed_by": [v for v in versions if v["entries"]],
            "not_allowed_by": [v["sha256"] for v in versions if not v["entries"]]}


def render_table(found: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for item in found:
        lines.append(f"{item['name']}: {item['total_uses']:,} uses, {item['total_blocked']:,} blocked attempts")
        if not item["days"]:
            lines.append("  never seen in the store")
        else:
            lines.append(f"  {'day':<10}  {'uses':>8}  {'clients':>7}  blocked")
            for day in item["days"]:
                blocked = ", ".join(f"{r} {n}" for r, n in sorted(day["blocked"].items())) or "-"
                clients = f"{'>' if day['clients_more'] else ''}{day['clients']}"
                lines.append(f"  {day['day']:<10}  {day['uses']:>8,}  {clients:>7}  {blocked}")
        for version in item["allowed_by"]:
            lines.append(f"  allowed by allowlist {version['sha256'][:12]} ({version['path']}, from "
                         f"{version['from']}): {', '.join(version['entries'])}")
        for sha in item["not_allowed_by"]:
            lines.append(f"  not allowed by allowlist {sha[:12]}")
        lines.append("")
    return "\n".join(lines)


def info(conn: sqlite3.Connection, path: Path) -> dict[str, Any]:
    """What the store holds. Read a day's once-seen arrays at a time: a year of them does not fit in memory
    as rows."""
    import numpy as np

    one = lambda sql, *args: conn.execute(sql, args).fetchone()  # noqa: E731
    kinds = ",".join(str(k) for k in ANSWER_KINDS)
    days = {d for (d,) in conn.execute("SELECT DISTINCT day FROM host_days WHERE day != ?", (UNDATED_DAY,))}
    # the distinct hosts as a bitmap over the (dense) name ids: a year of once-seen arrays is millions of ids
    seen = np.zeros((conn.execute("SELECT max(id) FROM names").fetchone()[0] or 0) + 1, dtype=bool)
    seen[np.fromiter((h for (h,) in conn.execute("SELECT DISTINCT host FROM host_days")), dtype=np.int64)] = True
    uses: dict[int, int] = dict(conn.execute(f"SELECT role, sum(count) FROM host_days WHERE kind NOT IN ({kinds})"
                                             " GROUP BY role").fetchall())
    cells_held = one("SELECT count(*) + coalesce(sum(answers > 0), 0) FROM host_days")[0]
    for day, _input, columns in once_arrays(conn, ("hosts", "kinds", "roles", "answers")):
        days.add(day)
        seen[columns["hosts"]] = True
        used = ~np.isin(columns["kinds"], ANSWER_KINDS)
        for role, count in zip(*np.unique(columns["roles"][used], return_counts=True), strict=True):
            uses[int(role)] = uses.get(int(role), 0) + int(count)
        cells_held += len(columns["hosts"]) + int((columns["answers"] > 0).sum())
    roles = names_of(conn, uses)
    ordered = sorted(days)
    return {
        "store": str(path),
        "schema_version": SCHEMA_VERSION,
        "size_bytes": path.stat().st_size + _size(path.with_name(path.name + "-wal")),
        "inputs_ok": one("SELECT count(*) FROM inputs WHERE status = 'ok'")[0],
        "inputs_failed": one("SELECT count(*) FROM inputs WHERE status = 'failed'")[0],
        "first_day": day_text(ordered[0]) if ordered else None, "last_day": day_text(ordered[-1]) if ordered else None,
        "days_with_use": len(ordered),
        "hosts": int(seen.sum()),
        # (day, host, kind, input) cells, a query's folded answers counted as the row of their own they were
        "host_day_rows": cells_held,
        "once_seen_cells": int(one("SELECT coalesce(sum(entries), 0) FROM once_days")[0]),
        "names": one("SELECT count(*) FROM names")[0],
        # names the judge flagged (a lookalike, a self-hosted look: kept by a window read in focus), and through
        # which names id it has judged
        "names_flagged": one("SELECT count(*) FROM name_verdicts")[0],
        "names_judged_through": int(one("SELECT value FROM meta WHERE key = 'verdicts_through'")[0]),
        "uses_by_role": {roles[r]: n for r, n in sorted(uses.items(), key=lambda item: roles[item[0]])},
        "blocked_day_rows": one("SELECT count(*) FROM blocked_days")[0],
        "edges": one("SELECT count(*) FROM edges")[0],
        "snapshots": one("SELECT count(*) FROM snapshots WHERE complete = 1")[0],
        "allowlist_versions": one("SELECT count(*) FROM allowlists")[0],
    }


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def prune(conn: sqlite3.Connection, before: str) -> int:
    """Drop the daily rows of the days before BEFORE, in one transaction; the rows removed, counted as schema 2
    stored them (a folded answer is a row of its own). The names stay: inputs and other days refer to them."""
    number = day_number(before)
    conn.execute("BEGIN IMMEDIATE")
    try:
        removed = conn.execute("SELECT count(*) + coalesce(sum(answers > 0), 0) FROM host_days WHERE day != ?"
                               " AND day < ?", (UNDATED_DAY, number)).fetchone()[0]
        for _day, _input, columns in once_arrays(conn, ("answers",), until=number - 1):
            removed += len(columns["answers"]) + int((columns["answers"] > 0).sum())
        conn.execute("DELETE FROM host_days WHERE day != ? AND day < ?", (UNDATED_DAY, number))
        conn.execute("DELETE FROM once_days WHERE day < ?", (number,))
        removed += conn.execute("DELETE FROM edges WHERE day != ? AND day < ?", (UNDATED_DAY, number)).rowcount
        removed += conn.execute("DELETE FROM blocked_days WHERE day != '' AND day < ?", (before,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return removed
