"""The knowledge base: every profile loads, cites a source and a date, and matches what registries.md says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.core.model import Confidence
from auditor.knowledge import KnowledgeError, fill_template, load_knowledge, pattern_anchor

KB = load_knowledge()


def test_every_required_family_has_a_profile() -> None:
    names = {p.id for p in KB.profiles}
    assert {"docker-hub", "ecr", "ecr-public", "gcr", "artifact-registry", "acr", "mcr", "ghcr", "gitlab", "quay",
            "redhat", "k8s", "ngc", "oracle", "jfrog"} <= names


def test_every_fact_has_a_source_a_date_and_a_confidence() -> None:
    for profile in KB.profiles:
        for pattern in profile.hosts:
            known = pattern.known
            assert known.source.startswith(("https://", "/work/shared/registries.md")), known
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", known.checked), known
            assert isinstance(known.confidence, Confidence)


@pytest.mark.parametrize(("host", "profile", "variables"), [
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com", "ecr", {"account": "123456789012", "region": "us-west-2"}),
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "ecr",
     {"account": "123456789012", "region": "us-gov-west-1"}),
    ("123456789012.dkr-ecr.eu-central-1.on.aws", "ecr", {"account": "123456789012", "region": "eu-central-1"}),
    ("public.ecr.aws", "ecr-public", {}),
    ("registry-1.docker.io", "docker-hub", {}),
    ("eu.gcr.io", "gcr", {"multiregion": "eu"}),
    ("europe-west4-docker.pkg.dev", "artifact-registry", {"location": "europe-west4"}),
    ("contosoregistry.azurecr.io", "acr", {"name": "contosoregistry", "tld": "io"}),
    ("mcr.microsoft.com", "mcr", {}),
    ("ghcr.io", "ghcr", {}),
    ("registry.gitlab.com", "gitlab", {}),
    ("quay.io", "quay", {}),
    ("registry.redhat.io", "redhat", {}),
    ("registry.k8s.io", "k8s", {}),
    ("nvcr.io", "ngc", {}),
    ("container-registry.oracle.com", "oracle", {}),
    ("iad.ocir.io", "oracle", {"region_key": "iad"}),
    ("acme.jfrog.io", "jfrog", {"instance": "acme"}),
])
def test_match_api_hosts(host: str, profile: str, variables: dict[str, str]) -> None:
    found = KB.match_api(host)
    assert found is not None, host
    assert found.profile.id == profile
    assert found.variables == variables


def test_no_match_for_unknown_or_lookalike_hosts() -> None:
    assert KB.match("registry.corp.example") is None
    assert KB.match("ghcr.io.evil.example") is None
    assert KB.match("12345.dkr.ecr.us-west-2.amazonaws.com") is None  # an account id has 12 digits


def test_ecr_required_hosts_fill_the_region() -> None:
    hosts = {k.host_or_pattern: k for k in KB.required_for("123456789012.dkr.ecr.eu-west-1.amazonaws.com")}
    assert set(hosts) == {"123456789012.dkr.ecr.eu-west-1.amazonaws.com", "api.ecr.eu-west-1.amazonaws.com",
                          "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"}
    storage = hosts["prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"]
    assert storage.role == "storage" and storage.confidence is Confidence.MEDIUM and not storage.wildcard
    assert storage.source == "https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-minimum-s3-perms.html"
    # The other front doors (FIPS, dual-stack) are alternatives, not requirements.
    assert not any("fips" in h or h.endswith(".on.aws") for h in hosts)


def test_required_for_without_itself_is_where_the_endpoint_leads() -> None:
    for endpoint, options in [("123456789012.dkr.ecr.eu-west-1.amazonaws.com", {}), ("registry-1.docker.io", {}),
                              ("registry-1.docker.io", {"include_optional": True, "conditional_only": True}),
                              ("mcr.microsoft.com", {"include_optional": True})]:
        whole = KB.required_for(endpoint, **options)
        others = KB.required_for(endpoint, itself=False, **options)
        assert others == [k for k in whole if k.host_or_pattern != endpoint], endpoint
        assert others  # each of these registries leads somewhere
    assert KB.required_for("registry.corp.example", itself=False) == []


def test_docker_hub_required_hosts_and_conditional_ones() -> None:
    plain = {k.host_or_pattern: k.role for k in KB.required_for("registry-1.docker.io")}
    assert plain == {
        "registry-1.docker.io": "api", "auth.docker.io": "auth", "production.cloudflare.docker.com": "cdn",
        "production.cloudfront.docker.com": "cdn",
        "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com": "storage"}
    everything = {k.host_or_pattern: k for k in KB.required_for("registry-1.docker.io", include_optional=True)}
    aws = everything["docker-images-prod.s3.dualstack.*.amazonaws.com"]
    assert aws.wildcard and aws.condition == "clients running on AWS" and not aws.needed
    assert everything["hub.docker.com"].role == "ui"


def test_patterns_stay_patterns_when_variables_are_unknown() -> None:
    hosts = {k.host_or_pattern: k for k in KB.required_for("registry.k8s.io")}
    assert hosts["prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com"].wildcard
    assert hosts["*-docker.pkg.dev"].wildcard
    mcr = {k.host_or_pattern: k for k in KB.required_for("mcr.microsoft.com")}
    assert mcr["*.data.mcr.microsoft.com"].wildcard and mcr["*.data.mcr.microsoft.com"].role == "data"
    assert "mcr.azure.cn" not in mcr  # the China front door is an alternative


def test_fill_template_and_anchor() -> None:
    assert fill_template("prod-{region}-x.s3.{region}.amazonaws.com", {"region": "us-east-1"}) == (
        "prod-us-east-1-x.s3.us-east-1.amazonaws.com", False)
    assert fill_template("{name}.{region}.data.azurecr.io", {"name": "acme"}) == ("acme.*.data.azurecr.io", True)
    assert pattern_anchor("*.data.mcr.microsoft.com") == "data.mcr.microsoft.com"
    assert pattern_anchor("prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com") == "amazonaws.com"


@pytest.mark.parametrize("domain", [
    "amazonaws.com", "s3.amazonaws.com", "cloudfront.net", "blob.core.windows.net", "core.windows.net",
    "googleapis.com", "storage.googleapis.com", "azurecr.io", "pkg.dev", "githubusercontent.com",
    "r2.cloudflarestorage.com",
    "s3.eu-west-1.amazonaws.com",  # Public Suffix List, private section
    "dkr.ecr.eu-west-1.amazonaws.com",  # from the ECR template: one label per AWS account
    "westeurope.geo.azurecr.io",  # from the ACR template
    "com", "co.uk",  # ICANN public suffixes
])
def test_multi_tenant_domains(domain: str) -> None:
    assert KB.is_multi_tenant(domain), domain


@pytest.mark.parametrize("domain", ["docker.com", "docker.io", "quay.io", "mcr.microsoft.com", "ghcr.io",
                                    "gitlab-static.net", "corp.example"])
def test_single_tenant_domains(domain: str) -> None:
    assert KB.is_multi_tenant(domain) is None, domain


def test_public_suffix_is_icann_only() -> None:
    assert KB.is_public_suffix("com") and KB.is_public_suffix("co.uk")
    assert not KB.is_public_suffix("cloudfront.net")  # private section: multi-tenant, but not a TLD


def test_shared_suffix_of_a_bucket_host() -> None:
    assert KB.shared_suffix("prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com") == \
        "s3.eu-west-1.amazonaws.com"
    assert KB.shared_suffix("production.cloudflare.docker.com") == "com"


def test_well_known_hosts_for_lookalike_checks() -> None:
    known = KB.well_known_registry_hosts()
    assert {"registry-1.docker.io", "ghcr.io", "quay.io", "mcr.microsoft.com", "public.ecr.aws",
            "data.mcr.microsoft.com"} <= set(known)
    assert {"amazonaws.com", "dkr.ecr.amazonaws.com"} & set(known) == {"amazonaws.com"}  # fixed tails only
    assert known == sorted(known)


def test_self_hosted_hints() -> None:
    assert "Harbor" in (KB.self_hosted_hint("harbor.corp.example") or "")
    assert "Nexus" in (KB.self_hosted_hint("nexus-docker.corp.example") or "")
    assert "Artifactory" in (KB.self_hosted_hint("artifactory.corp.example") or "")
    assert KB.self_hosted_hint("ghcr.io") is None  # known: not a self-hosted guess
    assert KB.self_hosted_hint("intranet.corp.example") is None


def test_malformed_profiles_are_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: x\nhosts:\n  - host: a.example\n    role: api\n    confidence: H\n")
    with pytest.raises(KnowledgeError, match="every fact needs a source"):
        load_knowledge(tmp_path)
    (tmp_path / "broken.yaml").write_text("id: x\nhosts:\n  - host: a.example\n    role: api\n"
                                          "    confidence: sure\n    source: https://a.example\n")
    with pytest.raises(KnowledgeError, match="unknown confidence"):
        load_knowledge(tmp_path)


def test_hosts_that_serve_one_registry_of_a_family() -> None:
    redhat = {k.host_or_pattern for k in KB.required_for("registry.redhat.io")}
    access = {k.host_or_pattern for k in KB.required_for("registry.access.redhat.com")}
    assert "sso.redhat.com" in redhat and "sso.redhat.com" not in access
    assert {"cdn.quay.io", "cdn06.quay.io"} <= redhat & access
    # The signature store matters only when a policy requires signatures: conditional, not required.
    assert "access.redhat.com" not in access
    optional = {k.host_or_pattern: k for k in KB.required_for("registry.access.redhat.com", include_optional=True)}
    assert optional["access.redhat.com"].condition.startswith("signature verification")


def test_fips_and_dual_stack_ecr_blob_host_is_unconfirmed() -> None:
    fips = {k.host_or_pattern: k for k in KB.required_for("123456789012.dkr.ecr-fips.us-west-2.amazonaws.com")}
    bucket = fips["prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com"]
    assert bucket.confidence is Confidence.UNCONFIRMED and "Best guess" in bucket.note
    standard = {k.host_or_pattern: k for k in KB.required_for("123456789012.dkr.ecr.us-west-2.amazonaws.com")}
    assert standard["prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com"].confidence is Confidence.MEDIUM


@pytest.mark.parametrize(("registry", "token_host"), [
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com", "api.ecr.us-west-2.amazonaws.com"),
    ("123456789012.dkr.ecr-fips.us-west-2.amazonaws.com", "ecr-fips.us-west-2.amazonaws.com"),
    ("123456789012.dkr-ecr.us-west-2.on.aws", "ecr.us-west-2.api.aws"),
    ("123456789012.dkr-ecr-fips.us-west-2.on.aws", "ecr-fips.us-west-2.api.aws"),
])
def test_each_ecr_front_door_has_its_own_token_endpoint(registry: str, token_host: str) -> None:
    auth = [k.host_or_pattern for k in KB.required_for(registry) if k.role == "auth"]
    assert auth == [token_host]


def test_every_icann_public_suffix_is_public_in_the_whole_list() -> None:
    """is_multi_tenant asks the whole Public Suffix List first and the ICANN section only for the names it holds:
    right only while every ICANN public suffix is a public suffix of the whole list. Checked over every rule of
    the bundled list, with a name below each and the parent of each."""
    import glob
    import os

    import publicsuffixlist

    from auditor.knowledge import _icann, _psl

    data = glob.glob(os.path.join(os.path.dirname(publicsuffixlist.__file__), "*.dat"))
    assert data, "publicsuffixlist ships its list as a .dat file"
    names: set[str] = set()
    for line in Path(data[0]).read_text(encoding="utf-8").splitlines():
        rule = line.strip()
        if rule and not rule.startswith("//"):
            name = rule.lstrip("!").replace("*.", "x.")
            names |= {name, "a." + name, name.split(".", 1)[-1]}
    assert len(names) > 10_000
    assert [n for n in names if _icann().is_public(n) and not _psl().is_public(n)] == []
    kb = load_knowledge()
    assert "public suffix" in (kb.is_multi_tenant("co.uk") or "")
    assert "private section" in (kb.is_multi_tenant("netlify.app") or "")
    assert kb.is_multi_tenant("registry.corp.example") is None


def test_required_for_gives_each_endpoint_its_own_facts_whatever_was_asked_before() -> None:
    """required_for fills a profile's other hosts once per set of the variables they name (a region's token and
    bucket hosts, shared by its registries): asked in any order on one knowledge base, each endpoint gets exactly
    what a fresh knowledge base gives it."""
    fresh_knowledge = load_knowledge.__wrapped__  # not the cached one: nothing asked of it before

    endpoints = ["111111111111.dkr.ecr.us-east-1.amazonaws.com", "222222222222.dkr.ecr.us-east-1.amazonaws.com",
                 "111111111111.dkr.ecr.eu-west-1.amazonaws.com", "333333333333.dkr.ecr-fips.us-west-2.amazonaws.com",
                 "444444444444.dkr-ecr.ap-south-1.on.aws", "acme.azurecr.io", "other.azurecr.io",
                 "europe-west1-docker.pkg.dev", "us-docker.pkg.dev", "registry-1.docker.io", "ghcr.io",
                 "registry.redhat.io", "registry.access.redhat.com", "mcr.microsoft.com", "registry.lab.test"]
    options = [(False, False), (True, False), (True, True)]

    def facts(kb: object, host: str, include_optional: bool, conditional_only: bool) -> list[tuple]:
        return [(k.host_or_pattern, k.role, k.wildcard, k.confidence, k.condition, k.source, k.note)
                for k in kb.required_for(host, include_optional=include_optional,  # type: ignore[attr-defined]
                                         conditional_only=conditional_only)]

    fresh = {(host, *option): facts(fresh_knowledge(), host, *option) for host in endpoints for option in options}
    assert any(len(found) > 2 for found in fresh.values())  # the profiles do fill other hosts
    shared = fresh_knowledge()
    for host in [*endpoints, *reversed(endpoints)]:
        for option in options:
            assert facts(shared, host, *option) == fresh[(host, *option)], (host, option)
