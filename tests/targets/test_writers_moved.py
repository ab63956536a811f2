"""The writers `propose --format squid|hadolint` always used, now in auditor/targets/: same output as before."""

from __future__ import annotations

import pytest

from auditor.core.allowlist import AllowlistEntry, MatchMode
from auditor.targets.hadolint import write_hadolint
from auditor.targets.proxy import write_squid
from parsers.common.yaml_loader import load_documents


def test_squid_drops_subdomains_of_listed_domains_in_suffix_mode() -> None:
    entries = [AllowlistEntry(a, a) for a in ["docker.com", "production.cloudflare.docker.com", "ghcr.io", "10.0.0.9"]]
    suffix = write_squid(entries, MatchMode.SUFFIX)
    assert "acl regaudit_allowed dstdomain .docker.com" in suffix
    assert "cloudflare" not in suffix  # squid refuses a domain and its own subdomain in one acl
    assert "acl regaudit_allowed_ip dst 10.0.0.9" in suffix
    exact = write_squid(entries, MatchMode.EXACT, acl_name="ram")
    assert "acl ram dstdomain production.cloudflare.docker.com" in exact
    assert "acl ram dstdomain docker.com" in exact and " .docker.com" not in exact
    with pytest.raises(ValueError):
        write_squid(entries, acl_name="bad name")


def test_hadolint_lists_registries_as_yaml() -> None:
    text = write_hadolint(["ghcr.io", "docker.io", "docker.io"], ["image registries only"])
    data = next(iter(load_documents(text)))
    assert data["trustedRegistries"] == ["docker.io", "ghcr.io"]
    assert "# image registries only" in text
    assert next(iter(load_documents(write_hadolint([]))))["trustedRegistries"] == []


