"""The store's commands and the window options: history, store info/prune/vacuum, REGAUDIT_STORE, bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.store.logs import job_header, job_lines, write_zeek


def run(*args: str, env: dict[str, str] | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    write_zeek(tmp_path / "dns.log", [("2026-06-01T10:00:00", "10.0.0.1", "quay.io"),
                                      ("2026-06-01T11:00:00", "10.0.0.2", "cdn.quay.io"),
                                      ("2026-08-01T10:00:00", "10.0.0.1", "quay.io")])
    (tmp_path / "job.log").write_text(job_header("2026-08-02T10:00:00")
                                      + job_lines([("2026-08-02T10:00:01", "quay.io")] * 2), encoding="utf-8")
    (tmp_path / "allow.txt").write_text("quay.io\n", encoding="utf-8")
    run("ingest", str(tmp_path / "dns.log"), str(tmp_path / "job.log"), "--allowlist", str(tmp_path / "allow.txt"),
        "--store", str(path))
    return path


def test_history_covers_subdomains_and_names_the_versions_that_allowed_it(store: Path) -> None:
    text = run("history", "quay.io", "--store", str(store))
    assert text.splitlines()[:5] == [
        "quay.io: 3 uses, 2 blocked attempts",
        "  day             uses  clients  blocked",
        "  2026-06-01         2        2  -",
        "  2026-08-01         1        1  -",
        "  2026-08-02         0        0  ram-registry 2",
    ]
    assert "allowed by allowlist" in text and ": quay.io" in text
    entry = json.loads(run("history", "*.Quay.IO.", "--store", str(store), "--format", "json"))[0]
    assert entry["name"] == "quay.io" and entry["total_uses"] == 3
    other = json.loads(run("history", "ghcr.io", "--store", str(store), "--format", "json"))[0]
    assert other["days"] == [] and other["not_allowed_by"] and not other["allowed_by"]


def test_the_store_path_comes_from_regaudit_store(store: Path) -> None:
    facts = json.loads(run("store", "info", "--format", "json", env={"REGAUDIT_STORE": str(store)}))
    assert facts["store"] == str(store) and facts["inputs_ok"] == 2 and facts["allowlist_versions"] == 1


def test_prune_drops_the_days_before_and_vacuum_gives_space_back(store: Path) -> None:
    assert run("store", "prune", "--before", "2026-08-01", "--store", str(store)).startswith("pruned 4 daily rows")
    found = json.loads(run("history", "quay.io", "--store", str(store), "--format", "json"))[0]
    days = [d["day"] for d in found["days"]]
    assert days == ["2026-08-01", "2026-08-02"]
    assert "vacuumed" in run("store", "vacuum", "--store", str(store))
    assert json.loads(run("store", "info", "--format", "json", "--store", str(store)))["first_day"] == "2026-08-01"


def test_reading_a_missing_store_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["history", "quay.io", "--store", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no such store" in result.output
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--window", "90d"], "need --store"),
    (["--store", "S", "--window", "ninety"], "expected a number of days"),
    (["--store", "S", "--window", "30d", "--since", "2026-01-01"], "not both"),
    (["--store", "S", "--since", "2026-13-01"], "expected a date"),
    (["--store", "S", "--since", "2026-09-01", "--until", "2026-08-01"], "after --until"),
    ([], "name inputs, or --store PATH"),
])
def test_bad_window_options_are_usage_errors(store: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(store) if a == "S" else a for a in args]
    result = CliRunner().invoke(main, ["audit", "--allowlist", str(tmp_path / "allow.txt"), *args])
    assert result.exit_code == 2 and message in result.output


def test_audit_adds_the_inputs_on_the_command_line_to_the_window(store: Path, tmp_path: Path) -> None:
    extra = write_zeek(tmp_path / "today.log", [("2026-08-20T10:00:00", "10.0.0.9", "ghcr.io")])
    out = tmp_path / "a.json"
    run("audit", str(extra), "--store", str(store), "--allowlist", str(tmp_path / "allow.txt"), "--window", "30d",
        "--as-of", "2026-08-31", "--json", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert {"ghcr.io", "quay.io"} <= {r["host"] for r in doc["required"]}
    assert doc["summary"]["blocked_attempts"] == 2


def test_a_reader_never_turns_an_empty_file_into_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["store", "info", "--store", str(empty)])
    assert result.exit_code == 2 and "an empty file, not a regaudit store" in result.output
    assert empty.read_bytes() == b""
