"""Replays every crash the fuzzing campaign kept (tests/fixtures/fuzz/<kind>/, minimized by benchmarks/fuzz.py):
each must now read through the same path as the command line (parse, discover and audit with every report, or
the allowlist and diff readers) without an exception or a parser failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.fuzz_target import CRASH_FIXTURES, run_input

CRASHES = sorted(p for p in CRASH_FIXTURES.rglob("*") if p.is_file()) if CRASH_FIXTURES.is_dir() else []


def test_the_campaign_has_kept_crashes() -> None:
    assert CRASHES, "tests/fixtures/fuzz holds the campaign's minimized crashes"


@pytest.mark.parametrize("path", CRASHES, ids=[f"{p.parent.name}/{p.name}" for p in CRASHES])
def test_kept_crash_no_longer_breaks_the_run(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name.split("-", 1)[-1]  # the seed's own name: detection may depend on it
    shutil.copyfile(path, copy)
    assert run_input(path.parent.name, copy) is None
