"""Blocked attempts as evidence: Docker CLI/daemon/CI logs, Squid access logs, DNS-firewall blocks.

Fixtures under tests/fixtures/logs/blocked/ (and the DNS logs under tests/fixtures/logs/dns/) are written for
these tests. The EvidenceStore folds the attempts into one group per host.
"""

from __future__ import annotations

import calendar
import gzip
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from auditor.core.model import BlockedAttempt, BlockReason, InputError, Observation, ObservationKind
from auditor.pipeline.collect import CollectOptions, collect
from parsers import parser_for
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import docker_log, squid
from parsers.logs.line_reader import LineStats
from tests.conftest import FIXTURES

BLOCKED = FIXTURES / "logs" / "blocked"
DNS = FIXTURES / "logs" / "dns"
MTIME_2024 = calendar.timegm((2024, 5, 2, 0, 0, 0))


def scan(module: ModuleType, path: Path) -> tuple[list[object], LineStats]:
    stats = LineStats()
    return list(module.scan(InputFile.from_path(path), ParseContext(), stats)), stats


def attempts(records: list[object]) -> list[BlockedAttempt]:
    return [r for r in records if isinstance(r, BlockedAttempt)]


def errors(records: list[object]) -> list[InputError]:
    return [r for r in records if isinstance(r, InputError)]


def utc(*parts: int) -> float:
    return float(calendar.timegm(parts))


def pinned_copy(path: Path, tmp_path: Path) -> Path:
    """A copy whose modification time (the year of syslog stamps) is May 2024."""
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    os.utime(copy, (MTIME_2024, MTIME_2024))
    return copy


# -- Docker ----------------------------------------------------------------------------------------

def test_github_actions_job_log_ram_and_iam_signatures() -> None:
    records, stats = scan(docker_log, BLOCKED / "gha-job.log")
    found = [(a.host, a.reason, a.client, a.image, a.count, a.source.line) for a in attempts(records)]
    assert found == [
        # lines 6, 12, 13 (folded) follow `docker pull ghcr.io/acme/api:1.4.2` (line 5) within 30 lines
        ("ghcr.io", BlockReason.RAM_REGISTRY, "build-runner-07", "ghcr.io/acme/api:1.4.2", 3, 6),
        ("quay.io", BlockReason.RAM_REGISTRY, "build-runner-07", "quay.io/prometheus/node-exporter:v1.8.0", 1, 8),
        ("docker.io", BlockReason.RAM_DOCKER_HUB, "build-runner-07", "docker.io/library/alpine:3.20", 1, 9),
        ("docker.io", BlockReason.RAM_LOGIN, "build-runner-07", None, 1, 10),
        ("docker.io", BlockReason.IAM_DENIED, "build-runner-07", "docker.io/someuser/tool:latest", 1, 11),
    ]
    # the 7-digit GitHub Actions fraction is cut to microseconds
    assert attempts(records)[0].time == utc(2024, 5, 1, 10, 0, 2) + 0.5
    assert attempts(records)[0].last_time == utc(2024, 5, 1, 10, 0, 9)
    assert [(e.source.line, "%%%bad%%%" in e.message) for e in errors(records)] == [(14, True)]
    assert (stats.total, stats.parsed, stats.errors) == (15, 7, 1)
    assert stats.accounted == stats.total


def test_daemon_journal_lines_take_logrus_time_and_syslog_host(tmp_path: Path) -> None:
    records, stats = scan(docker_log, pinned_copy(BLOCKED / "dockerd-journal.log", tmp_path))
    found = [(a.host, a.client, a.time) for a in attempts(records)]
    assert found == [("mcr.microsoft.com", "buildhost", utc(2024, 5, 1, 10, 0, 1) + 0.5),
                     ("gcr.io", "buildhost2", utc(2024, 5, 1, 10, 0, 2))]
    assert stats.accounted == stats.total == 3


