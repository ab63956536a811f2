"""`--jobs N`: the local engine's process pool gives the answers `--jobs 1` (the in-process path) gives.

Every audit fixture scenario, the discover tree and the shipped examples run through discover, propose and audit
with `--jobs 1` and `--jobs 2`: stdout, stderr, exit code and the --json report must be byte-identical. A spy on
the worker function records the process each unit ran in, so the tests also prove the pool really ran (in other
processes) wherever there were two inputs or more. A worker killed mid-unit has its unit folded again in the parent
and the answer is still exact; `ingest --jobs 2` writes the same store as `--jobs 1`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core.evidence import EvidenceStore
from auditor.pipeline import parallel
from auditor.pipeline.collect import CollectOptions, collect
from tests.conftest import FIXTURES, REPO_ROOT

AUDIT = FIXTURES / "audit"
SCENARIOS = sorted(p.name for p in AUDIT.iterdir() if (p / "allowlist.txt").is_file())
EXAMPLES = ["examples/repo", "examples/logs", "sample_pcaps"]
_ORIGINAL_FOLD = parallel.fold_unit


def _spy_fold(unit: list[parallel.Item], options: CollectOptions) -> tuple[EvidenceStore, dict[str, list[int]]]:
    """fold_unit, recording the process it ran in (one line per unit) in the file REGAUDIT_TEST_PIDS names."""
    with open(os.environ["REGAUDIT_TEST_PIDS"], "a") as out:
        out.write(f"{os.getpid()}\n")
    return _ORIGINAL_FOLD(unit, options)


@pytest.fixture
def spy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pids = tmp_path / "pids"
    monkeypatch.setenv("REGAUDIT_TEST_PIDS", str(pids))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # one generation time for both runs
    monkeypatch.setattr(parallel, "fold_unit", _spy_fold)  # the workers are forked after: they inherit it
    return pids


def _run(args: list[str], jobs: str, tmp: Path) -> tuple[int, str, str, str]:
    report = tmp / "report.json"  # one name for both runs: the summary names it
    report.unlink(missing_ok=True)
    extra = ["--json", str(report)] if args[0] == "audit" else []
    result = CliRunner().invoke(main, [*args, "--jobs", jobs, *extra], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr, report.read_text() if report.exists() else ""


def _worker_pids(pids: Path) -> set[int]:
    found = {int(line) for line in pids.read_text().split()} if pids.exists() else set()
    pids.unlink(missing_ok=True)
    return found


def _same(inputs: list[str], allowlist: str, pids: Path, tmp: Path) -> None:
    files = sum(1 for item in parallel.plan(inputs) if isinstance(item, parallel.Item))
    for args in ([["discover", "--format", "json", *inputs], ["propose", "--format", "json", *inputs],
                  ["audit", *inputs, "--allowlist", allowlist, "--org", "acme"]]):
        alone = _run(args, "1", tmp)
        assert _worker_pids(pids) == set()  # --jobs 1: no pool
        pooled = _run(args, "2", tmp)
        ran_in = _worker_pids(pids)
        if files >= 2:
            assert ran_in and os.getpid() not in ran_in, args  # the units ran in worker processes
        assert pooled == alone, args
        assert alone[0] in (0, 1, 2)
        assert alone[1] or alone[3]  # something was rendered: the comparison is not of two empty outputs


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_audit_scenario_is_byte_identical_with_two_jobs(scenario: str, spy: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    base = AUDIT.relative_to(REPO_ROOT) / scenario
    inputs = sorted(str(p) for p in base.iterdir() if p.name != "allowlist.txt")
    _same(inputs, str(base / "allowlist.txt"), spy, tmp_path)


def test_all_scenarios_in_one_run_are_byte_identical(spy: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # most scenarios are one file (no pool to run): together they are 25 inputs spread over the workers
    monkeypatch.chdir(REPO_ROOT)
    inputs = sorted(str(p.relative_to(REPO_ROOT)) for scenario in SCENARIOS for p in (AUDIT / scenario).iterdir()
                    if p.name != "allowlist.txt")
    _same(inputs, str((AUDIT / "missing" / "allowlist.txt").relative_to(REPO_ROOT)), spy, tmp_path)


def test_the_discover_tree_and_the_examples_are_byte_identical(spy: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    _same(["tests/fixtures/discover_tree", "sample_pcaps/lab-http-pull.pcap"], "examples/allowlist.txt", spy,
          tmp_path)
    _same(EXAMPLES, "examples/allowlist.txt", spy, tmp_path)


def test_input_errors_and_exit_codes_are_the_same_through_the_real_cli(tmp_path: Path) -> None:
    (tmp_path / "good.Dockerfile").write_text("FROM ghcr.io/acme/app:1\n")
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine\x00\x01\n")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01\x02")
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    (empty / "README.md").write_text("nothing here\n")
    named = [str(tmp_path / "Dockerfile"), str(tmp_path / "missing.log"), str(tmp_path / "notes.bin"),
             str(tmp_path / "good.Dockerfile"), str(empty), *EXAMPLES]
    for strict in ([], ["--strict"]):
        runs = [subprocess.run([sys.executable, "-m", "auditor", "discover", "--format", "json", *strict, *named,
                                "--jobs", jobs], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
                for jobs in ("1", "2")]
        alone, pooled = ((run.returncode, run.stdout, run.stderr) for run in runs)
        assert pooled == alone
        assert alone[0] == 2  # named inputs that give nothing fail the run, strict or not
        assert "missing.log" in alone[2] and "notes.bin" in alone[2] and "ghcr.io/acme/app" in alone[1]
        assert "no input of a known kind in this directory (1 files skipped)" in alone[2]


def _die_in_worker(unit: list[parallel.Item], options: CollectOptions) -> tuple[EvidenceStore, dict[str, list[int]]]:
    """fold_unit, except that a worker given dnsmasq.log dies outright (the parent's own fold is spared)."""
    if os.getpid() != int(os.environ["REGAUDIT_TEST_PARENT"]) and any(i.path.endswith("dnsmasq.log") for i in unit):
        Path(os.environ["REGAUDIT_TEST_MARKER"]).write_text(str(os.getpid()))
        os._exit(1)
    return _ORIGINAL_FOLD(unit, options)


def test_a_worker_killed_mid_unit_is_folded_again_and_the_answer_is_exact(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "died"
    monkeypatch.setenv("REGAUDIT_TEST_MARKER", str(marker))
    monkeypatch.setenv("REGAUDIT_TEST_PARENT", str(os.getpid()))
    monkeypatch.setattr(parallel, "fold_unit", _die_in_worker)
    monkeypatch.chdir(REPO_ROOT)
    options = CollectOptions(variables={})
    store = parallel.collect_parallel(["examples/logs", "examples/repo"], options, jobs=2)
    assert marker.exists()  # a worker really died
    expected = collect(["examples/logs", "examples/repo"], options)
    assert store.activity == expected.activity and list(store.activity) == list(expected.activity)
    assert store.blocked_groups == expected.blocked_groups
    assert store.references == expected.references and store.inputs == expected.inputs


def test_without_jobs_the_pool_starts_only_for_work_worth_it(tmp_path: Path) -> None:
    small = [parallel.Item(f"f{i}", False, "tree", 1000) for i in range(10)]
    assert not parallel.should_pool(small, None)  # ten small files: a process start costs more
    assert parallel.should_pool(small, 2)  # asked for: used
    assert not parallel.should_pool(small, 1) and not parallel.should_pool(small[:1], 4)
    if parallel.default_jobs() > 1:
        many = [parallel.Item(f"f{i}", False, "tree", 100) for i in range(parallel.AUTO_MIN_FILES)]
        big = [parallel.Item("a.pcap", True, None, parallel.AUTO_MIN_BYTES), parallel.Item("b", True, None, 1)]
        assert parallel.should_pool(many, None) and parallel.should_pool(big, None)


def test_units_are_contiguous_runs_in_input_order() -> None:
    items: list[parallel.Item | str] = [parallel.Item(f"f{i}", False, "t", 10) for i in range(1000)]
    items.insert(500, "-")
    items.append(parallel.Item("big.pcap", True, None, 50 * 1024 * 1024))
    units = parallel.units_of(items, 2)
    flat = [entry for unit in units for entry in ([unit] if isinstance(unit, str) else unit)]
    assert flat == items  # every input once, in order
    assert "-" in units and [units[-1]] == [[items[-1]]]  # standard input and a big file stand alone
    assert len(units) >= 2 * parallel.UNITS_PER_WORKER  # enough units to keep both workers busy


def _store_rows(path: Path) -> dict[str, list[Any]]:
    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")]
        return {table: conn.execute(f"select * from {table} order by 1").fetchall() for table in sorted(tables)}
    finally:
        conn.close()


def test_ingest_with_two_jobs_writes_the_same_store(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    inputs = [*EXAMPLES, "tests/fixtures/discover_tree"]
    outputs = []
    for jobs in ("1", "2"):
        store = tmp_path / f"store-{jobs}.db"
        for _ in range(2):  # the second run finds everything already ingested
            run = subprocess.run([sys.executable, "-m", "auditor", "ingest", *inputs, "--store", str(store),
                                  "--jobs", jobs], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                                 env=env)
            outputs.append((run.returncode, run.stdout, run.stderr))
    assert outputs[2:] == outputs[:2]
    assert "ingested" in outputs[0][1] and "already" in outputs[1][1]
    alone, pooled = _store_rows(tmp_path / "store-1.db"), _store_rows(tmp_path / "store-2.db")
    assert alone == pooled and alone["inputs"]


def test_jobs_is_refused_with_the_dask_engine() -> None:
    result = CliRunner().invoke(main, ["discover", "--engine", "dask", "--jobs", "2", "examples/repo"])
    assert result.exit_code == 2 and "--jobs is for --engine local" in result.output
