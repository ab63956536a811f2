"""`regaudit history` and `regaudit store info|prune`: what the store holds about a host, and about itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from auditor.core.allowlist import MatchMode, covers
from auditor.store.aggregate import UNDATED, unpack_clients
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
    # an answer or a CNAME is the reply to a lookup already counted as a query: not a use of its own
    use = frame(conn, "SELECT day, sum(CASE WHEN kind IN ('dns-answer', 'cname') THEN 0 ELSE count END) AS count,"
                      " group_concat(DISTINCT host) AS hosts, group_concat(DISTINCT role) AS roles,"
                      " group_concat(clients, char(10)) AS clients, max(clients_overflow) AS more FROM host_days"
                      " WHERE (host = ? OR host LIKE ? ESCAPE '\\') AND day != ? GROUP BY day ORDER BY day",
                (host, like, UNDATED))
    blocked = frame(conn, "SELECT day, reason, sum(count) AS count FROM blocked_days"
                          " WHERE (host = ? OR host LIKE ? ESCAPE '\\') GROUP BY day, reason ORDER BY day, reason",
                    (host, like))
    days: dict[str, dict[str, Any]] = {}
    for row in use.itertuples():
        names = set(unpack_clients(row.clients)) - {""}
        days[row.day] = {"day": row.day, "uses": int(row.count), "clients": len(names),
                         "clients_more": bool(row.more), "hosts": sorted(set(row.hosts.split(","))),
                         "roles": sorted(set((row.roles or "").split(",")) - {""}), "blocked": {}}
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
    one = lambda sql: conn.execute(sql).fetchone()  # noqa: E731
    days = one("SELECT min(day), max(day), count(DISTINCT day) FROM host_days WHERE day != ''")
    return {
        "store": str(path),
        "schema_version": SCHEMA_VERSION,
        "size_bytes": path.stat().st_size + _size(path.with_name(path.name + "-wal")),
        "inputs_ok": one("SELECT count(*) FROM inputs WHERE status = 'ok'")[0],
        "inputs_failed": one("SELECT count(*) FROM inputs WHERE status = 'failed'")[0],
        "first_day": days[0], "last_day": days[1], "days_with_use": days[2],
        "hosts": one("SELECT count(DISTINCT host) FROM host_days")[0],
        "host_day_rows": one("SELECT count(*) FROM host_days")[0],
        "uses_by_role": dict(conn.execute(  # queries and requests, not the answers to them (as history counts)
            "SELECT role, sum(count) FROM host_days WHERE kind NOT IN ('dns-answer', 'cname')"
            " GROUP BY role ORDER BY role").fetchall()),
        "blocked_day_rows": one("SELECT count(*) FROM blocked_days")[0],
        "edges": one("SELECT count(*) FROM edges")[0],
        "snapshots": one("SELECT count(*) FROM snapshots WHERE complete = 1")[0],
        "allowlist_versions": one("SELECT count(*) FROM allowlists")[0],
    }


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def prune(conn: sqlite3.Connection, before: str) -> int:
    """Drop the daily rows of the days before BEFORE, in one transaction; the rows removed."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        removed = 0
        for table in ("host_days", "blocked_days", "edges"):
            removed += conn.execute(f"DELETE FROM {table} WHERE day != '' AND day < ?", (before,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return removed
