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
# the host-name targets: each writes an address its own way (Squid `.quay.io`, RPZ `*.quay.io`, harden-runner
# `quay.io:443`), the recommendation and the difference speak in addresses
TARGETS = ("ram", "proxy", "dns", "harden-runner", "k8s-admission")
_CODE = re.compile(r"`([^`]+)`")
_MARKERS = re.compile(r"^(?:\*\.|\.)|:443$")


def _address(written: str) -> str:
    """An entry as a target writes it, back to the address the difference lists."""
    return _MARKERS.sub("", written)


def _verbs(action: str) -> dict[str, set[str]]:
    """Addresses the action text asks to add, remove or keep (first clause of each verb)."""
    asked: dict[str, set[str]] = {"add": set(), "remove": set(), "keep": set()}
    for clause in re.split(r"(?<=[.;:])\s+|,? and (?=[A-Z]|remove |keep |add )", action):
        words = clause.strip().lower()
        names = [_address(n) for n in _CODE.findall(clause)]
        if words.startswith(("add ", "do not add")) and not words.startswith("do not add"):
            asked["add"].update(n for n in names if "." in n)
        elif words.startswith(("remove ", "remove both")):
            asked["remove"].update(names)
        elif words.startswith("replace "):
            head, _, rest = clause.partition(" with ")
            asked["remove"].update(_address(n) for n in _CODE.findall(head))
            asked["keep"].update(_address(n) for n in _CODE.findall(rest))  # kept or added: in the proposed list
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
        assert finding["action"].strip(), label  # every finding says what to do
        spans = {_address(n) for n in _CODE.findall(finding["action"])}
        for change in finding["data"].get("changes", ()):
            target = {"add": add, "remove": remove, "keep": keep}[change["op"]]
            assert change["address"] in target, label
            assert change["address"] in spans, label
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


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_actions_and_difference_agree(tmp_path: Path, scenario: str, target: str) -> None:
    _, document, output = run_audit(tmp_path, scenario, "--target", target)
    assert document, output
    assert {f["data"]["target"] for f in document["findings"]} <= {target}
    _check(document, f"{scenario} on {target}")


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


@pytest.mark.parametrize("target", ("ram", "proxy"))
def test_a_grouped_missing_finding_capped_at_50_hosts_agrees_with_the_difference(tmp_path: Path, target: str
                                                                                   ) -> None:
    """120 ECR registries and 80 self-hosted ones (tests/decisions/test_bounded_samples.py): the grouped missing
    findings list 50 hosts and count the rest; each asks for the entry the difference adds, for all its hosts."""
    import json

    from click.testing import CliRunner

    from auditor.cli import main
    from tests.decisions.test_bounded_samples import _squid_log

    log = _squid_log(tmp_path / "access.log")
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("docker.io\n")
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", str(log), "--allowlist", str(allowlist), "--budget", "20",
                                       "--target", target, "--json", str(report)])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(report.read_text())
    _check(document, f"fleet on {target}")
    grouped = [f for f in document["findings"] if f["kind"] == "missing" and "hosts_total" in f["data"]]
    assert grouped
    for finding in grouped:
        [change] = finding["data"]["changes"]
        assert change["op"] == "add" and change["address"] == finding["data"]["fix"]
        assert change["address"] in document["difference"]["add"]
        assert finding["action"].endswith(f": one entry covers all {finding['data']['hosts_total']} hosts.")
        assert finding["data"]["hosts_total"] == len(finding["hosts"]) > 50 == len(finding["data"]["hosts"])


def test_on_squid_docker_io_is_one_name_and_a_narrow_entry_is_rewritten(tmp_path: Path) -> None:
    """No Docker Hub switch on a proxy: `docker.io` allows no pull, so it goes like any unused entry, and no
    reason speaks of RAM's switch. `mcr.microsoft.com` written exact allows no `westus2.data.mcr.microsoft.com`:
    the finding keeps the entry and says how Squid must write it."""
    import json

    from click.testing import CliRunner

    from auditor.cli import main

    inputs = tuple(str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs"))
    out = tmp_path / "proxy.json"
    CliRunner().invoke(main, ["audit", *inputs, "--allowlist", str(REPO_ROOT / "examples/allowlist.txt"),
                              "--org", "acme", "--target", "proxy", "--json", str(out)])
    document = json.loads(out.read_text())
    _check(document, "example on proxy")
    diff = document["difference"]
    assert "docker.io" in diff["remove"]
    [unused] = [f for f in document["findings"] if f["kind"] == "unused" and f["entries"] == ["docker.io"]]
    assert unused["action"].startswith("Remove `docker.io`")
    assert not [c for c in diff["changes"] if "RAM" in c["reason"]]
    [mcr] = [f for f in document["findings"] if f["kind"] == "missing" and f["data"]["fix"] == "mcr.microsoft.com"]
    assert mcr["action"].startswith("Keep `mcr.microsoft.com` but write it `.mcr.microsoft.com`")
    assert "mcr.microsoft.com" in diff["keep"]
