"""`--engine dask` gives the answers `--engine local` gives, on a real distributed.LocalCluster (127.0.0.1 only).

Every audit fixture scenario, the discover tree and the shipped examples are run through discover, propose and
audit on both engines; the JSON must be byte-identical apart from the report's generation time, and the input
errors on standard error and the exit codes the same. A worker process that dies mid-task (os._exit on the first
attempt) has its task rerun by the scheduler and the answer is still exact. The local engine imports no Dask.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from click.testing import CliRunner  # noqa: E402

from auditor.cli import main  # noqa: E402
from auditor.core.evidence import EvidenceStore  # noqa: E402
from auditor.pipeline.collect import CollectOptions, collect  # noqa: E402
from auditor.pipeline.dask_engine import Item, collect_on_dask, fold_item, local_cluster  # noqa: E402
from tests.conftest import FIXTURES, REPO_ROOT  # noqa: E402

AUDIT = FIXTURES / "audit"
SCENARIOS = sorted(p.name for p in AUDIT.iterdir() if (p / "allowlist.txt").is_file())
EXAMPLES = ["examples/repo", "examples/logs", "sample_pcaps"]




def _run(args: list[str], engine: list[str], tmp: Path) -> tuple[int, str, str, str]:
    """(exit code, stdout, stderr, the --json report or '') of one in-process run, timing fields dropped."""
    report = tmp / "report.json"  # one name for both engines: the summary names it
    report.unlink(missing_ok=True)
    extra = ["--json", str(report)] if args[0] == "audit" else []
    result = CliRunner().invoke(main, [*args, *engine, *extra], catch_exceptions=False)
    text = ""
    if report.exists():
        document = json.loads(report.read_text())
        document.pop("generated_at", None)  # the one timing field
        text = json.dumps(document, indent=1, sort_keys=True)
    return result.exit_code, result.stdout, result.stderr, text


def _commands(inputs: list[str], allowlist: str) -> list[list[str]]:
    return [["discover", "--format", "json", *inputs],
            ["propose", "--format", "json", *inputs],
            ["audit", *inputs, "--allowlist", allowlist, "--org", "acme"]]


def _same(inputs: list[str], allowlist: str, scheduler: str, tmp: Path) -> None:
    for args in _commands(inputs, allowlist):
        local = _run(args, [], tmp)
        dask = _run(args, ["--engine", "dask", "--scheduler", scheduler], tmp)
        assert dask == local, args
        assert local[0] in (0, 1, 2)
        assert local[1] or local[3]  # something was rendered: the comparison is not of two empty outputs


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_audit_scenario_gives_the_same_json_on_both_engines(scenario: str, scheduler: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    base = AUDIT.relative_to(REPO_ROOT) / scenario
    inputs = sorted(str(p) for p in base.iterdir() if p.name != "allowlist.txt")
    _same(inputs, str(base / "allowlist.txt"), scheduler, tmp_path)


def test_the_discover_tree_and_the_examples_give_the_same_json(scheduler: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    _same(["tests/fixtures/discover_tree", "sample_pcaps/lab-http-pull.pcap"], "examples/allowlist.txt", scheduler,
          tmp_path)
    _same(EXAMPLES, "examples/allowlist.txt", scheduler, tmp_path)


def test_input_errors_and_exit_codes_are_the_same(scheduler: str, tmp_path: Path) -> None:
    (tmp_path / "good.Dockerfile").write_text("FROM ghcr.io/acme/app:1\n")
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine\x00\x01\n")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01\x02")
    named = [str(tmp_path / "Dockerfile"), str(tmp_path / "missing.log"), str(tmp_path / "notes.bin"),
             str(tmp_path / "good.Dockerfile")]
    out = tmp_path / "out"
    out.mkdir()
    for strict in ([], ["--strict"]):
        args = ["discover", "--format", "json", *strict, *named]
        local = _run(args, [], out)
        dask = _run(args, ["--engine", "dask", "--scheduler", scheduler], out)
        assert dask == local
        assert "missing.log" in local[2] and "notes.bin" in local[2] and "ghcr.io/acme/app" in local[1]
    assert _run(["discover", *named], [], out)[0] == 2  # named inputs that give nothing fail, strict or not
    assert _run(["discover", "--strict", *named], ["--engine", "dask", "--scheduler", scheduler], out)[0] == 2


def test_fsspec_file_urls_read_on_the_workers(scheduler: str, tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_text((REPO_ROOT / "examples/logs/ci-build.log").read_text())
    options = CollectOptions(variables={})
    by_url = collect_on_dask([log.as_uri(), f"file://{tmp_path}/absent.log"], options, scheduler=scheduler)
    by_path = collect([str(log)], options)
    assert by_url.blocked_total == by_path.blocked_total > 0
    assert sorted(by_url.activity) == sorted(by_path.activity)
    assert {s.path for g in by_url.blocked_groups.values() for s in g.sources} == {log.as_uri()}
    assert [str(e) for e in by_url.errors if "absent.log" in str(e)]  # one clear line, the rest still read


def test_memory_urls_are_read_by_the_client_and_parsed_on_the_workers(scheduler: str) -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    text = (REPO_ROOT / "examples/logs/dnsmasq.log").read_bytes()
    memory.pipe("/regaudit-test/dnsmasq.log", text)
    try:
        options = CollectOptions(variables={})
        store = collect_on_dask(["memory://regaudit-test/dnsmasq.log", "memory://regaudit-test/absent.log"],
                                options, scheduler=scheduler)
    finally:
        memory.rm("/regaudit-test", recursive=True)
    expected = collect(["examples/logs/dnsmasq.log"], options)
    assert sorted(store.activity) == sorted(expected.activity) and store.activity
    assert [a.count for a in store.sorted_activity()] == [a.count for a in expected.sorted_activity()]
    assert {s.path for a in store.activity.values() for s in a.sources} == {"memory://regaudit-test/dnsmasq.log"}
    assert [e for e in store.errors if e.source.path == "memory://regaudit-test/absent.log"]


def test_the_progress_bar_is_fed_by_task_completions(scheduler: str, tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    text = (REPO_ROOT / "examples/logs/dnsmasq.log").read_text()
    big = tmp_path / "dnsmasq-big.log"
    big.write_text(text * (9 * 1024 * 1024 // len(text) + 1))  # past the bar's 8 MB threshold
    (tmp_path / "small.log").write_text(text)
    options = CollectOptions(variables={}, show_progress=True)
    store = collect_on_dask([str(big), str(tmp_path / "small.log")], options, scheduler=scheduler)
    bar = capfd.readouterr().err
    assert "dask tasks [" in bar and "100.0%" in bar and bar.endswith("\n")
    assert store.activity and not collect_on_dask([str(tmp_path / "small.log")], options, scheduler=scheduler).errors
    assert "dask tasks" not in capfd.readouterr().err  # a small run shows no bar, as locally


def _die_on_first_attempt(item: Item, options: CollectOptions) -> EvidenceStore:
    """fold_item, except that the first attempt at dnsmasq.log kills its worker process outright."""
    marker = Path(os.environ["REGAUDIT_TEST_MARKER"])
    if item.name.endswith("dnsmasq.log") and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return fold_item(item, options)


def test_a_worker_killed_mid_task_is_retried_and_the_answer_is_exact(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import dask

    assert dask.config.get("distributed.scheduler.allowed-failures") > 0  # a task may outlive a dead worker
    marker = tmp_path / "died"
    monkeypatch.setenv("REGAUDIT_TEST_MARKER", str(marker))  # the workers are started after: they inherit it
    monkeypatch.chdir(REPO_ROOT)
    options = CollectOptions(variables={})
    with local_cluster(2, logging.CRITICAL) as cluster:
        store = collect_on_dask(["examples/logs", "examples/repo"], options, scheduler=cluster.scheduler_address,
                                fold=_die_on_first_attempt)
    assert marker.exists()  # a worker really died
    expected = collect(["examples/logs", "examples/repo"], options)
    assert store.activity == expected.activity and list(store.activity) == list(expected.activity)
    assert store.blocked_groups == expected.blocked_groups
    assert store.references == expected.references and store.inputs == expected.inputs


def test_workers_option_starts_a_cluster_for_the_run() -> None:
    command = [sys.executable, "-m", "auditor", "discover", "--format", "json", *EXAMPLES]
    local = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    dask = subprocess.run([*command, "--engine", "dask", "--workers", "2"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert (dask.returncode, dask.stdout, dask.stderr) == (local.returncode, local.stdout, local.stderr)
    assert json.loads(local.stdout)["references"]


def test_engine_options_are_checked() -> None:
    result = CliRunner().invoke(main, ["discover", "--workers", "2", "examples/repo"])
    assert result.exit_code == 2 and "need --engine dask" in result.output
    result = CliRunner().invoke(main, ["discover", "--engine", "dask", "--workers", "2", "--scheduler",
                                       "tcp://127.0.0.1:1", "examples/repo"])
    assert result.exit_code == 2 and "not both" in result.output


def test_the_local_engine_imports_no_dask() -> None:
    code = ("import sys\nfrom auditor.cli import main\n"
            "try:\n    main(['discover', '--format', 'json', 'examples/repo', 'examples/logs'])\n"
            "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "assert 'auditor.pipeline.dask_engine' not in sys.modules\n"
            "print('DASK:', loaded, file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "DASK: []" in run.stderr
    assert '"references"' in run.stdout


def _store_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every evidence table, the ingest times left out (they are when, not what)."""
    conn = sqlite3.connect(path)
    try:
        tables = {"inputs": "display, kind, family, size, content_sha256, content_length, status, message",
                  "host_days": "*", "blocked_days": "*", "edges": "*", "static_records": "*"}
        return {name: sorted(conn.execute(f"SELECT {columns} FROM {name}").fetchall())
                for name, columns in tables.items()}
    finally:
        conn.close()


