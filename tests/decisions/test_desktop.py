"""Docker Desktop readiness from machine bundles: each broken bundle gives exactly its findings, clean ones none.

Bundles are built from the platform's clean bundle with one case's files laid over it (tests/machine/
bundle_builder.py); the whole `regaudit audit` pipeline runs on them. Expected findings are
(kind, rule, certainty, severity), worked out from the fact sheet's rule for each break (desktop.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.machine.bundle_builder import ALLOWLIST, BROKEN, BUNDLES, build_bundle

C, R = "certain", "review"
EXPECTED: dict[str, set[tuple[str, str, str, str]]] = {
    # macOS
    "mac-none": {("sign-in", "sign-in/none", C, "error"), ("bypass", "bypass/unlocked-settings", C, "warning"),
                 ("bypass", "bypass/docker-load", C, "warning")},  # settings-store turns it on, nothing locks it
    "mac-uppercase": {("sign-in", "sign-in/org-name", C, "error")},
    "mac-whitespace": {("sign-in", "sign-in/org-name", C, "error")},
    "mac-profile-array": {("sign-in", "sign-in/profile-array", C, "error"),
                          ("sign-in", "sign-in/fallback", R, "warning"),
                          ("sign-in", "sign-in/any-account", R, "error")},
    "mac-profile-old": {("sign-in", "sign-in/profile-cve-2025-4095", C, "error"),
                        ("sign-in", "sign-in/precedence", C, "note")},
    "mac-several-old": {("sign-in", "sign-in/several-orgs-old", C, "error"),
                        ("sign-in", "sign-in/precedence", C, "warning"),  # the lists differ
                        ("sign-in", "sign-in/first-org", C, "note")},
    "mac-profile-multi": {("sign-in", "sign-in/precedence", C, "warning"),
                          ("sign-in", "sign-in/first-org", R, "note")},  # first `;` token: UNCONFIRMED
    "mac-proxy-localhost": {("bypass", "bypass/local-proxy", C, "warning")},
    "mac-hosts": {("bypass", "bypass/hosts-file", C, "warning")},
    "mac-builders": {("not-enforced", "builder/docker-container", C, "warning"),
                     ("not-enforced", "builder/kubernetes", C, "warning"),
                     ("not-enforced", "builder/other-driver", R, "warning")},
    "mac-kubernetes": {("not-enforced", "engine/kubernetes", C, "warning")},
    "mac-unlocked": {("bypass", "bypass/unlocked-settings", C, "warning")},
    "mac-not-desktop": {("not-enforced", "engine/not-desktop", C, "error")},
    "mac-insecure": {("bypass", "bypass/insecure-registry", C, "warning")},
    "mac-load-off": {("bypass", "bypass/docker-load", C, "warning")},
    "mac-active-org": {("sign-in", "sign-in/active-org", R, "note")},
    "mac-old-desktop": {("bypass", "bypass/raw-socket-cve-2023-0629", R, "warning")},
    "mac-bom": {("sign-in", "sign-in/file-encoding", R, "warning")},
    # Windows
    "win-none": {("sign-in", "sign-in/none", C, "error"), ("bypass", "bypass/unlocked-settings", C, "warning"),
                 ("bypass", "bypass/docker-load", C, "warning")},
    "win-reg-sz": {("sign-in", "sign-in/value-type", R, "error")},
    "win-reg-semicolon": {("sign-in", "sign-in/org-semicolon", R, "warning")},
    "win-windows-containers": {("not-enforced", "engine/windows-containers", C, "error")},
    "win-wsl-old": {("not-enforced", "engine/wsl-kernel", C, "error")},
    "win-tcp": {("bypass", "bypass/tcp-2375", C, "warning")},
    "win-both": {("sign-in", "sign-in/precedence", C, "warning")},
    "win-port-string": {("not-enforced", "engine/windows-containers-port", R, "error")},
    "win-admin-only": {("sign-in", "sign-in/any-account", C, "error")},
    "win-remote-context": {("not-enforced", "engine/remote-context", R, "warning")},
    # Linux
    "linux-invalid": {("sign-in", "sign-in/file-invalid", R, "error")},
    "linux-not-desktop-info": {("not-enforced", "engine/not-desktop-info", R, "error")},
    "linux-unreadable": {("sign-in", "sign-in/file-invalid", R, "error"), ("sign-in", "sign-in/none", R, "error"),
                         ("bypass", "bypass/unlocked-settings", C, "warning"),
                         ("bypass", "bypass/docker-load", C, "warning")},  # on in settings-store, not locked
    "linux-native-engine": {("not-enforced", "engine/linux-socket", R, "warning")},
    "linux-several-unknown": {("sign-in", "sign-in/several-orgs-version", R, "error"),
                              ("sign-in", "sign-in/first-org", C, "note")},
}
STATE = {"mac-none": "not-enforced", "mac-bom": "review", "mac-hosts": "partial", "win-remote-context": "partial",
         "linux-several-unknown": "review", "mac-profile-multi": "partial", "win-wsl-old": "not-enforced"}
MACHINE_KINDS = {"sign-in", "not-enforced", "bypass"}


def audit(tmp_path: Path, *inputs: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", *map(str, inputs), "--allowlist", str(ALLOWLIST), "--json", str(out),
                                       *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(out.read_text(encoding="utf-8"))


def shape(finding: dict) -> tuple[str, str, str, str]:
    return finding["kind"], finding["data"]["rule"], finding["data"]["certainty"], finding["severity"]


def test_every_broken_case_has_an_expectation() -> None:
    assert {p.name for p in BROKEN.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("platform", ["mac", "win", "linux"])
def test_clean_bundle_gives_no_finding_at_all(tmp_path: Path, platform: str) -> None:
    code, document = audit(tmp_path, BUNDLES / f"{platform}-clean", extra=("--fail-on", "any"))
    assert code == 0
    assert document["findings"] == [] and document["errors"] == []
    [machine] = document["machines"]["machines"]
    assert (machine["name"], machine["state"], machine["orgs"]) == (f"{platform}-clean", "enforced", ["acme"])
    assert machine["desktop_version"] == "4.49.0"


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_bundle_gives_exactly_its_findings(tmp_path: Path, case: str) -> None:
    bundle = build_bundle(case, tmp_path / "bundles")
    _, document = audit(tmp_path, bundle)
    machine_findings = [f for f in document["findings"] if f["kind"] in MACHINE_KINDS]
    assert {shape(f) for f in machine_findings} == EXPECTED[case]
    assert [f for f in document["findings"] if f["kind"] not in MACHINE_KINDS] == []
    for finding in machine_findings:
        assert finding["data"]["machine"] == case and finding["title"].startswith(f"{case}: ")
        assert finding["data"]["fact"].startswith("desktop.md §")
        assert (finding["data"]["certainty"] == R) == finding["title"].endswith("(review)")
    [machine] = document["machines"]["machines"]
    if case in STATE:
        assert machine["state"] == STATE[case]
    blocking = [f for f in machine_findings if f["severity"] == "error" and f["kind"] != "bypass"]
    assert (machine["state"] in ("enforced", "partial")) == (not blocking and not any(
        f["data"]["certainty"] == R and f["kind"] == "sign-in" and f["severity"] != "note" for f in machine_findings))


def test_findings_name_the_file_and_line(tmp_path: Path) -> None:
    bundle = build_bundle("mac-hosts", tmp_path / "bundles")
    _, document = audit(tmp_path, bundle)
    [finding] = [f for f in document["findings"] if "registry.acme.example" in f["hosts"]]
    hosts = bundle / "hosts"
    assert hosts.read_text().splitlines()[14].startswith("10.0.0.9")
    assert finding["evidence"][0]["sources"][0]["location"] == f"{hosts}:15"
    assert "allowed by `registry.acme.example`" in finding["detail"]
    assert "kubernetes.docker.internal" not in json.dumps(document["findings"])  # Desktop's own block


def test_hub_pin_is_its_own_finding(tmp_path: Path) -> None:
    bundle = build_bundle("mac-hosts", tmp_path / "bundles")
    _, document = audit(tmp_path, bundle)
    titles = sorted(f["title"] for f in document["findings"])
    assert titles == ["mac-hosts: hosts file pins registry-1.docker.io to 10.1.2.3",
                      "mac-hosts: hosts file pins registry.acme.example to 10.0.0.9"]


def test_fleet_summary_counts_what_stops_the_rest(tmp_path: Path) -> None:
    cases = ["mac-uppercase", "win-windows-containers", "mac-builders", "linux-invalid"]
    bundles = [build_bundle(c, tmp_path / "fleet") for c in cases]
    _, document = audit(tmp_path, *bundles, BUNDLES / "win-clean")
    fleet = document["machines"]
    assert (fleet["total"], fleet["enforcing"]) == (5, 2)
    assert fleet["by_state"] == {"enforced": 1, "partial": 1, "review": 1, "not-enforced": 2}
    assert fleet["stopped_by"] == {"engine/windows-containers": 1, "sign-in/file-invalid": 1, "sign-in/org-name": 1}
    rows = {row["name"]: row for row in fleet["machines"]}
    ids = {f["id"] for f in document["findings"]}
    assert all(r["finding"] in ids for row in rows.values() for r in row["reasons"])
    assert rows["win-clean"]["reasons"] == []


def test_fail_on_sign_in_and_bypass(tmp_path: Path) -> None:
    bundle = build_bundle("mac-uppercase", tmp_path / "a")
    assert audit(tmp_path, bundle, extra=("--fail-on", "sign-in,bypass"))[0] == 1
    bundle = build_bundle("mac-load-off", tmp_path / "b")
    assert audit(tmp_path, bundle, extra=("--fail-on", "bypass"))[0] == 1
    assert audit(tmp_path, bundle, extra=("--fail-on", "sign-in"))[0] == 0
    assert audit(tmp_path, BUNDLES / "linux-clean", extra=("--fail-on", "sign-in,bypass"))[0] == 0


def test_bundle_beside_repository_files_keeps_both(tmp_path: Path) -> None:
    """A machine bundle in the same run as a repository: the repository's findings are untouched."""
    repo = Path(__file__).parents[1] / "fixtures" / "audit" / "clean" / "repo"
    bundle = build_bundle("mac-kubernetes", tmp_path / "bundles")
    out = tmp_path / "both.json"
    CliRunner().invoke(main, ["audit", str(repo), str(bundle), "--allowlist",
                              str(repo.parent / "allowlist.txt"), "--json", str(out)])
    document = json.loads(out.read_text())
    assert {shape(f) for f in document["findings"] if f["kind"] in MACHINE_KINDS} == EXPECTED["mac-kubernetes"]
    # the repository alone gives none; the bundle's daemon.json mirror is needed, and that allowlist lacks it
    assert [(f["kind"], f["hosts"]) for f in document["findings"] if f["kind"] not in MACHINE_KINDS] == \
        [("missing", ["registry.acme.example"])]
    assert document["summary"]["references"] == 1


