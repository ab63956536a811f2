"""The campaign's watch over its worker (benchmarks/fuzz.py Runner): planted inputs that hog memory, hang or
fail are each told apart, and the worker comes back for the next input.

The planted entry points replace benchmarks.fuzz_target.run_input before the worker forks, so the real Runner,
pipe, process and limits are the ones under test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import benchmarks.fuzz_target as fuzz_target
from benchmarks.fuzz import Runner


def _planted(path: Path, kind: str) -> str | None:
    text = path.read_bytes()
    if text == b"hog":
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(128)]  # 8 GiB, far past the limit
        return f"kept {len(hoard)}"
    if text == b"hang":
        time.sleep(60)
    if text == b"fail":
        return "planted failure"
    return None


def _resident_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fuzz_target, "run_input", lambda kind, path: _planted(path, kind))
    # the worker forks from this process and starts with its resident pages (a full test run holds hundreds of
    # MB): the limit is 256 MB above that
    watched = Runner(hang_seconds=2.0, rss_mb=_resident_mb() + 256)
    yield watched
    watched.close()


def test_an_input_past_the_memory_limit_is_a_memory_kill_and_the_worker_restarts(runner: Runner) -> None:
    assert runner.run("dockerfile", "Dockerfile", b"hog") == ("memkill", None)
    assert runner.run("dockerfile", "Dockerfile", b"fine") == ("ok", None)


def test_an_input_that_stalls_is_a_hang(runner: Runner) -> None:
    assert runner.run("dockerfile", "Dockerfile", b"hang") == ("hang", None)
    assert runner.run("dockerfile", "Dockerfile", b"fine") == ("ok", None)


def test_a_failure_is_a_crash_with_its_signature(runner: Runner) -> None:
    assert runner.run("dockerfile", "Dockerfile", b"fail") == ("crash", "planted failure")
