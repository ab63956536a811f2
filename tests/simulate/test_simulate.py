"""`regaudit simulate`: the real Squid and Unbound on loopback, next to the static audit, host by host."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.simulate.dns_wire import StubUpstream, parse_answer, query, stub_reply
from auditor.simulate.run import _replayable
from auditor.targets.base import Rule, Scope
from auditor.targets.dns import write_rpz
from auditor.targets.proxy import native_access_config
from tests.conftest import FIXTURES, REPO_ROOT

SAMPLE = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]
ALLOWLIST = REPO_ROOT / "examples" / "allowlist.txt"
PROXY = FIXTURES / "simulate" / "proxy"
needs_squid = pytest.mark.skipif(shutil.which("squid") is None and not Path("/usr/sbin/squid").exists(),
                                 reason="Debian squid is not installed")
needs_unbound = pytest.mark.skipif(shutil.which("unbound") is None and not Path("/usr/sbin/unbound").exists(),
                                   reason="Debian unbound is not installed")


def simulate(tmp_path: Path, target: str, allowlist: Path = ALLOWLIST) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"sim-{target}.json"
    result = CliRunner().invoke(main, ["simulate", *SAMPLE, "--target", target, "--allowlist", str(allowlist),
                                       "--format", "json", "-o", str(out)], catch_exceptions=False)
    return result.exit_code, json.loads(out.read_text()), result.output


def audit_missing(tmp_path: Path, target: str, allowlist: Path = ALLOWLIST) -> set[str]:
    out = tmp_path / f"audit-{target}.json"
    result = CliRunner().invoke(main, ["audit", *SAMPLE, "--allowlist", str(allowlist), "--target", target,
                                       "--json", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {h for f in json.loads(out.read_text())["findings"] if f["kind"] == "missing" for h in f["hosts"]}


@pytest.mark.parametrize("target", [pytest.param("proxy", marks=needs_squid),
                                    pytest.param("dns", marks=needs_unbound)])
def test_the_engine_agrees_with_the_static_audit_on_the_shipped_sample(tmp_path: Path, target: str) -> None:
    code, sim, output = simulate(tmp_path, target)
    assert code == 0, output
    missing = audit_missing(tmp_path, target)
    rows = {row["host"]: row for row in sim["hosts"]}
    replayed = {h for h, row in rows.items() if row["engine"] is not None}
    assert replayed == {h for h in rows if "*" not in h}  # every concrete name was asked of the engine
    for host, row in rows.items():
        assert row["static"]["allowed"] is (host not in missing), host  # the prediction is the audit's
        if host in replayed:
            assert row["engine"]["allowed"] is row["static"]["allowed"], (host, row["engine"])
            assert row["agrees"] is True
    allowed = {h for h in replayed if rows[h]["engine"]["allowed"]}
    # what examples/allowlist.txt lists literally passes; what only RAM's semantics allow does not
    assert allowed == {"123456789012.dkr.ecr.us-west-2.amazonaws.com", "auth.docker.io", "ghcr.io",
                       "mcr.microsoft.com", "production.cloudflare.docker.com", "registry-1.docker.io",
                       "registry.k8s.io"}
    assert "production.cloudfront.docker.com" in sim["failing_images"]["python:3.12-slim"]
    assert sim["failing_clients"]["10.0.4.17"] == ["pkg-containers.githubusercontent.com"]
    assert sim["disagreements"] == []
    assert sim["predicted_failing_images"] == sim["failing_images"]
    assert sim["predicted_failing_clients"] == sim["failing_clients"]


@needs_squid
def test_a_planted_disagreement_is_caught(tmp_path: Path) -> None:
    """The reader collects every dstdomain value; Squid also reads `http_access deny`: the two disagree."""
    code, sim, _ = simulate(tmp_path, "proxy", PROXY / "squid-deny.conf")
    assert code == 1
    assert set(sim["disagreements"]) == {"production.cloudflare.docker.com", "production.cloudfront.docker.com"}
    row = next(r for r in sim["hosts"] if r["host"] == "production.cloudflare.docker.com")
    assert row["static"] == {"allowed": True, "entry": ".docker.com"}
    assert row["engine"] == {"allowed": False, "detail": "403 Forbidden (http_access)"}
    assert "http_access deny retired" in sim["configuration"]  # Squid ran the file's own rules
    # the pulls that need docker.com's CDN fail on Squid, not in the static prediction
    assert "production.cloudflare.docker.com" in sim["failing_images"]["python:3.12-slim"]
    assert "production.cloudflare.docker.com" not in sim["predicted_failing_images"]["python:3.12-slim"]


@needs_squid
def test_text_report_names_the_disagreement(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", *SAMPLE, "--target", "proxy", "--allowlist",
                                       str(PROXY / "squid-deny.conf")], catch_exceptions=False)
    assert result.exit_code == 1
    assert "DISAGREEMENT production.cloudflare.docker.com: the static audit says allowed (entry .docker.com), " \
           "squid says DENIED (403 Forbidden (http_access))" in result.output


@needs_unbound
def test_unbound_reads_rpz_wildcards_as_dns_wildcards(tmp_path: Path) -> None:
    """Why the RPZ export denies around every allowed name: with `*` alone, Unbound lets quay.io through."""
    from auditor.simulate.engines import UnboundEngine

    head = "$ORIGIN rpz.regaudit.\n$TTL 300\n@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 300\n" \
           "@ IN NS localhost.\n"
    naive = head + "* IN CNAME .\nghcr.io IN CNAME rpz-passthru.\n"
    exported = write_rpz([Rule("ghcr.io", Scope.EXACT), Rule("docker.io", Scope.SUBTREE),
                          Rule("data.mcr.microsoft.com", Scope.BELOW)])
    names = ["quay.io", "x.ghcr.io", "ghcr.io", "a.b.docker.io", "docker.io", "evil.test",
             "data.mcr.microsoft.com", "westus2.data.mcr.microsoft.com", "mcr.microsoft.com"]
    with StubUpstream() as stub:
        with UnboundEngine(naive, stub.port) as unbound:
            seen = {n: unbound.query(n).allowed for n in names[:3]}
        assert seen == {"quay.io": True, "x.ghcr.io": True, "ghcr.io": True}
        with UnboundEngine(exported, stub.port) as unbound:
            seen = {n: unbound.query(n).allowed for n in names}
    assert seen == {"quay.io": False, "x.ghcr.io": False, "ghcr.io": True, "a.b.docker.io": True, "docker.io": True,
                    "evil.test": False, "data.mcr.microsoft.com": False, "westus2.data.mcr.microsoft.com": True,
                    "mcr.microsoft.com": False}


def test_a_squid_file_runs_only_its_access_rules() -> None:
    config = native_access_config((PROXY / "hostile.conf").read_text())
    run = [line for line in config.splitlines() if not line.startswith("#")]
    assert run == ["acl ok dstdomain ghcr.io", "http_access allow ok"]
    assert "# line 2 not run" in config and "# line 4 not run" in config
    assert native_access_config("ghcr.io\nquay.io\n") == ""  # a plain list is exported, not run


def test_nothing_outside_loopback_is_replayed() -> None:
    assert _replayable("10.20.30.40") and _replayable("2001:db8::1") and _replayable("*-docker.pkg.dev")
    assert _replayable("127.0.0.1") == "" and _replayable("ghcr.io") == ""


def test_the_stub_answers_every_a_question_with_loopback() -> None:
    ident, message = query("anything.example")
    reply = stub_reply(message)
    assert reply is not None and parse_answer(reply, ident).resolved and reply.endswith(bytes([127, 0, 0, 1]))
    assert stub_reply(b"\x00\x01garbage") is None
    assert stub_reply(message[:14]) is None  # truncated question


@needs_squid
def test_a_configuration_squid_refuses_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "squid.conf"
    bad.write_text("acl ok dstdomain ghcr.io\nacl ok dst 127.0.0.1\nhttp_access allow ok\n")  # one name, two types
    result = CliRunner().invoke(main, ["simulate", *SAMPLE, "--target", "proxy", "--allowlist", str(bad)])
    assert result.exit_code == 2
    assert "squid refused the configuration" in result.output and "ok" in result.output
