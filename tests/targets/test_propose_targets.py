"""`propose --target`: the proposal's notes and its native output follow the target."""

from __future__ import annotations

from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import REPO_ROOT

SAMPLE = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, [*args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_ram_notes_give_way_to_the_targets_own() -> None:
    ram = run("propose", *SAMPLE)
    proxy = run("propose", *SAMPLE, "--target", "proxy")
    assert "RAM's built-in Docker Hub entry" in ram and "Target proxy" not in ram
    assert "RAM's built-in" not in proxy
    assert "Target proxy (Squid forward proxy (dstdomain)): an entry is written .NAME" in proxy
    # the entries are the same decision: only how they are read differs
    assert [ln for ln in ram.splitlines() if ln and not ln.startswith(" ")][:20] == \
           [ln for ln in proxy.splitlines() if ln and not ln.startswith(" ")][:20]


def test_native_format_is_what_export_writes() -> None:
    for target in ("proxy", "dns", "harden-runner", "k8s-admission", "ram"):
        native = run("propose", *SAMPLE, "--target", target, "--format", "native")
        exported = run("export", "--target", target, *SAMPLE)
        assert native == exported, target


def test_a_proposed_entry_covering_only_itself_is_exact_on_squid() -> None:
    acl = run("propose", *SAMPLE, "--target", "proxy", "--format", "native")
    assert "acl regaudit_allowed dstdomain ghcr.io\n" in acl  # covers only ghcr.io
    old = run("propose", *SAMPLE, "--format", "squid")  # the old format keeps the proposal's suffix mode
    assert "acl regaudit_allowed dstdomain .ghcr.io\n" in old and "suffix matching" in old
