"""`audit --target`: one evidence set, one allowlist, read with each enforcement point's semantics.

The shipped sample and examples/allowlist.txt (a RAM allowlist) are audited as RAM and as a Squid proxy. The
two audits must differ exactly where the semantics do: RAM's Docker Hub switch (Hub's CDN hosts) and suffix
matching (subdomains of a listed name). The expected difference is derived here from the allowlist text
itself, not from regaudit's matcher.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from reports.json_report import SCHEMA_PATH
from tests.conftest import FIXTURES, REPO_ROOT

SAMPLE = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]
ALLOWLIST = REPO_ROOT / "examples" / "allowlist.txt"
# Docker Hub's blob CDN hosts the knowledge base names (auditor/knowledge/docker-hub.yaml): allowed on RAM by
# its Docker Hub switch, and by nothing on a proxy unless listed.
HUB_CDN = {"production.cloudfront.docker.com",
           "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com"}


def audit_json(tmp_path: Path, target: str, allowlist: Path = ALLOWLIST, inputs: list[str] | None = None
               ) -> dict[str, Any]:
    out = tmp_path / f"{target}.json"
    result = CliRunner().invoke(main, ["audit", *(inputs or SAMPLE), "--allowlist", str(allowlist), "--target",
                                       target, "--json", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("audits")
    return {t: audit_json(tmp, t) for t in ("ram", "proxy")}


def kind_hosts(document: dict[str, Any], kind: str, field: str = "hosts") -> set[str]:
    return {h for f in document["findings"] if f["kind"] == kind for h in f[field]}


def listed() -> list[str]:
    return [ln.strip() for ln in ALLOWLIST.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def test_missing_hosts_differ_exactly_by_hub_switch_and_subdomain_matching(audits: dict[str, Any]) -> None:
    ram, proxy = audits["ram"], audits["proxy"]
    required = {r["host"] for r in ram["required"]}
    assert required == {r["host"] for r in proxy["required"]}  # same evidence, same needs
    entries = listed()

    def under_a_listed_name(host: str) -> bool:
        base = host[2:] if host.startswith("*.") else host
        return any(base.endswith("." + e) for e in entries) and host not in entries

    assert kind_hosts(ram, "missing") <= kind_hosts(proxy, "missing")
    only_on_proxy = kind_hosts(proxy, "missing") - kind_hosts(ram, "missing")
    expected = {h for h in required if h not in entries and (h in HUB_CDN or under_a_listed_name(h))
                and h not in kind_hosts(ram, "missing")}
    assert only_on_proxy == expected
    # spelled out, so the derivation above cannot hide a surprise
    assert only_on_proxy >= HUB_CDN
    assert {"api.ecr.us-west-2.amazonaws.com", "quayio-production-s3.s3.amazonaws.com",
            "prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com",
            "westus2.data.mcr.microsoft.com", "*.data.mcr.microsoft.com"} <= only_on_proxy
    by_host = {r["host"]: r["allowed_by"] for r in proxy["required"]}
    assert by_host["registry-1.docker.io"] == "registry-1.docker.io"  # listed literally: fine on both
    assert by_host["production.cloudfront.docker.com"] is None
    assert {r["host"]: r["allowed_by"] for r in ram["required"]}["api.ecr.us-west-2.amazonaws.com"] == "amazonaws.com"


def test_fixes_are_written_in_the_targets_syntax(audits: dict[str, Any]) -> None:
    def action(document: dict[str, Any], host: str) -> str:
        return next(f["action"] for f in document["findings"] if f["kind"] == "missing" and host in f["hosts"])

    # one proposed entry stands for quay.io and its cdnNN hosts: on Squid that is `.quay.io`, not `quay.io`
    assert action(audits["ram"], "cdn01.quay.io").startswith("Add `quay.io` to the allowlist")
    assert action(audits["proxy"], "cdn01.quay.io").startswith("Add `.quay.io` to the allowlist")
    assert action(audits["proxy"], "production.cloudfront.docker.com").startswith(
        "Add `production.cloudfront.docker.com` to")


def test_entry_findings_follow_the_semantics(audits: dict[str, Any]) -> None:
    ram, proxy = audits["ram"], audits["proxy"]
    # on RAM, docker.io is Hub's switch and amazonaws.com covers AWS hosts; on Squid both are one exact name
    assert kind_hosts(ram, "unused", "entries") == {"registry.gitlab.com"}
    assert kind_hosts(proxy, "unused", "entries") == {"registry.gitlab.com", "docker.io", "amazonaws.com",
                                                      "s3.amazonaws.com"}
    assert kind_hosts(ram, "over-broad", "entries") == {"amazonaws.com", "s3.amazonaws.com"}
    assert kind_hosts(proxy, "over-broad", "entries") == set()  # an exact name allows no other tenant
    assert len([f for f in ram["findings"] if f["kind"] == "redundant"]) == 4
    assert [f for f in proxy["findings"] if f["kind"] == "redundant"] == []
    # RAM's enforcement gaps (buildx drivers, Windows containers) are RAM's, not the proxy's
    assert kind_hosts(ram, "not-enforced") and not kind_hosts(proxy, "not-enforced")
    schema = json.loads(SCHEMA_PATH.read_text())
    for target, document in audits.items():
        assert {f["data"]["target"] for f in document["findings"]} == {target}
        assert document["options"]["target"] == target
        jsonschema.validate(document, schema)


def test_a_squid_subtree_entry_is_over_broad_on_the_proxy(tmp_path: Path) -> None:
    document = audit_json(tmp_path, "proxy", FIXTURES / "targets" / "exports" / "proxy-subtree.txt")
    [finding] = [f for f in document["findings"] if f["kind"] == "over-broad"]
    assert finding["entries"] == ["amazonaws.com"] and "`.amazonaws.com` allows every subdomain" in finding["detail"]
    allowed = {r["host"]: r["allowed_by"] for r in document["required"]}
    assert allowed["api.ecr.us-west-2.amazonaws.com"] == "amazonaws.com"
    assert allowed["pkg-containers.githubusercontent.com"] is None


def test_admission_audit_judges_images_as_written(tmp_path: Path) -> None:
    document = audit_json(tmp_path, "k8s-admission", FIXTURES / "targets" / "admission" / "prefixes.txt",
                          [str(FIXTURES / "targets" / "admission" / "k8s")])
    over_broad = {f["entries"][0]: f for f in document["findings"] if f["kind"] == "over-broad"}
    assert set(over_broad) == {"ghcr.io", "docker.io/acme"}
    assert "ghcr.io.evil.com/x" in over_broad["ghcr.io"]["detail"]
    assert over_broad["docker.io/acme"]["hosts"] == ["docker.io/acme/"]
    missing = {f["hosts"][0]: f for f in document["findings"] if f["kind"] == "missing"}
    # nginx:1.27 is docker.io/library/nginx, which is listed, but admission compares the text as written
    assert missing["docker.io/library/"]["data"]["written_short"] == ["nginx:1.27"]
    assert "docker.io/library/nginx:1.27" in missing["docker.io/library/"]["action"]
    # the lookalike image is admitted by the slash-less `ghcr.io`: the over-broad finding is what catches it
    assert "ghcr.io.evil.com/acme/" not in missing
    assert set(missing) == {"docker.io/library/"}
    assert {f["entries"][0] for f in document["findings"] if f["kind"] == "unused"} == {"registry.k8s.io/"}


@pytest.mark.parametrize("target", ["proxy", "dns", "harden-runner"])
def test_an_exported_proposal_read_back_misses_only_what_the_proposal_could_not_cover(tmp_path: Path,
                                                                                       target: str) -> None:
    """export -> audit round trip: each target's reader reads its own writer's output with the same meaning."""
    runner = CliRunner()
    proposal = tmp_path / "proposal.json"
    assert runner.invoke(main, ["propose", *SAMPLE, "--format", "json", "-o", str(proposal)]).exit_code == 0
    native = tmp_path / f"{target}.native"
    assert runner.invoke(main, ["export", "--target", target, "--proposal", str(proposal), "-o",
                                str(native)]).exit_code == 0
    document = audit_json(tmp_path, target, native)
    uncovered = {u["host"] for u in json.loads(proposal.read_text())["uncovered"]}
    assert uncovered == {"*-docker.pkg.dev", "prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com"}
    assert kind_hosts(document, "missing") == uncovered
    assert kind_hosts(document, "unused", "entries") == set()
    assert [f for f in document["findings"] if f["kind"] in ("redundant", "over-broad")] == []
