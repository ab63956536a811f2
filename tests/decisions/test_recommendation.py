"""One recommendation: on every audit scenario the findings' actions and the proposal's difference agree.

The difference (add / remove / keep) and each finding's action are both derived from
auditor/decisions/recommend.py. This test reads them the way a person would, from the action TEXT (every
"Add `X`", "Remove `X`", "Replace `X` with `A`, `B`", "Keep `X`") as well as from the structured
`data.changes`, and checks them against the difference of the same document.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.decisions.test_audit import AUDIT, run_audit

SCENARIOS = sorted(p.name for p in AUDIT.iterdir() if (p / "allowlist.txt").is_file())
_CODE = re.compile(r"`([^`]+)`")


def _verbs(action: str) -> dict[str, set[str]]:
    """Addresses the action text asks to add, remove or keep (first clause of each verb)."""
    asked: dict[str, set[str]] = {"add": set(), "remove": set(), "keep": set()}
    for clause in re.split(r"(?<=[.;:])\s+|,? and (?=[A-Z]|remove |keep |add )", action):
        words = clause.strip().lower()
        names = _CODE.findall(clause)
        if words.startswith(("add ", "do not add")) and not words.startswith("do not add"):
            asked["add"].update(n for n in names if "." in n)
        elif words.startswith(("remove ", "remove both")):
            asked["remove"].update(names)
        elif words.startswith("replace "):
            head, _, rest = clause.partition(" with ")
            asked["remove"].update(_CODE.findall(head))
            asked["keep"].update(_CODE.findall(rest))  # kept or added: either is in the proposed list
        elif words.startswith("keep "):
            asked["keep"].update(names)
    return asked


def _check(document: dict, where: str) -> None:
    diff = document["difference"]
    add, remove, keep = set(diff["add"]), set(diff["remove"]), set(diff["keep"])
    current = {e["address"] for e in document["allowlist"]["entries"]}
    assert not (add & remove or add & keep or remove & keep), where
    assert remove | keep == current, where
    assert not add & current, where
    removed_by_findings: set[str] = set()
    for finding in document["findings"]:
        label = f"{where} {finding['id']} {finding['action']!r}"
        for change in finding["data"].get("changes", ()):
            target = {"add": add, "remove": remove, "keep": keep}[change["op"]]
            assert change["address"] in target, label
            assert f"`{change['address']}`" in finding["action"], label
            if change["op"] == "remove":
                removed_by_findings.add(change["address"])
        asked = _verbs(finding["action"])
        assert asked["add"] <= add | keep, label  # "add X" where X is already kept would be odd but harmless
        assert asked["add"] <= add, label
        assert asked["remove"] <= remove, label
        assert asked["keep"] <= add | keep, label
    # nothing is removed silently: every removal is a finding's action
    assert remove <= removed_by_findings, where
    for row in document["allowlist"]["entries"]:
        assert row["change"] == ("remove" if row["address"] in remove else "keep"), where


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_actions_and_difference_agree(tmp_path: Path, scenario: str) -> None:
    _, document, output = run_audit(tmp_path, scenario)
    assert document, output
    _check(document, scenario)


def test_actions_and_difference_agree_on_the_shipped_example(tmp_path: Path) -> None:
    inputs = tuple(str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps"))
    out = tmp_path / "example.json"
    from click.testing import CliRunner

    from auditor.cli import main

    result = CliRunner().invoke(main, ["audit", *inputs, "--allowlist", str(REPO_ROOT / "examples/allowlist.txt"),
                                       "--org", "acme", "--json", str(out)])
    assert out.exists(), result.output
    import json

    document = json.loads(out.read_text())
    _check(document, "example")
    diff = document["difference"]
    # RAM's Docker Hub switch is one decision: kept (Hub images are pulled), and no finding says remove it
    assert "docker.io" in diff["keep"]
    assert "auth.docker.io" in diff["keep"] and "registry-1.docker.io" in diff["keep"]
    redundant_hub = [f for f in document["findings"] if f["kind"] == "redundant" and "docker.io" in f["entries"]]
    assert redundant_hub and all(f["action"].startswith("Keep both") for f in redundant_hub)
    # a host whose only evidence failed (a trace with NXDOMAIN) is a note, not a need
    assert "missing.lab.test" not in diff["add"]
    assert not [f for f in document["findings"] if "missing.lab.test" in f["hosts"]]
    assert any(n.startswith("missing.lab.test is not proposed") for n in document["proposal"]["notes"])


def test_a_docker_hub_mirror_is_required_and_explained(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "mirror")
    [missing] = [f for f in document["findings"] if f["kind"] == "missing"]
    assert missing["hosts"] == ["mirror.acme.example"]
    assert "mirror.acme.example" in document["difference"]["add"]
    assert "a blocked Docker Hub also blocks Hub images pulled through a mirror" in missing["detail"]
    hub = [f for f in document["findings"] if f["kind"] == "image-access"]
    assert hub and all(f["data"]["mirrors"] == ["mirror.acme.example"] for f in hub)
    # without the daemon.json, nothing mentions a mirror
    _, plain, _ = run_audit(tmp_path, "mirror", inputs=(str(AUDIT / "mirror" / "repo"),))
    assert not [f for f in plain["findings"] if "mirror" in f["detail"]]


def test_the_docker_hub_entry_goes_when_nothing_pulls_from_hub(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "Dockerfile").write_text("FROM ghcr.io/acme/app:1\n")
    (tmp_path / "allow.txt").write_text("docker.io\nghcr.io\npkg-containers.githubusercontent.com\n")
    out = tmp_path / "a.json"
    CliRunner().invoke(main, ["audit", str(tmp_path / "repo"), "--allowlist", str(tmp_path / "allow.txt"),
                              "--json", str(out)])
    import json

    document = json.loads(out.read_text())
    _check(document, "no-hub")
    assert document["difference"]["remove"] == ["docker.io"]
    [unused] = [f for f in document["findings"] if f["kind"] == "unused"]
    assert unused["action"].startswith("Remove `docker.io`")


def test_a_duplicate_entry_is_phrased_from_the_recommendation(tmp_path: Path) -> None:
    """The allowlist reader's `duplicate` finding (another change adds the kind) keeps or removes the entry as
    the difference does."""
    from types import SimpleNamespace

    from auditor.core.allowlist import Allowlist, AllowlistEntry, MatchMode
    from auditor.decisions.actions import _HANDLERS
    from auditor.decisions.analysis import analyse
    from auditor.decisions.recommend import recommend
    from auditor.pipeline.collect import CollectOptions, collect

    (tmp_path / "Dockerfile").write_text("FROM ghcr.io/acme/app:1\n")
    analysis = analyse(collect((str(tmp_path / "Dockerfile"),), CollectOptions({})))
    allowlist = Allowlist([AllowlistEntry("ghcr.io", "ghcr.io", line=1), AllowlistEntry("ghcr.io", "ghcr.io", line=2),
                           AllowlistEntry("old.example", "old.example", line=3)])
    rec = recommend(allowlist, analysis.proposal, MatchMode.SUFFIX)
    for address, verb, op in (("ghcr.io", "Keep", "keep"), ("old.example", "Remove", "remove")):
        finding = SimpleNamespace(kind=SimpleNamespace(value="duplicate"), entries=(address,), hosts=(), data={},
                                  action="", detail="")
        _HANDLERS["duplicate"](finding, rec, analysis.proposal, MatchMode.SUFFIX)
        assert finding.action.startswith(f"{verb} `{address}`") and finding.data["changes"] == [
            {"op": op, "address": address}]
        assert rec.op(address).value == op


def test_failed_evidence_alone_is_a_note_but_a_reference_still_needs_the_host(tmp_path: Path) -> None:
    from auditor.decisions.analysis import analyse
    from auditor.pipeline.collect import CollectOptions, collect

    failed = (str(REPO_ROOT / "sample_pcaps/lab-trace-tls.json"), str(REPO_ROOT / "sample_pcaps/lab-dnsmasq.log"))
    alone = analyse(collect(failed, CollectOptions({})))
    assert alone.required_host("missing.lab.test") is None
    assert alone.required_host("registry.lab.test") is not None  # the trace that worked still counts
    [note] = [n for n in alone.proposal.notes if n.startswith("missing.lab.test")]
    assert "2 NXDOMAIN answers" in note and "1 failed probe" in note
    (tmp_path / "Dockerfile").write_text("FROM missing.lab.test/lab/hello:1\n")
    named = analyse(collect((*failed, str(tmp_path / "Dockerfile")), CollectOptions({})))
    assert named.required_host("missing.lab.test") is not None  # a Dockerfile names it: a need, even unresolved
    assert not [n for n in named.proposal.notes if n.startswith("missing.lab.test")]
