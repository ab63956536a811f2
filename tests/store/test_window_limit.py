"""A window with more hosts than the evidence store keeps is read in focus: exactly the hosts an allowlist
decision can use are kept, each exactly as a whole read has it, and every other host's records are counted.

The store is real (a Zeek dns.log and a CI log ingested through the CLI); the limit is lowered so that a small
window passes it, which is the one thing the test changes."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core import evidence
from auditor.core.evidence import EvidenceStore
from auditor.pipeline.collect import _known_registry_host
from auditor.pipeline.store_commands import judge_names
from auditor.store.reader import Window, fold_window
from auditor.store.schema import open_store
from tests.store.logs import ZEEK_HEADER, epoch, job_header, job_lines

DAYS = ("2026-05-01", "2026-05-02")
# what can matter, each for its own reason; the n.. names are a resolver's tail
REGISTRY, LOOKALIKE, SELF_HOSTED = "ghcr.io", "d0cker.io", "harbor.tail.example.net"
CHAINED = ("e1.edge.example", "e0.edge.example")  # the CNAME targets of ghcr.io and of the self-hosted look
COVERED, BLOCKED = "n07.tail.example.net", "n09.tail.example.net"
EXPECTED = {"registry-1.docker.io", REGISTRY, *CHAINED, LOOKALIKE, SELF_HOSTED, COVERED, BLOCKED}
ENV = {"REGAUDIT_STORE": "", "REGAUDIT_NOW": ""}


def _line(n: int, stamp: str, client: str, name: str, cname: str = "") -> str:
    answers = f"{cname},192.0.2.{n % 250}" if cname else f"192.0.2.{n % 250}"
    return (f"{epoch(stamp):.6f}\tC{n:05d}\t{client}\t{40000 + n}\t10.0.0.53\t53\tudp\t{n}\t0.000900\t{name}\t1"
            f"\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t60.000000\tF\n")


def _store(tmp_path: Path) -> Path:
    lines = []
    # ghcr.io (odd: with a CNAME) leads to e1.edge.example; the tail's odd names lead to e0, e1 and e2
    names = [f"n{i:02d}.tail.example.net" for i in range(30)] + ["registry-1.docker.io", REGISTRY, LOOKALIKE,
                                                                 SELF_HOSTED, "zz.tail.example.net"]
    for day in DAYS:
        for i, name in enumerate(names):
            cname = f"e{i % 3}.edge.example" if i % 2 else ""
            lines.append(_line(len(lines), f"{day}T10:{i:02d}:00", f"10.0.0.{i % 4 + 1}", name, cname))
        lines.append(_line(len(lines), f"{day}T11:00:00", "10.0.0.9", "n03.tail.example.net"))
    log = tmp_path / "dns.log"
    log.write_text(ZEEK_HEADER + "".join(lines), encoding="utf-8")
    job = tmp_path / "job.log"
    job.write_text(job_header("2026-05-02T09:00:00") + job_lines([("2026-05-02T09:01:00", BLOCKED)]),
                   encoding="utf-8")
    store = tmp_path / "regaudit.db"
    result = CliRunner().invoke(main, ["ingest", str(log), str(job), "--store", str(store)], env=ENV)
    assert result.exit_code == 0, result.output
    return store


def _folded(store_path: Path, covered: tuple[str, ...] = ()) -> EvidenceStore:
    store = EvidenceStore(worth_keeping=_known_registry_host)
    conn = open_store(store_path)
    try:
        judge_names(conn)
        fold_window(conn, Window(date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 2)), store, covered)
    finally:
        conn.close()
    return store


def _edges(store: EvidenceStore) -> list[tuple[object, ...]]:
    return [(e.from_host, e.to_host, e.via, e.count, e.first, e.clients, e.sources) for e in store.sorted_edges()]


@pytest.mark.parametrize("limit", [5, 12, 36])
def test_past_the_host_limit_the_window_keeps_what_a_decision_can_use_and_counts_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    store = _store(tmp_path)
    whole = _folded(store, (COVERED,))  # 38 hosts: under the real limit, every host is read
    assert len(whole.activity) == 38 and not whole.not_kept
    monkeypatch.setattr(evidence, "MAX_HOSTS", limit)
    focused = _folded(store, (COVERED,))
    assert set(focused.activity) == EXPECTED
    for host in EXPECTED:  # each kept host exactly as the whole read has it
        assert focused.activity[host]._fields() == whole.activity[host]._fields()
    kept_edges = [e for e in _edges(whole) if e[0] in EXPECTED]
    assert _edges(focused) == kept_edges and (REGISTRY, CHAINED[0]) in {e[:2] for e in kept_edges}
    others = [a for host, a in whole.activity.items() if host not in EXPECTED]
    assert focused.not_kept["observations"] == sum(a.count for a in others) > 0
    assert focused.not_kept["redirect edges"] == sum(e[3] for e in _edges(whole) if e[0] not in EXPECTED) > 0
    assert [e.message for e in focused.errors if "counted, not listed" in e.message] == [
        f"the window 2026-05-01 to 2026-05-02 holds 38 distinct hosts, more than the {limit:,} an audit keeps: the "
        "8 an allowlist decision can use (a registry role, /v2/ requests, a lookalike or self-hosted look, a name "
        "an entry covers, a referenced or blocked host, the redirect chains from those) are kept; the other 30 "
        f"hosts, with {sum(a.count for a in others)} records and "
        f"{sum(e[3] for e in _edges(whole) if e[0] not in EXPECTED)} redirect edge records, are counted, not listed"]
    assert set(focused.blocked_groups) == set(whole.blocked_groups) == {BLOCKED}


def _audit(store: Path, allowlist: Path, out: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["audit", "--store", str(store), "--allowlist", str(allowlist), "--since",
                                       DAYS[0], "--until", DAYS[1], "--as-of", DAYS[1], "--json", str(out),
                                       "--no-progress"], env=ENV)
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_audit_in_focus_finds_what_the_whole_window_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    store = _store(tmp_path)
    allowlist = tmp_path / "allow.txt"
    allowlist.write_text(f"ghcr.io\n{COVERED}\nunused.example.org\n", encoding="utf-8")
    whole = _audit(store, allowlist, tmp_path / "whole.json")
    monkeypatch.setattr(evidence, "MAX_HOSTS", 5)
    focused = _audit(store, allowlist, tmp_path / "focused.json")
    assert focused["findings"] == whole["findings"]
    unused = {f["entries"][0]: f for f in focused["findings"] if f["kind"] == "unused"}
    assert set(unused) == {COVERED, "unused.example.org"}
    # the tail host the entry covers is still there to say the entry saw traffic, if never a registry's
    assert any(COVERED in e["text"] for e in unused[COVERED]["evidence"])
    assert any(f["kind"] == "lookalike" and LOOKALIKE in f["hosts"] for f in focused["findings"])
    assert any("counted, not listed" in e["message"] for e in focused["errors"])
    assert not any("counted, not listed" in e["message"] for e in whole["errors"])


def test_names_are_judged_once_and_again_when_the_judge_changes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with sqlite3.connect(store) as conn:  # ingest judged the names it added
        judged = dict(conn.execute("SELECT n.name, v.verdict FROM name_verdicts v JOIN names n USING (id)"))
        through, = conn.execute("SELECT value FROM meta WHERE key = 'verdicts_through'").fetchone()
        assert int(through) == conn.execute("SELECT max(id) FROM names").fetchone()[0]
        conn.execute("UPDATE meta SET value = 'an older judge' WHERE key = 'verdicts_judge'")
        conn.execute("INSERT OR REPLACE INTO name_verdicts SELECT id, 'stale' FROM names WHERE name = 'zz.tail"
                     ".example.net'")
    # the names table also holds the role names: `registry`, as a bare host name, looks self-hosted
    assert judged == {LOOKALIKE: "lookalike docker.io", SELF_HOSTED: "self-hosted", "registry": "self-hosted"}
    conn = open_store(store)
    try:
        judge_names(conn)
        again = dict(conn.execute("SELECT n.name, v.verdict FROM name_verdicts v JOIN names n USING (id)"))
    finally:
        conn.close()
    assert again == judged  # the stale verdict went with the older judge
    facts = json.loads(CliRunner().invoke(main, ["store", "info", "--store", str(store), "--format", "json"],
                                          env=ENV).output)
    assert facts["names_flagged"] == 3 and facts["names_judged_through"] == facts["names"]


def test_the_window_sums_grow_when_names_are_added_while_they_are_read() -> None:
    """An ingest may add names between the read of the names' count and the read of a day's cells: the
    per-id sums grow with zeros, never with copies of what they held."""
    import numpy as np

    from auditor.store.window_focus import _Cells

    sums = _Cells(np.zeros(3, bool), np.zeros(3, bool), np.zeros(3, np.int64), (None, None))
    sums.add(np.array([1, 1, 2]), np.array([True, False, False]), np.array([2, 3, 1]))
    sums.add(np.array([6]), np.array([False]), np.array([5]))
    assert sums.present.tolist() == [False, True, True, False, False, False, True]
    assert sums.marked.tolist() == [False, True, False, False, False, False, False]
    assert sums.records.tolist() == [0, 5, 1, 0, 0, 0, 5]


@pytest.mark.parametrize("per_read", [7, 500_000])
def test_the_names_an_entry_could_cover_are_found_in_one_pass_as_name_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_read: int) -> None:
    """codec.ids_under reads the names as one string a slice at a time; with gaps in the ids, a name holding a
    newline (the name-by-name fallback) and slices of a few names, it finds what a test of every name finds."""
    from auditor.store import codec

    monkeypatch.setattr(codec, "NAMES_PER_READ", per_read)
    store = _store(tmp_path)
    entries = ["ghcr.io", "*.edge.example", "tail.example.net", "*-docker.pkg.dev", "absent.example"]

    def expected(conn: sqlite3.Connection) -> list[int]:
        tails = [e.rsplit("*", 1)[1] if "*" in e else "." + e for e in entries]
        return sorted(i for i, name in conn.execute("SELECT id, name FROM names")
                      if name in entries or name.endswith(tuple(tails)))

    conn = open_store(store)
    try:
        conn.executemany("INSERT INTO names (id, name) VALUES (?, ?)",
                         [(10_000, "x.tail.example.net"), (10_007, "europe-docker.pkg.dev"), (20_000, "ghcr.io.evil")])
        codec._TAILS.clear()
        found = codec.ids_under(conn, entries).tolist()
        assert found == expected(conn) and len(found) > 30
        conn.execute("INSERT INTO names (id, name) VALUES (?, ?)", (30_000, "bad\nname.tail.example.net"))
        assert codec.ids_under(conn, entries).tolist() == expected(conn)  # the names changed: read again
    finally:
        conn.close()
