"""`regaudit diff OLD.json NEW.json`: entries added/removed and findings new/resolved, matched by stable key."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from auditor.decisions.diff import diff_audits

AUDIT = Path(__file__).parents[1] / "fixtures" / "audit"


def audit_json(tmp_path: Path, name: str, inputs: Path, allowlist_text: str) -> Path:
    allowlist = tmp_path / f"{name}.txt"
    allowlist.write_text(allowlist_text, encoding="utf-8")
    out = tmp_path / f"{name}.json"
    result = CliRunner().invoke(main, ["audit", str(inputs), "--allowlist", str(allowlist), "--json", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_fixing_the_allowlist_resolves_the_missing_host(tmp_path: Path) -> None:
    repo = AUDIT / "missing" / "repo"
    old = audit_json(tmp_path, "old", repo, "ghcr.io\nregistry.gitlab.com\n")
    new = audit_json(tmp_path, "new", repo, "ghcr.io\npkg-containers.githubusercontent.com\n")
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert diff["entries"] == {"added": ["pkg-containers.githubusercontent.com"], "removed": ["registry.gitlab.com"]}
    assert {(f["kind"], f["title"]) for f in diff["findings"]["resolved"]} == {
        ("missing", "pkg-containers.githubusercontent.com is not allowed (blob host)"),
        ("unused", "registry.gitlab.com is not needed"),
    }
    assert diff["findings"]["new"] == [] and diff["changed"] is True

    text = CliRunner().invoke(main, ["diff", str(old), str(new)]).output
    assert "+ entry    pkg-containers.githubusercontent.com" in text
    assert "- entry    registry.gitlab.com" in text
    assert "0 new, 2 resolved, 0 changed, 0 unchanged findings" in text


def test_new_finding_and_unchanged_ones_are_told_apart(tmp_path: Path) -> None:
    repo = AUDIT / "missing" / "repo"
    old = json.loads(audit_json(tmp_path, "old", repo, "ghcr.io\n").read_text(encoding="utf-8"))
    new = json.loads(audit_json(tmp_path, "new", repo, "ghcr.io\nacme.example\n").read_text(encoding="utf-8"))
    # ids are positions and may shift; keys are stable
    old["findings"][0]["id"] = "F099"
    diff = diff_audits(old, new)
    assert [f["title"] for f in diff.findings_new] == ["acme.example is not needed"]
    assert diff.findings_resolved == [] and diff.findings_unchanged == 1
    assert diff.entries_added == ["acme.example"]


def test_same_audit_twice_is_no_change(tmp_path: Path) -> None:
    out = audit_json(tmp_path, "same", AUDIT / "blocked", "ghcr.io\n")
    result = CliRunner().invoke(main, ["diff", str(out), str(out)])
    assert result.exit_code == 0
    assert "No change" in result.output


def test_not_an_audit_document_is_a_usage_error(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"schema": "regaudit/discover"}', encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"\xff{not json")
    for bad in (other, broken, tmp_path / "absent.json"):
        result = CliRunner().invoke(main, ["diff", str(bad), str(bad)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