def test_a_finding_about_something_absent_points_into_the_bundle(tmp_path: Path) -> None:
    bundle = build_bundle("mac-none", tmp_path / "bundles")
    _, document = audit(tmp_path, bundle)
    [finding] = [f for f in document["findings"] if f["data"]["rule"] == "sign-in/none"]
    sources = [s["path"] for item in finding["evidence"] for s in item["sources"]]
    assert sources == [str(bundle / "regaudit-machine.json")]


def test_the_command_summary_counts_machines(tmp_path: Path) -> None:
    bundle = build_bundle("mac-none", tmp_path / "bundles")
    result = CliRunner().invoke(main, ["audit", str(bundle), str(BUNDLES / "linux-clean"), "--allowlist",
                                       str(ALLOWLIST)])
    assert "Machines: 1 of 2 would enforce the allowlist today; enforced 1; not-enforced 1." in result.output


def test_a_lone_hosts_file_in_a_repository_is_not_a_machine(tmp_path: Path) -> None:
    repo = tmp_path / "repo" / "testdata"
    repo.mkdir(parents=True)
    (repo / "hosts").write_text("127.0.0.1 localhost\n10.1.2.3 registry-1.docker.io\n")
    _, document = audit(tmp_path, tmp_path / "repo")
    assert document["machines"]["total"] == 0
    assert [f for f in document["findings"] if f["kind"] in MACHINE_KINDS] == []
