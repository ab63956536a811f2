"""Audit findings: each kind comes from a fixture built for it and is absent from the clean fixture.

The fixtures under tests/fixtures/audit/<kind>/ are small repositories (Dockerfiles, a workflow), a
Pi-hole query log, and an allowlist; the whole pipeline runs on them through the `audit` command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.decisions.audit import FindingKind
from auditor.decisions.lookalike import edit_distance, find_lookalike, skeleton, to_unicode

AUDIT = Path(__file__).parents[1] / "fixtures" / "audit"
KINDS = ["missing", "unused", "redundant", "over-broad", "over-limit", "blocked-pattern", "lookalike",
         "image-access", "not-enforced", "sign-in", "bypass", "network-entry",
         "duplicate"]


def run_audit(tmp_path: Path, fixture: str, *extra: str, inputs: tuple[str, ...] = ()) -> tuple[int, dict, str]:
    out = tmp_path / f"{fixture}.json"
    base = AUDIT / fixture
    args = ["audit", *(inputs or (str(base),)), "--allowlist", str(base / "allowlist.txt"), "--json", str(out),
            *extra]
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    document = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return result.exit_code, document, result.output


def of_kind(document: dict, kind: str) -> list[dict]:
    return [f for f in document["findings"] if f["kind"] == kind]


def locations(finding: dict) -> set[str]:
    return {s["location"] for item in finding["evidence"] for s in item["sources"]}


# -- each kind from its fixture, none from the clean one -------------------------------------------------

FIXTURE_FOR = {
    "missing": ("missing", ()),
    "unused": ("unused", ()),
    "redundant": ("redundant", ()),
    "over-broad": ("over-broad", ()),
    "over-limit": ("clean", ("--budget", "1")),
    "blocked-pattern": ("blocked", ()),
    "lookalike": ("lookalike", ()),
    "image-access": ("image-access", ("--org", "acme")),
    "not-enforced": ("not-enforced", ()),
    "sign-in": ("sign-in", ()),  # a machine bundle (tests/decisions/test_desktop.py has the rest)
    "bypass": ("bypass", ()),
    "network-entry": ("network-entry", ()),
    "duplicate": ("duplicate", ()),
}


def test_clean_fixture_has_no_finding_of_any_kind(tmp_path: Path) -> None:
    code, document, output = run_audit(tmp_path, "clean", "--fail-on", "any")
    assert code == 0, output
    assert document["findings"] == []
    assert all(count == 0 for count in document["summary"]["by_kind"].values())
    assert set(document["summary"]["by_kind"]) == {kind.value for kind in FindingKind}
    assert "0 findings" in output


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_comes_from_its_fixture(tmp_path: Path, kind: str) -> None:
    fixture, extra = FIXTURE_FOR[kind]
    code, document, _ = run_audit(tmp_path, fixture, *extra, "--fail-on", kind)
    assert of_kind(document, kind), f"{kind} not produced by fixture {fixture}"
    assert code == 1  # --fail-on KIND with a KIND finding
    assert document["summary"]["by_kind"][kind] == len(of_kind(document, kind))


# -- what each finding says --------------------------------------------------------------------------


def test_missing_redirect_host_names_the_pull_and_its_lines(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "missing")
    [finding] = of_kind(document, "missing")
    assert finding["hosts"] == ["pkg-containers.githubusercontent.com"]
    assert finding["severity"] == "error"
    assert finding["data"]["registry_host"] is False  # a redirect host, not the registry
    assert "blob" in finding["data"]["roles"]
    assert finding["data"]["images"] == ["ghcr.io/acme/app:1.0"]
    assert any(loc.endswith("missing/repo/Dockerfile:2") for loc in locations(finding))
    assert "ghcr.io → pkg-containers.githubusercontent.com" in finding["data"]["chains"]
    assert "`pkg-containers.githubusercontent.com`" in finding["action"]


def test_missing_registry_itself_is_marked_as_registry(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "lookalike")
    [finding] = [f for f in of_kind(document, "missing") if f["hosts"] == ["ghrc.io"]]
    assert finding["data"]["registry_host"] is True
    assert any(loc.endswith("lookalike/repo/Dockerfile:2") for loc in locations(finding))


def test_unused_entry_states_the_time_window(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "unused")
    [finding] = of_kind(document, "unused")
    assert finding["entries"] == ["registry.gitlab.com"]
    assert "no timestamps" in finding["data"]["time_window"]
    assert any(loc.endswith("unused/allowlist.txt:3") for loc in locations(finding))
    row = next(e for e in document["allowlist"]["entries"] if e["address"] == "registry.gitlab.com")
    assert row["status"] == ["unused"] and row["findings"] == [finding["id"]]


def test_unused_window_comes_from_timestamped_logs(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "blocked", "--allowlist", str(AUDIT / "unused" / "allowlist.txt"))
    [finding] = [f for f in of_kind(document, "unused") if f["entries"] == ["registry.gitlab.com"]]
    assert finding["data"]["time_window"] == "2026-11-20T08:00:00Z to 2026-11-20T11:00:00Z"


def test_redundant_depends_on_match_mode(tmp_path: Path) -> None:
    _, suffix, _ = run_audit(tmp_path, "redundant")
    [finding] = of_kind(suffix, "redundant")
    assert finding["entries"] == ["registry.acme.example", "acme.example"]
    assert finding["data"]["covered_by"] == "acme.example"
    _, exact, _ = run_audit(tmp_path, "redundant", "--match", "exact")
    assert of_kind(exact, "redundant") == []


def test_over_broad_offers_the_proposals_narrower_entries(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "over-broad")
    [finding] = of_kind(document, "over-broad")
    assert finding["entries"] == ["amazonaws.com"]
    narrower = finding["data"]["narrower"]
    proposed = {e["address"] for e in document["proposal"]["entries"]}
    assert narrower and set(narrower) <= proposed
    assert all(n.endswith(".amazonaws.com") for n in narrower)
    assert "123456789012.dkr.ecr.us-west-2.amazonaws.com" in narrower
    assert "tenant" in finding["data"]["reason"] or "customer" in finding["data"]["reason"]
    _, exact, _ = run_audit(tmp_path, "over-broad", "--match", "exact")
    assert of_kind(exact, "over-broad") == []  # an exact entry allows that one name only


def test_over_limit_counts_docker_hub_default_when_asked(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "clean", "--budget", "2")
    assert of_kind(document, "over-limit") == []
    _, counted, _ = run_audit(tmp_path, "clean", "--budget", "2", "--count-docker-hub-default")
    [finding] = of_kind(counted, "over-limit")
    assert finding["data"] == {"count": 3, "budget": 2, "docker_hub_default_counted": True,
                               "target": "ram"}


def test_blocked_patterns_are_grouped_and_classified(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "blocked")
    groups = {f["hosts"][0]: f for f in of_kind(document, "blocked-pattern")}
    assert set(groups) == {"quay.io", "pkg-containers.githubusercontent.com", "docker-io.com"}
    storm = groups["quay.io"]["data"]
    assert storm["classification"] == "unapproved-registry"
    assert storm["count"] == 26 and storm["clients"] == 2 and storm["retry_storm"] is True
    assert storm["first"] == "2026-11-20T10:00:00Z" and storm["last"] == "2026-11-20T10:01:40Z"
    assert storm["hourly"] == {"2026-11-20T10:00:00Z": 26}
    mapping = groups["pkg-containers.githubusercontent.com"]
    assert mapping["data"]["classification"] == "missing-domain-mapping"
    assert mapping["data"]["hourly"] == {"2026-11-20T08:00:00Z": 1, "2026-11-20T09:00:00Z": 1}
    assert mapping["data"]["retry_storm"] is False
    assert mapping["severity"] == "error"
    lookalike = groups["docker-io.com"]["data"]
    assert lookalike["classification"] == "lookalike" and lookalike["imitates"] == "docker.io"
    assert any("pihole.log:" in loc for loc in locations(groups["quay.io"]))
    assert document["blocked"]["timeline"] == [
        {"hour": "2026-11-20T08:00:00.000Z", "count": 1}, {"hour": "2026-11-20T09:00:00.000Z", "count": 1},
        {"hour": "2026-11-20T10:00:00.000Z", "count": 26}, {"hour": "2026-11-20T11:00:00.000Z", "count": 1}]


def test_lookalike_reference_is_reported_with_its_line(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "lookalike")
    [finding] = of_kind(document, "lookalike")
    assert finding["hosts"] == ["ghrc.io"] and finding["entries"] == []
    assert finding["data"] == {"imitates": "ghcr.io", "technique": "edit-distance", "distance": 1, "changes": [],
                               "target": "ram"}
    assert any(loc.endswith("lookalike/repo/Dockerfile:2") for loc in locations(finding))


def test_lookalike_allowlist_entry_is_reported(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("ghcr.io\npkg-containers.githubusercontent.com\nxn--dcker-jye.io\n", encoding="utf-8")
    _, document, _ = run_audit(tmp_path, "clean", "--allowlist", str(allowlist))
    [finding] = of_kind(document, "lookalike")
    assert finding["entries"] == ["xn--dcker-jye.io"]
    assert finding["data"]["technique"] == "punycode" and finding["data"]["imitates"] == "docker.io"


def test_image_access_categories(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "image-access", "--org", "acme")
    categories = {f["data"]["namespace"]: (f["data"]["category"], f["severity"]) for f in of_kind(document,
                                                                                                  "image-access")}
    assert categories == {"library": ("official", "note"), "acme": ("organization", "note"),
                          "bitnami": ("community-or-verified", "warning")}
    bitnami = next(f for f in of_kind(document, "image-access") if f["data"]["namespace"] == "bitnami")
    assert "Verified Publisher" in bitnami["detail"] and "cannot be told from a name" in bitnami["detail"]
    _, without_org, _ = run_audit(tmp_path, "image-access")
    assert {f["data"]["namespace"]: f["data"]["category"] for f in of_kind(without_org, "image-access")}["acme"] \
        == "community-or-verified"


def test_not_enforced_signals_point_at_their_lines(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "not-enforced")
    by_signal = {f["data"]["signal"]: f for f in of_kind(document, "not-enforced")}
    assert set(by_signal) == {"buildx-kubernetes", "windows-containers"}
    assert any(loc.endswith(".github/workflows/build.yml:8") for loc in locations(by_signal["buildx-kubernetes"]))
    assert any(loc.endswith("not-enforced/repo/Dockerfile:1") for loc in locations(by_signal["windows-containers"]))


# -- exit codes ------------------------------------------------------------------------------------------


def test_fail_on_selects_kinds(tmp_path: Path) -> None:
    assert run_audit(tmp_path, "missing", "--fail-on", "missing")[0] == 1
    assert run_audit(tmp_path, "missing", "--fail-on", "unused,redundant")[0] == 0
    assert run_audit(tmp_path, "missing", "--fail-on", "any")[0] == 1
    assert run_audit(tmp_path, "missing")[0] == 0
    code, _, output = run_audit(tmp_path, "missing", "--fail-on", "missing,bogus")
    assert code == 2 and "unknown finding kind or severity 'bogus'" in output


def test_strict_fails_on_unreadable_allowlist_entries(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("ghcr.io\npkg-containers.githubusercontent.com\nnot a host!\n", encoding="utf-8")
    assert run_audit(tmp_path, "clean", "--allowlist", str(allowlist))[0] == 0
    code, document, _ = run_audit(tmp_path, "clean", "--allowlist", str(allowlist), "--strict")
    assert code == 2
    assert document["allowlist"]["errors"][0]["location"].endswith("allowlist.txt:3")


def test_missing_allowlist_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", str(AUDIT / "clean"), "--allowlist", str(tmp_path / "none.txt")])
    assert result.exit_code == 2 and "allowlist not found" in result.output


def test_findings_are_deterministic_and_keyed(tmp_path: Path) -> None:
    _, first, _ = run_audit(tmp_path, "blocked")
    _, second, _ = run_audit(tmp_path, "blocked")
    assert [f["key"] for f in first["findings"]] == [f["key"] for f in second["findings"]]
    assert len({f["key"] for f in first["findings"]}) == len(first["findings"])
    assert [f["id"] for f in first["findings"]] == [f"F{n:03d}" for n in range(1, len(first["findings"]) + 1)]


# -- lookalike detection -------------------------------------------------------------------------------

TARGETS = frozenset({"docker.io", "registry-1.docker.io", "auth.docker.io", "ghcr.io", "gcr.io", "quay.io",
                     "mcr.microsoft.com", "registry.k8s.io", "public.ecr.aws"})


@pytest.mark.parametrize(("host", "imitates", "technique"), [
    ("docker-io.com", "docker.io", "typosquat"),
    ("registry-k8s.io", "registry.k8s.io", "typosquat"),
    ("mcr-microsoft.com", "mcr.microsoft.com", "typosquat"),
    ("quay.com", "quay.io", "typosquat"),  # same name, other suffix
    ("ghrc.io", "ghcr.io", "edit-distance"),
    ("qauy.io", "quay.io", "edit-distance"),
    ("d0cker.io", "docker.io", "homoglyph"),
    ("dоcker.io", "docker.io", "homoglyph"),  # Cyrillic о
    ("xn--dcker-jye.io", "docker.io", "punycode"),  # the same name as IDNA A-label
    ("registry.k8s.io.evil.net", "registry.k8s.io", "prefix-trick"),
    ("ghcr.io-mirror.net", "ghcr.io", "prefix-trick"),
])
def test_lookalikes_are_found(host: str, imitates: str, technique: str) -> None:
    found = find_lookalike(host, TARGETS)
    assert found is not None
    assert (found.imitates, found.technique) == (imitates, technique)


@pytest.mark.parametrize("host", [
    "ghcr.io", "registry-1.docker.io", "index.docker.io", "k8s.gcr.io", "eu.gcr.io",  # the real ones
    "regsitry-1.docker.io",  # misspelt, but inside docker.io: nobody else can own it
    "pkg-containers.githubusercontent.com", "registry.gitlab.com", "example.com", "harbor.corp.example",
    "quay-mirror.corp.example",
])
def test_legitimate_hosts_are_not_lookalikes(host: str) -> None:
    assert find_lookalike(host, TARGETS) is None


def test_lookalike_helpers() -> None:
    assert edit_distance("ghcr", "ghrc") == 1  # one transposition
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("kitten", "sitting", limit=1) == 2  # bounded: "more than 1"
    assert edit_distance("kitten", "sitting", limit=3) == 3
    assert to_unicode("xn--dcker-jye.io") == "dоcker.io"
    assert skeleton("rnicrosoft") == "microsoft"


def test_bounded_edit_distance_agrees_with_the_full_one() -> None:
    import itertools

    words = ["".join(p) for n in range(5) for p in itertools.product("abc", repeat=n)]
    for a, b in itertools.product(words[::3], words[::2]):
        full = edit_distance(a, b)
        for limit in (0, 1, 2):
            assert edit_distance(a, b, limit) == (full if full <= limit else limit + 1), (a, b, limit)


def test_missing_hosts_fixed_by_one_entry_are_one_finding(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "blocked")
    [quay] = [f for f in of_kind(document, "missing") if "quay.io" in f["hosts"]]
    assert quay["data"]["fix"] == "quay.io" and quay["data"]["registry_host"] is True
    assert len(quay["hosts"]) > 1 and all(h.endswith(".quay.io") for h in quay["hosts"] if h != "quay.io")
    assert {h["host"] for h in quay["data"]["hosts"]} == set(quay["hosts"])
    assert quay["title"] == f"quay.io and {len(quay['hosts']) - 1} hosts under it are not allowed"
    assert "`quay.io`" in quay["action"]


def test_enforcement_signals_in_ci_text() -> None:
    from auditor.decisions.enforcement import scan_file

    path = AUDIT / "signals" / "ci-variants.yml"
    found = [(s.kind, s.source.line) for s in scan_file(path, "ci-variants.yml")]
    assert found == [
        ("buildx-docker-container", 5),  # setup-buildx-action defaults to docker-container
        ("buildx-docker-container", 6),
        ("buildx-kubernetes", 8),
        ("buildx-docker-container", 9),
        ("buildx-docker-container", 10),  # buildx create without --driver
        ("windows-containers", 11),
        ("docker-debug", 12),
    ]


def test_allowlist_rows_mark_only_the_entry_a_finding_is_about(tmp_path: Path) -> None:
    _, document, _ = run_audit(tmp_path, "redundant")
    rows = {row["address"]: row for row in document["allowlist"]["entries"]}
    [finding] = of_kind(document, "redundant")
    assert rows["registry.acme.example"]["status"] == ["redundant"]
    assert rows["acme.example"]["status"] == ["ok"]  # the covering entry is fine
    assert rows["acme.example"]["findings"] == [finding["id"]]  # but links to the finding
