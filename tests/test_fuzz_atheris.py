"""The coverage-guided engine of the fuzz campaign runs libFuzzer for real and reports what it did."""

from __future__ import annotations

import pytest

pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[fuzz]')")

from benchmarks import fuzz_atheris


def test_an_atheris_turn_runs_inputs_through_the_cli_entry_point(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(fuzz_atheris, "WORK", tmp_path)
    runs, crashes, hangs, memkills, name = fuzz_atheris.run_campaign(
        "dockerfile", [("Dockerfile", b"FROM ghcr.io/acme/app:1\nRUN true\n")], 6, 10, 2048)
    assert name == "Dockerfile"
    assert runs > 0  # libFuzzer's own count of executed inputs
    assert (crashes, hangs, memkills) == ([], 0, 0)
    assert any((tmp_path / "dockerfile" / "corpus").iterdir())  # the seed corpus it grew from
