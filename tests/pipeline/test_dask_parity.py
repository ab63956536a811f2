"""Both engines through the real CLI (a subprocess each): the same errors, output and exit codes where the local
engine has a rule of its own (a named directory with nothing of a known kind fails the run), and URL inputs
(file://, fsspec's memory://) read by the local engine as the dask engine reads them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from auditor.pipeline.collect import CollectOptions, collect  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402


def _both(args: list[str], scheduler: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "auditor", *args]
    local = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    dask = subprocess.run([*command, "--engine", "dask", "--scheduler", scheduler], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    return local, dask


def test_a_directory_of_nothing_known_fails_on_both_engines(scheduler: str, tmp_path: Path) -> None:
    empty = tmp_path / "notes"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.md").write_text("# notes\nnothing here is an input\n")
    (empty / "sub" / "data.bin").write_bytes(b"\x00\x01\x02")
    good = tmp_path / "Dockerfile"
    good.write_text("FROM ghcr.io/acme/app:1\n")
    for args in (["discover", "--format", "json", str(empty), str(good)], ["discover", str(empty)]):
        local, dask = _both(args, scheduler)
        assert (dask.returncode, dask.stdout, dask.stderr) == (local.returncode, local.stdout, local.stderr)
        assert local.returncode == 2
        assert "no input of a known kind in this directory (2 files skipped)" in local.stderr
    local, dask = _both(["discover", "--format", "json", str(tmp_path)], scheduler)  # the Dockerfile is known
    assert (dask.returncode, dask.stdout, dask.stderr) == (local.returncode, local.stdout, local.stderr)
    assert local.returncode == 0 and "ghcr.io/acme/app" in local.stdout


def test_file_urls_on_both_engines(scheduler: str, tmp_path: Path) -> None:
    log = tmp_path / "dnsmasq.log"
    log.write_bytes((REPO_ROOT / "examples/logs/dnsmasq.log").read_bytes())
    args = ["discover", "--format", "json", log.as_uri(), (tmp_path / "absent.log").as_uri()]
    local, dask = _both(args, scheduler)
    assert (dask.returncode, dask.stdout, dask.stderr) == (local.returncode, local.stdout, local.stderr)
    assert local.returncode == 2 and "absent.log" in local.stderr  # a named input that gives nothing
    assert log.as_uri() in local.stdout and '"registry-1.docker.io"' in local.stdout
    by_path, by_url = (subprocess.run([sys.executable, "-m", "auditor", "discover", "--format", "json", name],
                                      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
                       for name in (str(log), log.as_uri()))
    assert by_url.returncode == by_path.returncode == 0
    assert by_path.stdout.replace(str(log), log.as_uri()) == by_url.stdout


def test_the_local_engine_reads_memory_urls() -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe("/regaudit-local/ci-build.log", (REPO_ROOT / "examples/logs/ci-build.log").read_bytes())
    try:
        options = CollectOptions(variables={})
        store = collect(["memory://regaudit-local/ci-build.log", "memory://regaudit-local/absent.log"], options)
    finally:
        memory.rm("/regaudit-local", recursive=True)
    expected = collect([str(REPO_ROOT / "examples/logs/ci-build.log")], options)
    assert store.blocked_total == expected.blocked_total > 0
    assert sorted(store.blocked_groups) == sorted(expected.blocked_groups)
    assert {s.path for g in store.blocked_groups.values() for s in g.sources} == {"memory://regaudit-local/ci-build.log"}
    assert [e.source.path for e in store.unusable] == ["memory://regaudit-local/absent.log"]
    assert [r.path for r in store.inputs] == ["memory://regaudit-local/ci-build.log"]