def test_ingest_on_dask_writes_the_store_the_local_ingest_writes(scheduler: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    grown = tmp_path / "grown-dnsmasq.log"
    lines = (REPO_ROOT / "examples/logs/dnsmasq.log").read_text().replace("docker.io", "docker.example").splitlines(
        keepends=True)
    inputs = ["examples/repo", "examples/logs", "tests/fixtures/audit/blocked/logs", str(grown)]
    stores = {}
    for engine in ([], ["--engine", "dask", "--scheduler", scheduler]):
        store = tmp_path / f"{'dask' if engine else 'local'}.db"
        grown.write_text("".join(lines[: len(lines) // 2]))
        first = CliRunner().invoke(main, ["ingest", "--store", str(store), *inputs, *engine])
        grown.write_text("".join(lines))  # the log grew: the second ingest reads only the new part
        second = CliRunner().invoke(main, ["ingest", "--store", str(store), *inputs, *engine])
        assert first.exit_code == second.exit_code == 0, (first.output, second.output)
        stores[bool(engine)] = (first.stdout, second.stdout, _store_rows(store))
    local, dask = stores[False], stores[True]
    assert "continued" in local[1] and "already" in local[1] and "ingested" in local[0]
    assert local[2]["host_days"] and local[2]["blocked_days"] and local[2]["static_records"]
    assert [line.split(":")[0] for line in dask[0].splitlines()] == [line.split(":")[0]
                                                                     for line in local[0].splitlines()]
    when = re.compile(r"ingested \d{4}-\d\d-\d\dT[\d:]+Z")  # "same content as X, ingested <time>"
    assert when.sub("", dask[1]) == when.sub("", local[1])
    assert dask[2] == local[2]