def test_a_pull_too_long_before_or_of_another_registry_gives_no_image(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    path.write_text("docker pull quay.io/a/b:1\nError response from daemon: registry access to ghcr.io is not "
                    "allowed\ndocker pull ghcr.io/a/b:1\n" + "step\n" * 40 +
                    "Error response from daemon: registry access to ghcr.io is not allowed\n")
    records, _stats = scan(docker_log, path)
    # line 2 follows a quay.io pull; line 44 comes 41 lines after the ghcr.io pull: both without image
    assert [(a.host, a.image, a.count, a.source.line) for a in attempts(records)] == [("ghcr.io", None, 2, 2)]


def test_docker_log_is_detected_by_content_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("pulling...\nError response from daemon: registry access to ghcr.io is not allowed\n")
    spec = parser_for(InputFile.from_path(path))
    assert spec is not None and spec.name == "docker_log"
    plain = tmp_path / "notes.txt"
    plain.write_text("nothing blocked here\n")
    assert not docker_log.detect(InputFile.from_path(plain))


def test_a_million_line_retry_storm_is_folded_and_bounded(tmp_path: Path) -> None:
    storm = 1_000_000
    path = tmp_path / "storm.log"
    line = "2024-05-01T10:00:00.0000000Z Error response from daemon: registry access to ghcr.io is not allowed\n"
    with open(path, "w") as out:
        for _ in range(storm // 10_000):
            out.write(line * 10_000)
    store = collect([str(path)], CollectOptions(variables={}))
    group = store.blocked_groups["ghcr.io"]
    assert group.count == store.blocked_total == storm
    assert group.reasons == {"ram-registry": storm}
    # one folded record per block read, not one per line
    assert len(store.blocked) < 100
    assert store.inputs[0].records < 100


# -- Squid -----------------------------------------------------------------------------------------

def test_squid_native_denied_connect_and_url_hosts() -> None:
    records, stats = scan(squid, BLOCKED / "squid_access.log")
    found = [(a.host, a.reason, a.client, a.count, a.source.line) for a in attempts(records)]
    assert found == [
        ("pkg-containers.githubusercontent.com", BlockReason.PROXY_DENIED, "10.0.0.5", 2, 2),
        ("downloads.example.com", BlockReason.PROXY_DENIED, "10.0.0.7", 1, 7),
    ]
    assert attempts(records)[0].time == 1714557600.25
    seen = [(o.host, o.kind, o.detail) for o in records if isinstance(o, Observation)]
    assert seen == [("ghcr.io", ObservationKind.HTTP_HOST, ""),
                    ("registry.local", ObservationKind.HTTP_HOST, "/v2/")]  # a /v2/ call, the rest of the path not kept
    assert stats.ignored == {"proxy authentication challenge (407)": 1,
                             "request without a host (error or internal entry)": 1}
    assert [e.source.line for e in errors(records)] == [8]
    assert stats.accounted == stats.total == 8


def test_squid_common_log_format() -> None:
    records, stats = scan(squid, BLOCKED / "squid_common.log")
    assert [(a.host, a.client, a.time) for a in attempts(records)] == [
        ("production.cloudflare.docker.com", "10.0.0.5", utc(2024, 5, 1, 10, 0, 0))]
    debian = next(r for r in records if isinstance(r, Observation))
    assert (debian.host, debian.time) == ("deb.debian.org", utc(2024, 5, 1, 10, 0, 1))  # +0200 -> UTC
    assert stats.accounted == stats.total == 2


# -- hostile input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("module", "fixture"), [(docker_log, "gha-job.log"), (squid, "squid_access.log")])
def test_junk_huge_line_and_truncated_gzip(module: ModuleType, fixture: str, tmp_path: Path) -> None:
    original = (BLOCKED / fixture).read_bytes()
    lines = original.count(b"\n")
    path = tmp_path / "hostile.log"
    path.write_bytes(original + b"\x00\xff\xfe junk\n" + b"Q" * (2 * 1024 * 1024) + b"\n" + original)
    records, stats = scan(module, path)
    clean, clean_stats = scan(module, BLOCKED / fixture)
    assert sum(a.count for a in attempts(records)) == 2 * sum(a.count for a in attempts(clean))
    assert lines + 2 in [e.source.line for e in errors(records)]  # the over-long line, by number
    assert stats.accounted == stats.total == 2 * clean_stats.total + 2

    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert scan(module, empty)[0] == []

    data = gzip.compress(original * 200)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    records, stats = scan(module, cut)
    assert any("ends early or is corrupt" in e.message for e in errors(records))
    assert attempts(records) and stats.accounted == stats.total


# -- DNS firewalls, through the store --------------------------------------------------------------

def test_dns_firewall_blocks_group_by_host_and_plain_nxdomain_is_not_a_block(tmp_path: Path) -> None:
    pihole = pinned_copy(DNS / "dnsmasq_pihole.log", tmp_path)
    store = collect([str(pihole), str(DNS / "route53.jsonl"), str(DNS / "bind9_query.log")],
                    CollectOptions(variables={}))
    groups = {host: dict(group.reasons) for host, group in store.blocked_groups.items()}
    assert groups == {
        "doubleclick.net": {"dns-firewall": 1},
        "quay.io": {"dns-firewall": 1},
        "registry-1.docker.io": {"dns-firewall": 3},  # Pi-hole regex, Route 53 BLOCK, BIND RPZ
        "use-application-dns.net": {"dns-firewall": 1},
    }
    assert store.blocked_groups["registry-1.docker.io"].clients == {"192.168.1.23", "10.1.2.4", "10.0.0.5"}
    # NXDOMAIN (typo.invalid), AAAA NODATA (ghcr.io), RPZ PASSTHRU (ghcr.io), Route 53 ALERT (ghcr.io): no block
    assert not {"typo.invalid", "ghcr.io"} & set(groups)
    assert store.activity["ghcr.io"].rcodes["NOERROR"] >= 1
