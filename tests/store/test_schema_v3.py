"""Schema 3: names interned, answers folded into their queries, hosts seen once a day kept in compressed arrays.

tests/fixtures/store/v2/regaudit-v2.db was written by regaudit's schema-2 code (`SOURCE_DATE_EPOCH=1778000000
regaudit ingest dns-2026-05.log build-job.log --allowlist allow.txt`, before schema 3) from the files beside it:
quay.io looked up twice on 2026-05-01 (two clients) and once on 2026-05-02, cdn.quay.io once through a CNAME to
d2z4a3b9x0w8.cloudfront.net, ghcr.io once (AAAA, no answer), a telemetry name once, intranet.example.org once,
old.registry.example.com once on 2026-05-03, and two RAM refusals of docker.elastic.co in a build log.
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
from tests.store.logs import ZEEK_HEADER, epoch, write_zeek

V2 = REPO_ROOT / "tests" / "fixtures" / "store" / "v2"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env={"REGAUDIT_STORE": "", "SOURCE_DATE_EPOCH": "1778000000"},
                                catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _v2_rows(store: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        inputs = dict(conn.execute("SELECT id, display || char(0) || kind FROM inputs").fetchall())
        cells = []
        for day, host, kind, input_id, role, count, api, first, last, clients, sample in conn.execute(
                "SELECT day, host, kind, input_id, role, count, api_calls, first, last, clients, sample FROM host_days"
                " ORDER BY day, host, kind"):
            value = json.loads(sample)
            path, parser = inputs[input_id].split("\0")
            key = [path, *value, parser] if len(value) == 2 else value
            cells.append((day, host, kind, role, count, api, first, last, tuple(clients.split("\n")) if clients
                          else (), key))
        edges = conn.execute("SELECT day, from_host, to_host, via, confidence, count, first, last FROM edges"
                             " ORDER BY day, from_host").fetchall()
    return cells, edges


def test_a_schema_2_store_file_is_migrated_in_place_and_answers_as_before(tmp_path: Path) -> None:
    store = tmp_path / "old.db"
    shutil.copyfile(V2 / "regaudit-v2.db", store)
    before, edges_before = _v2_rows(store)
    assert len(before) == 14 and len(edges_before) == 1
    facts = json.loads(run("store", "info", "--store", str(store), "--format", "json"))
    assert facts["schema_version"] == SCHEMA_VERSION and facts["inputs_ok"] == 2 and facts["allowlist_versions"] == 1
    # 14 cells as schema 2 counted them; 4 of the answers were folded into their query's row, and 8 of the 10
    # stored cells are hosts seen once that day (all but quay.io's two lookups of 2026-05-01)
    assert facts["host_day_rows"] == 14 and facts["once_seen_cells"] == 8
    assert facts["uses_by_role"] == {"": 3, "cdn": 1, "registry": 4} and facts["hosts"] == 7
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"names", "host_days", "once_days", "edges"} <= tables and "host_days_v2" not in tables
        after = [(r.day, r.host, r.kind, r.role, r.count, r.api_calls, r.first, r.last, r.clients, r.sample)
                 for r in named_cells(conn).itertuples()]
        edges_after = conn.execute("SELECT day, from_host, to_host, via, confidence, count, first, last"
                                   " FROM edge_rows ORDER BY day, from_host").fetchall()
    assert after == before  # every cell back exactly: counts, times, clients, roles, samples
    assert edges_after == edges_before

    quay = json.loads(run("history", "quay.io", "--store", str(store), "--format", "json"))[0]
    assert [(d["day"], d["uses"], d["clients"], d["hosts"], d["roles"]) for d in quay["days"]] == [
        ("2026-05-01", 3, 2, ["cdn.quay.io", "quay.io"], ["cdn", "registry"]),
        ("2026-05-02", 1, 1, ["quay.io"], ["registry"])]
    elastic = json.loads(run("history", "docker.elastic.co", "--store", str(store), "--format", "json"))[0]
    assert elastic["total_blocked"] == 2 and elastic["days"][0]["blocked"] == {"ram-registry": 2}

    report = tmp_path / "a.json"
    run("audit", "--store", str(store), "--allowlist", str(V2 / "allow.txt"), "--window", "90d", "--as-of",
        "2026-08-15", "--json", str(report))
    unused = sorted(f["detail"] for f in json.loads(report.read_text())["findings"] if f["kind"] == "unused")
    window = "No use in the 90 days from 2026-05-17 to 2026-08-15"
    assert unused == [f"{window}; last used 2026-05-01 by 1 client (ghcr.io).",
                      f"{window}; last used 2026-05-02 by 1 client (quay.io).",
                      f"{window}; last used 2026-05-03 by 1 client (old.registry.example.com).",
                      f"{window}; never seen since the store began on 2026-05-01."]
    # what schema 2 ingested is still known: each byte once across the migration
    shutil.copyfile(V2 / "dns-2026-05.log", tmp_path / "again.log")
    assert run("ingest", str(tmp_path / "again.log"), "--store", str(store)).startswith("already")


def _tail_day(path: Path, day: str, once: list[str], popular: int = 30) -> Path:
    """A day of lookups: ghcr.io by POPULAR clients, and each ONCE name looked up once."""
    lookups = [(f"{day}T08:{n:02d}:00", f"10.0.1.{n}", "ghcr.io") for n in range(popular)]
    lookups += [(f"{day}T12:00:0{n}", "10.0.9.9", name) for n, name in enumerate(once)]
    return write_zeek(path, lookups)


def test_the_long_tail_roll_up_keeps_history_and_last_use_exact(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    tail = {"2026-03-01": ["x1.tele.example.net", "gone.example.org"], "2026-03-04": ["x1.tele.example.net"]}
    for day in days:
        log = _tail_day(tmp_path / f"dns-{day}.log", day, [*tail.get(day, []), f"noise{day[-1]}.example.com"])
        assert run("ingest", str(log), "--store", str(store)).startswith("ingested")
    facts = json.loads(run("store", "info", "--store", str(store), "--format", "json"))
    assert facts["once_seen_cells"] == 8  # the tail: 3 names over 2 days, and one noise name a day
    with sqlite3.connect(store) as conn:  # the one-off host is not a row of its own: it is in the arrays
        regular = {h for (h,) in conn.execute("SELECT DISTINCT host FROM host_day_rows")}
    assert regular == {"ghcr.io"}

    found = json.loads(run("history", "x1.tele.example.net", "--store", str(store), "--format", "json"))[0]
    assert [(d["day"], d["uses"], d["clients"], d["hosts"]) for d in found["days"]] == [
        ("2026-03-01", 1, 1, ["x1.tele.example.net"]), ("2026-03-04", 1, 1, ["x1.tele.example.net"])]
    ghcr = json.loads(run("history", "ghcr.io", "--store", str(store), "--format", "json"))[0]
    assert [d["clients"] for d in ghcr["days"]] == [30] * 5 and ghcr["total_uses"] == 150

    allow = tmp_path / "allow.txt"
    allow.write_text("ghcr.io\ntele.example.net\ngone.example.org\n", encoding="utf-8")
    report = tmp_path / "a.json"
    run("audit", "--store", str(store), "--allowlist", str(allow), "--since", "2026-03-05", "--until", "2026-03-05",
        "--as-of", "2026-03-05", "--json", str(report))
    unused = {f["entries"][0]: f for f in json.loads(report.read_text())["findings"] if f["kind"] == "unused"}
    # the last use is the one-off host's later day, 2026-03-04, not its first: a roll-up that lost that day fails
    assert unused["tele.example.net"]["data"]["last_used"] == "2026-03-04"
    assert unused["tele.example.net"]["data"]["last_used_clients"] == 1
    assert "last used 2026-03-04 by 1 client (x1.tele.example.net)" in unused["tele.example.net"]["detail"]
    assert unused["gone.example.org"]["data"]["last_used"] == "2026-03-01"
    assert "ghcr.io" not in unused


def test_a_query_and_its_answer_are_one_row_and_both_come_back(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    lines = [f"{epoch('2026-04-01T09:00:0' + str(n)):.6f}\tC{n}\t10.0.0.{n}\t4000{n}\t10.0.0.53\t53\tudp\t{n}\t0.001"
             f"\tquay.io\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t192.0.2.1,192.0.2.2\t60.0,60.0\tF\n"
             for n in range(1, 4)]
    (tmp_path / "dns.log").write_text(ZEEK_HEADER + "".join(lines), encoding="utf-8")
    run("ingest", str(tmp_path / "dns.log"), "--store", str(store))
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT host, kind, count, answers FROM host_day_rows").fetchall()
        cells = named_cells(conn)
    assert rows == [("quay.io", 0, 3, 6)]  # 3 queries, 6 answer addresses: one row
    assert sorted(zip(cells["kind"], cells["count"], strict=True)) == [("dns-answer", 6), ("dns-query", 3)]
    assert list(cells.loc[cells["kind"] == "dns-query", "clients"]) == [("10.0.0.1", "10.0.0.2", "10.0.0.3")]
