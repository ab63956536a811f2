"""The role each observed host plays in the store's daily rows (registry, auth, cdn, blob, ...).

The store does not read the knowledge base (it sits below it); the pipeline names the roles when it writes,
and fills in the rows of a store migrated from schema version 1, which kept no roles.
"""

from __future__ import annotations

import sqlite3

from auditor.store.schema import ROLES_PENDING


class HostRoles:
    """The role each observed host plays, from the knowledge base (loaded on first use): `registry` for an API
    host (or any host seen with /v2/ requests), else the knowledge base's first role for it (auth, cdn, blob,
    storage, ...), else '' (a host no registry is known to use)."""

    def __init__(self) -> None:
        self._knowledge = None

    def __call__(self, host: str, api: bool) -> str:
        if self._knowledge is None:
            from auditor.knowledge import load_knowledge

            self._knowledge = load_knowledge()  # type: ignore[assignment]
        found = self._knowledge.match(host)  # type: ignore[attr-defined]
        role = found.roles[0] if found is not None else ""
        return "registry" if role == "api" or (api and not role) else role


def fill_pending_roles(conn: sqlite3.Connection, role_of: HostRoles) -> int:
    """Give the rows a version-1 store held (migrated with the role pending) their role; the hosts done. The
    meta mark makes this one look-up on every later open, not a scan."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'roles_pending'").fetchone() is None:
        return 0
    from auditor.store.codec import Names, names_of

    pending = conn.execute("SELECT id FROM names WHERE name = ?", (ROLES_PENDING,)).fetchone()
    rows = [] if pending is None else conn.execute(
        "SELECT host, max(api_calls) FROM host_days WHERE role = ? GROUP BY host", pending).fetchall()
    hosts = names_of(conn, [h for h, _api in rows])

    def fill() -> None:
        roles = {host: role_of(hosts[host], bool(api)) for host, api in rows}
        names = Names(conn)
        names.intern(roles.values())
        conn.executemany("UPDATE host_days SET role = ? WHERE host = ? AND role = ?",
                         [(names.id(role), host, pending[0]) for host, role in roles.items()])
        conn.execute("DELETE FROM meta WHERE key = 'roles_pending'")

    conn.execute("BEGIN IMMEDIATE")
    try:
        fill()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)
