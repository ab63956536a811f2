"""Per-role daily aggregates (registry, cdn, ... from the knowledge base at ingest), and the current schema read from a
store file schema 1 (no roles) wrote: migrated in place (through schema 2 to 3), counts kept, roles filled in, and
its inputs still known (each byte once across the migration).

tests/fixtures/store/v1/regaudit-v1.db was written by regaudit's schema-1 code (`regaudit ingest dns-2026-05.log
--allowlist allow.txt`, before this version) from the dns-2026-05.log beside it: 2 quay.io queries, 1 cdn.quay.io,
1 intranet.example.org.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from auditor.store.reader import named_cells
from auditor.store.schema import SCHEMA_VERSION
from tests.conftest import REPO_ROOT
from tests.store.logs import write_zeek

V1 = REPO_ROOT / "tests" / "fixtures" / "store" / "v1"


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"REGAUDIT_STORE": ""}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_each_day_row_carries_the_role_its_host_plays(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    write_zeek(tmp_path / "dns.log", [("2026-06-01T10:00:00", "10.0.0.1", "quay.io"),
                                      ("2026-06-01T10:00:01", "10.0.0.1", "cdn.quay.io"),
                                      ("2026-06-01T10:00:02", "10.0.0.1", "ghcr.io"),
                                      ("2026-06-01T10:00:03", "10.0.0.1", "pkg-containers.githubusercontent.com"),
                                      ("2026-06-01T11:00:00", "10.0.0.2", "intranet.example.org")])
    run("ingest", str(tmp_path / "dns.log"), "--store", str(store))
    with sqlite3.connect(store) as conn:
        rows = named_cells(conn)
        roles = dict(rows.loc[rows["kind"] == "dns-query", ["host", "role"]].itertuples(index=False, name=None))
    assert roles == {"quay.io": "registry", "cdn.quay.io": "cdn", "ghcr.io": "registry",
                     "pkg-containers.githubusercontent.com": "blob", "intranet.example.org": ""}
    facts = json.loads(run("store", "info", "--store", str(store), "--format", "json"))
    assert facts["uses_by_role"] == {"": 1, "blob": 1, "cdn": 1, "registry": 2}
    day = json.loads(run("history", "quay.io", "--store", str(store), "--format", "json"))[0]["days"][0]
    assert day["roles"] == ["cdn", "registry"] and day["hosts"] == ["cdn.quay.io", "quay.io"]


def test_a_store_of_schema_1_is_migrated_with_its_counts_and_gets_its_roles(tmp_path: Path) -> None:
    store = tmp_path / "old.db"
    shutil.copyfile(V1 / "regaudit-v1.db", store)
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        before = conn.execute("SELECT day, host, kind, count, first, last, clients, sample FROM host_days"
                              " ORDER BY day, host, kind").fetchall()
    assert len(before) == 8  # query and answer rows of the four lookups
    facts = json.loads(run("store", "info", "--store", str(store), "--format", "json"))
    assert facts["schema_version"] == SCHEMA_VERSION == 4
    assert facts["inputs_ok"] == 1 and facts["allowlist_versions"] == 1 and facts["host_day_rows"] == 8
    assert facts["uses_by_role"] == {"": 1, "cdn": 1, "registry": 2}
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        cells = named_cells(conn)
        after = [(r.day, r.host, r.kind, r.count, r.first, r.last, "\n".join(r.clients), json.dumps(r.sample))
                 for r in cells.itertuples()]
        assert set(cells["role"]) == {"", "cdn", "registry"}  # none pending
        assert conn.execute("SELECT 1 FROM meta WHERE key = 'roles_pending'").fetchone() is None
    before = [(*row[:7], json.dumps(json.loads(row[7]))) for row in before]
    assert after == before
    # the content the old version ingested is still known; a new month adds to the old counts
    shutil.copyfile(V1 / "dns-2026-05.log", tmp_path / "again.log")
    assert run("ingest", str(tmp_path / "again.log"), "--store", str(store)).startswith("already")
    write_zeek(tmp_path / "dns-2026-06.log", [("2026-06-03T10:00:00", "10.0.0.9", "quay.io")])
    assert run("ingest", str(tmp_path / "dns-2026-06.log"), "--store", str(store)).startswith("ingested")
    found = json.loads(run("history", "quay.io", "--store", str(store), "--format", "json"))[0]
    assert [(d["day"], d["uses"], d["roles"]) for d in found["days"]] == [
        ("2026-05-01", 2, ["cdn", "registry"]), ("2026-05-02", 1, ["registry"]), ("2026-06-03", 1, ["registry"])]
    assert found["allowed_by"][0]["entries"] == ["quay.io"]


def test_the_daily_tables_are_keyed_without_rowid_on_integer_ids(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    write_zeek(tmp_path / "dns.log", [("2026-06-01T10:00:00", "10.0.0.1", "quay.io")])
    run("ingest", str(tmp_path / "dns.log"), "--store", str(store))
    with sqlite3.connect(store) as conn:
        sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                               " AND tbl_name IN ('host_days', 'edges')")}
    assert sql["host_days"].rstrip().endswith("WITHOUT ROWID") and sql["edges"].rstrip().endswith("WITHOUT ROWID")
    assert indexes == {"host_days_host"}
    assert "host INTEGER NOT NULL" in sql["host_days"] and "from_host INTEGER NOT NULL" in sql["edges"]
