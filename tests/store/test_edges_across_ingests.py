"""Redirect edges that span runs: a timing edge inferred in one ingest, a CNAME edge in one ingest and the use of
its ends in another, come back from the store in `audit --store` and `propose --store` as a live run over the
same logs finds them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from tests.store.logs import ZEEK_HEADER, epoch, write_zeek

CDN = "dl.edge-cache.example.net"  # no registry's host in the knowledge base: only timing ties it to quay.io


def run(*args: str, code: int | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env={"REGAUDIT_STORE": ""}, catch_exceptions=False)
    assert code is None or result.exit_code == code, result.output
    return result.output


def timing_day(path: Path, day: str, pulls: int) -> Path:
    """PULLS clients, each pulling once an hour after the one before: quay.io, then CDN 0.8 s later (a blob
    redirect); each also looks up an intranet host at night (so its span of activity is long, and 0.8 s after a
    registry lookup is no chance). One client each: a resolver log folds a client's repeated lookups."""
    lines = []
    for i in range(pulls):
        client = f"10.0.1.{i + 1}"
        start = epoch(f"{day}T{8 + i:02d}:00:00")
        for n, (at, name) in enumerate(((start, "quay.io"), (start + 0.8, CDN),
                                        (epoch(f"{day}T23:30:00"), "intranet.example.org"))):
            lines.append(f"{at:.6f}\tC{i}{n}\t{client}\t{40000 + n}\t10.0.0.53\t53\tudp\t{n}\t0.000900\t{name}"
                         "\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t192.0.2.9\t60.000000\tF\n")
    path.write_text(ZEEK_HEADER + "".join(sorted(lines)), encoding="utf-8")
    return path


def missing_hosts(report: dict) -> list[str]:
    return sorted(h for f in report["findings"] if f["kind"] == "missing" for h in f["hosts"])


def test_a_timing_edge_inferred_at_ingest_comes_back_and_merges_across_ingests(tmp_path: Path) -> None:
    june = timing_day(tmp_path / "dns-06-01.log", "2026-06-01", 6)
    july = timing_day(tmp_path / "dns-07-01.log", "2026-07-01", 5)
    allow = tmp_path / "allow.txt"
    allow.write_text("quay.io\ncdn.quay.io\ncdn01.quay.io\ncdn02.quay.io\ncdn03.quay.io\n", encoding="utf-8")
    live = tmp_path / "live.json"
    run("audit", str(june), "--allowlist", str(allow), "--json", str(live), "-q")
    assert CDN in missing_hosts(json.loads(live.read_text(encoding="utf-8")))  # what a live run infers
    store = tmp_path / "s.db"
    for log in (june, july):
        assert run("ingest", str(log), "--store", str(store), code=0).startswith("ingested")
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT day, from_host, to_host, count, confidence FROM edge_rows WHERE via = 'tls-timing'"
                            " ORDER BY day").fetchall()
    assert rows == [("2026-06-01", "quay.io", CDN, 6, "low"), ("2026-07-01", "quay.io", CDN, 5, "low")]
    report_path = tmp_path / "store.json"
    run("audit", "--store", str(store), "--allowlist", str(allow), "--as-of", "2026-07-31", "--window", "90d",
        "--json", str(report_path), "-q")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert missing_hosts(report) == missing_hosts(json.loads(live.read_text(encoding="utf-8")))
    finding = next(f for f in report["findings"] if f["kind"] == "missing" and CDN in f["hosts"])
    assert finding["data"]["chains"] == [f"quay.io \u2192 {CDN}"]
    assert "confidence low" in finding["evidence"][0]["text"]  # 6 and 5 follows: each ingest's edge is LOW
    proposal = run("propose", "--store", str(store), "--as-of", "2026-07-31", "--format", "json")
    assert CDN in proposal
    # a window holding only July still has July's own edge; one holding neither day has none
    only_july = tmp_path / "july.json"
    run("audit", "--store", str(store), "--allowlist", str(allow), "--since", "2026-07-01", "--until", "2026-07-31",
        "--as-of", "2026-07-31", "--json", str(only_july), "-q")
    assert CDN in missing_hosts(json.loads(only_july.read_text(encoding="utf-8")))
    august = tmp_path / "aug.json"
    run("audit", "--store", str(store), "--allowlist", str(allow), "--since", "2026-08-01", "--until", "2026-08-31",
        "--as-of", "2026-08-31", "--json", str(august), "-q")
    assert CDN not in missing_hosts(json.loads(august.read_text(encoding="utf-8")))


def test_a_cname_edge_in_one_ingest_meets_its_alias_used_in_another(tmp_path: Path) -> None:
    """June's log holds ghcr.io's CNAME answer; July's holds only a lookup of ghcr.io. A proposal over July
    from the store names the CNAME target as a live run over both logs does."""
    alias, target = "ghcr.io", "ghcr-lb.edge.example.net"
    cname_log = tmp_path / "june.log"
    cname_log.write_text(ZEEK_HEADER + f"{epoch('2026-06-01T10:00:00'):.6f}\tCa\t10.0.0.1\t40000\t10.0.0.53\t53\tudp"
                         f"\t1\t0.000900\t{alias}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0"
                         f"\t{target},192.0.2.10\t60.000000,60.000000\tF\n", encoding="utf-8")
    use_log = write_zeek(tmp_path / "july.log", [("2026-07-02T10:00:00", "10.0.0.2", alias)])
    store = tmp_path / "s.db"
    for log in (cname_log, use_log):
        run("ingest", str(log), "--store", str(store), code=0)
    with sqlite3.connect(store) as conn:
        edges = conn.execute("SELECT day, from_host, to_host, via FROM edge_rows").fetchall()
    assert edges == [("2026-06-01", alias, target, "dns-cname")]

    def cname_targets(text: str) -> list[str]:
        return next(h["cname_targets"] for h in json.loads(text)["required"] if h["host"] == alias)

    live = run("propose", str(cname_log), str(use_log), "--format", "json", code=0)
    assert cname_targets(live) == [target]
    stored = run("propose", "--store", str(store), "--since", "2026-06-01", "--until", "2026-07-31",
                 "--as-of", "2026-07-31", "--format", "json", code=0)
    assert cname_targets(stored) == [target]
