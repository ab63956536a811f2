"""DNS-server log parsers: Zeek, BIND 9, dnsmasq/Pi-hole, Unbound, CoreDNS, Route 53 Resolver, Windows DNS.

Fixtures under tests/fixtures/logs/dns/ are written for these tests (each with malformed lines); the real
samples in ../shared/corpora/dnslogs/ are read only when present, to check every line is accounted for.
"""

from __future__ import annotations

import calendar
import gzip
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from auditor.core.model import BlockedAttempt, InputError, Observation, ObservationKind, RedirectEdge
from parsers import parser_for
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.dns import bind9, coredns, dnsmasq, route53, unbound, windows_dns, zeek
from parsers.logs.line_reader import MAX_ERRORS_PER_FILE, Clock, LineStats, host_name
from tests.conftest import FIXTURES, SHARED

DNS = FIXTURES / "logs" / "dns"
CORPUS = SHARED / "corpora" / "dnslogs"
# syslog-style stamps carry no year: the tests pin the file's modification time (the year reference)
MTIME_2024 = calendar.timegm((2024, 5, 2, 0, 0, 0))


def scan(module: ModuleType, path: Path, tmp_path: Path | None = None, mtime: float | None = None
         ) -> tuple[list[object], LineStats]:
    if mtime is not None:
        assert tmp_path is not None
        copy = tmp_path / path.name
        shutil.copyfile(path, copy)
        os.utime(copy, (mtime, mtime))
        path = copy
    stats = LineStats()
    records = list(module.scan(InputFile.from_path(path), ParseContext(), stats))
    return records, stats


def observations(records: list[object], kind: ObservationKind | None = None) -> list[Observation]:
    return [r for r in records if isinstance(r, Observation) and (kind is None or r.kind is kind)]


def errors(records: list[object]) -> list[InputError]:
    return [r for r in records if isinstance(r, InputError)]


def error_lines(records: list[object]) -> list[int | None]:
    return [e.source.line for e in errors(records)]


def summary(obs: Observation) -> tuple[object, ...]:
    return (obs.host, obs.kind.value, obs.client, obs.detail, obs.rcode, obs.count, obs.source.line if obs.source
            else None)


def utc(*parts: int) -> float:
    return float(calendar.timegm(parts))


# -- detection --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("file_name", "module"), [
    ("zeek_dns.log", zeek), ("zeek_dns.json", zeek), ("zeek_ssl.log", zeek), ("bind9_query.log", bind9),
    ("dnsmasq_pihole.log", dnsmasq), ("unbound.log", unbound), ("coredns.log", coredns),
    ("route53.jsonl", route53), ("windows_dns.log", windows_dns),
])
def test_each_fixture_is_detected_by_its_parser_and_only_by_it(file_name: str, module: ModuleType) -> None:
    inp = InputFile.from_path(DNS / file_name)
    spec = parser_for(inp)
    assert spec is not None and spec.name == module.NAME
    others = [m for m in (zeek, bind9, dnsmasq, unbound, coredns, route53, windows_dns) if m is not module]
    assert [m.NAME for m in others if m.detect(inp)] == []


# -- Zeek -----------------------------------------------------------------------------------------

def test_zeek_dns_tsv_queries_answers_cname_chain_and_idna() -> None:
    records, stats = scan(zeek, DNS / "zeek_dns.log")
    queries = observations(records, ObservationKind.DNS_QUERY)
    assert [summary(o) for o in queries] == [
        ("ghcr.io", "dns-query", "10.0.0.5", "A", "NOERROR", 2, 9),
        ("pkg-containers.githubusercontent.com", "dns-query", "10.0.0.5", "A", "NOERROR", 1, 10),
        ("registry-1.docker.io", "dns-query", "10.0.0.6", "AAAA", "NXDOMAIN", 1, 12),
        ("xn--bcher-kva.example", "dns-query", "10.0.0.7", "A", "NOERROR", 1, 15),
    ]
    ghcr = queries[0]
    assert (ghcr.time, ghcr.last_time, ghcr.server) == (1714557600.1, 1714557601.3, "10.0.0.53")
    answers = {(o.host, o.detail) for o in observations(records, ObservationKind.DNS_ANSWER)}
    assert answers == {("ghcr.io", "140.82.112.34"), ("github.map.fastly.net", "185.199.108.154"),
                       ("github.map.fastly.net", "185.199.109.154"), ("xn--bcher-kva.example", "192.0.2.10")}
    edges = [r for r in records if isinstance(r, RedirectEdge)]
    assert [(e.from_host, e.to_host, e.via.value, e.evidence[0].line) for e in edges] == [
        ("pkg-containers.githubusercontent.com", "github.map.fastly.net", "dns-cname", 10)]
    assert error_lines(records) == [13, 14]
    assert "this line is not a zeek record" in errors(records)[0].message
    assert "bad..name" in errors(records)[1].message
    assert (stats.total, stats.parsed, stats.errors) == (17, 6, 2)
    assert stats.accounted == stats.total


def test_zeek_json_lines_and_bad_json_named_by_line() -> None:
    records, stats = scan(zeek, DNS / "zeek_dns.json")
    edges = [(e.from_host, e.to_host) for e in records if isinstance(e, RedirectEdge)]
    assert edges == [("mcr.microsoft.com", "mcr.trafficmanager.net"),
                     ("mcr.trafficmanager.net", "westus2.data.mcr.microsoft.com")]
    answer = observations(records, ObservationKind.DNS_ANSWER)
    assert [(o.host, o.detail, o.time) for o in answer] == [
        ("westus2.data.mcr.microsoft.com", "20.61.99.68", utc(2024, 5, 1, 10, 0, 0) + 0.1)]
    assert [o.host for o in observations(records, ObservationKind.DNS_QUERY)] == ["mcr.microsoft.com", "quay.io"]
    assert error_lines(records) == [3, 4]
    assert "invalid JSON" in errors(records)[0].message
    assert stats.ignored == {"JSON record of another Zeek log": 1}
    assert stats.accounted == stats.total == 5


def test_zeek_ssl_server_name_becomes_tls_sni() -> None:
    records, stats = scan(zeek, DNS / "zeek_ssl.log")
    assert [(o.host, o.kind.value, o.client, o.server, o.detail) for o in observations(records)] == [
        ("ghcr.io", "tls-sni", "10.0.0.5", "140.82.112.34", "h2"),
        ("pkg-containers.githubusercontent.com", "tls-sni", "10.0.0.5", "185.199.108.154", ""),
    ]
    assert stats.ignored["TLS connection without a server name (SNI)"] == 1
    assert error_lines(records) == [11]  # the truncated last record
    assert stats.accounted == stats.total == 11


def test_zeek_layout_change_mid_file_is_followed(tmp_path: Path) -> None:
    text = (DNS / "zeek_dns.log").read_text()
    swapped = (
        "#fields\tts\tquery\tid.orig_h\tid.resp_h\tqtype_name\trcode_name\tanswers\n"
        "1714557700.0\tquay.io\t10.0.0.9\t10.0.0.53\tA\tNOERROR\t192.0.2.99\n"
    )
    path = tmp_path / "two.log"
    path.write_text(text + swapped)
    records, stats = scan(zeek, path)
    quay = [o for o in observations(records) if o.host == "quay.io"]
    # in TSV the answers are folded per name, without the client (the query record has it)
    assert [(o.kind.value, o.client, o.detail) for o in quay] == [("dns-query", "10.0.0.9", "A"),
                                                                  ("dns-answer", None, "192.0.2.99")]
    assert stats.accounted == stats.total


def test_zeek_header_without_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "minimal.log"
    path.write_text("#separator \\x09\n#path\tdns\n#fields\tts\tid.orig_h\tquery\n"
                    "1714557700.0\t10.0.0.9\tquay.io\n1714557701.0\t10.0.0.9\tquay.io\n")
    records, stats = scan(zeek, path)
    assert [(o.host, o.client, o.server, o.rcode, o.detail, o.count) for o in observations(records)] == [
        ("quay.io", "10.0.0.9", None, None, "", 2)]
    assert stats.accounted == stats.total == 5


# -- BIND 9 ---------------------------------------------------------------------------------------

def test_bind9_query_versions_rpz_block_and_passthru() -> None:
    records, stats = scan(bind9, DNS / "bind9_query.log")
    assert [(o.host, o.client, o.detail, o.server, o.source.line) for o in observations(records)] == [
        ("ghcr.io", "10.0.0.5", "A", "10.0.0.53", 1),
        ("ghcr.io", "10.0.0.5", "AAAA", "10.0.0.53", 2),  # with a view
        ("quay.io", "10.0.0.6", "A", "10.0.0.53", 3),  # 9.9-era flags, mixed case
        ("gcr.io", "10.0.0.7", "A", "10.0.0.53", 4),  # no time stamp, no (name)
        ("mcr.microsoft.com", "2001:db8::5", "A", "2001:db8::53", 5),  # ISO time, IPv6
    ]
    assert observations(records)[0].time == utc(2024, 5, 1, 10, 0, 0) + 0.1
    assert observations(records)[4].time == utc(2024, 5, 1, 10, 0, 2) + 0.5
    blocks = [r for r in records if isinstance(r, BlockedAttempt)]
    assert [(b.host, b.reason.value, b.client, b.source.line) for b in blocks] == [
        ("registry-1.docker.io", "dns-firewall", "10.0.0.5", 6)]
    assert "NXDOMAIN" in blocks[0].detail
    assert stats.ignored["RPZ PASSTHRU (allowed, not a block)"] == 1
    assert error_lines(records) == [9, 10]
    assert stats.accounted == stats.total == 10


# -- dnsmasq / Pi-hole ----------------------------------------------------------------------------

def test_dnsmasq_queries_answers_cnames_and_pihole_blocks(tmp_path: Path) -> None:
    records, stats = scan(dnsmasq, DNS / "dnsmasq_pihole.log", tmp_path, MTIME_2024)
    queries = observations(records, ObservationKind.DNS_QUERY)
    assert [(o.host, o.client, o.detail, o.source.line) for o in queries] == [
        ("ghcr.io", "192.168.1.20", "A", 2),
        ("pkg-containers.githubusercontent.com", "192.168.1.20", "A", 5),
        ("ghcr.io", "192.168.1.20", "AAAA", 10),
        ("ghcr.io", "192.168.1.21", "A", 13),
        ("doubleclick.net", "192.168.1.22", "A", 15),
        ("registry-1.docker.io", "192.168.1.23", "A", 17),
        ("quay.io", "192.168.1.23", "A", 19),
        ("typo.invalid", "192.168.1.24", "A", 21),
        ("mcr.microsoft.com", "192.168.1.30", "A", 26),  # log-queries=extra
        ("gcr.io", "192.168.1.31", "A", 28),
    ]
    assert queries[0].time == utc(2024, 5, 1, 10, 0, 1)
    answers = observations(records, ObservationKind.DNS_ANSWER)
    reply_then_cached = next(o for o in answers if o.host == "ghcr.io" and o.detail == "140.82.112.34")
    assert (reply_then_cached.count, reply_then_cached.time, reply_then_cached.last_time) == (
        2, utc(2024, 5, 1, 10, 0, 1), utc(2024, 5, 1, 10, 0, 4))
    assert ("typo.invalid", "NXDOMAIN") in {(o.host, o.rcode) for o in answers}
    assert ("ghcr.io", "NOERROR") in {(o.host, o.rcode) for o in answers}  # NODATA-IPv6: no AAAA, not a block
    assert {("pi.hole", "192.168.1.2"), ("nas.lan", "192.168.1.5")} <= {(o.host, o.detail) for o in answers}
    edges = [(e.from_host, e.to_host, e.client) for e in records if isinstance(e, RedirectEdge)]
    assert edges == [("pkg-containers.githubusercontent.com", "github.map.fastly.net", None),
                     ("mcr.microsoft.com", "mcr.trafficmanager.net", "192.168.1.30")]  # paired by serial 77
    blocks = [(b.host, b.client, b.detail, b.source.line) for b in records if isinstance(b, BlockedAttempt)]
    assert blocks == [
        ("doubleclick.net", "192.168.1.22", "pi-hole gravity blocked", 16),
        ("registry-1.docker.io", "192.168.1.23", "pi-hole regex blacklisted", 18),
        ("quay.io", "192.168.1.23", "pi-hole exactly blacklisted", 20),
        ("use-application-dns.net", "192.168.1.32", "pi-hole special domain", 32),
    ]
    # an ordinary NXDOMAIN and an AAAA without data are not blocks
    assert not {"typo.invalid", "ghcr.io"} & {b[0] for b in blocks}
    assert error_lines(records) == [33, 34]
    assert stats.ignored["forwarded upstream (the server's own lookup, not a client's)"] == 5
    assert stats.accounted == stats.total == 35


def test_dnsmasq_cname_split_across_blocks_is_still_paired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from parsers.logs import line_reader as _common
    monkeypatch.setattr(_common, "BLOCK_BYTES", 64)
    records, stats = scan(dnsmasq, DNS / "dnsmasq_pihole.log", tmp_path, MTIME_2024)
    edges = [(e.from_host, e.to_host) for e in records if isinstance(e, RedirectEdge)]
    assert ("pkg-containers.githubusercontent.com", "github.map.fastly.net") in edges
    assert stats.accounted == stats.total == 35


# -- Unbound, CoreDNS, Route 53, Windows ----------------------------------------------------------------

def test_unbound_queries_and_replies_in_three_stamp_styles(tmp_path: Path) -> None:
    records, stats = scan(unbound, DNS / "unbound.log", tmp_path, MTIME_2024)
    assert [summary(o) for o in observations(records)] == [
        ("ghcr.io", "dns-query", "10.0.0.5", "A", None, 1, 3),
        ("ghcr.io", "dns-answer", "10.0.0.5", "", "NOERROR", 2, 4),
        ("ghcr.io", "dns-query", "10.0.0.5", "AAAA", None, 1, 5),
        ("quay.io", "dns-query", "10.0.0.6", "A", None, 1, 8),
        ("quay.io", "dns-answer", "10.0.0.6", "", "NOERROR", 1, 9),
        ("nosuchhost.example", "dns-answer", "10.0.0.7", "", "NXDOMAIN", 1, 10),
    ]
    times = [o.time for o in observations(records)]
    assert times[0] == 1714557601.0
    assert times[3] == utc(2024, 5, 1, 10, 0, 4)  # log-time-ascii, year from the file's time
    assert times[5] == utc(2024, 5, 1, 8, 0, 5) + 0.25  # ISO with +02:00
    assert error_lines(records) == [11, 12]
    assert stats.accounted == stats.total == 12


def test_coredns_plain_timestamped_and_kubernetes_json() -> None:
    records, stats = scan(coredns, DNS / "coredns.log")
    assert [(o.host, o.client, o.detail, o.rcode, o.time) for o in observations(records)] == [
        ("ghcr.io", "10.244.0.5", "A", "NOERROR", None),
        ("ghcr.io.default.svc.cluster.local", "10.244.0.5", "AAAA", "NXDOMAIN", None),
        ("registry.k8s.io", "fd00::5", "A", "NOERROR", utc(2024, 5, 1, 10, 0, 2) + 0.903),
        ("quay.io", "10.244.0.6", "A", "NOERROR", utc(2024, 5, 1, 10, 0, 3) + 0.5),
    ]
    assert error_lines(records) == [9, 10]
    assert "not in the common/combined format" in errors(records)[1].message  # a name with a space
    assert stats.ignored == {"start-up banner": 2, "other CoreDNS message (not a query log entry)": 2}
    assert stats.accounted == stats.total == 10


def test_route53_chain_answers_and_firewall_block_only_on_block() -> None:
    records, stats = scan(route53, DNS / "route53.jsonl")
    edges = [(e.from_host, e.to_host) for e in records if isinstance(e, RedirectEdge)]
    assert edges == [("123456789012.dkr.ecr.us-east-1.amazonaws.com", "d2abc.cloudfront.net")]
    blocks = [b for b in records if isinstance(b, BlockedAttempt)]
    assert [(b.host, b.client, b.time, b.source.line) for b in blocks] == [
        ("registry-1.docker.io", "10.1.2.4", utc(2024, 5, 1, 10, 0, 1), 2)]
    assert "rslvr-frg-0001" in blocks[0].detail
    # ALERT is logged but not blocked; the CloudWatch line with a stamp before the JSON is read
    assert {o.host for o in observations(records, ObservationKind.DNS_QUERY)} == {
        "123456789012.dkr.ecr.us-east-1.amazonaws.com", "registry-1.docker.io", "ghcr.io", "quay.io"}
    assert error_lines(records) == [4, 6]
    assert stats.accounted == stats.total == 6


def test_windows_dns_summary_and_detail_mode() -> None:
    records, stats = scan(windows_dns, DNS / "windows_dns.log")
    assert [summary(o) for o in observations(records)] == [
        ("ghcr.io", "dns-query", "10.0.0.5", "A", None, 1, 25),
        ("ghcr.io", "dns-answer", "10.0.0.5", "", "NOERROR", 1, 28),
        ("ghcr.io", "dns-answer", "10.0.0.5", "140.82.112.34", "NOERROR", 1, 47),
        ("mcr.microsoft.com", "dns-query", "10.0.0.6", "AAAA", None, 1, 51),
        ("mcr.microsoft.com", "dns-answer", "10.0.0.6", "", "NOERROR", 1, 52),
        ("mcr.trafficmanager.net", "cname", "10.0.0.6", "mcr.microsoft.com", None, 1, 58),
        ("nothere.example", "dns-query", "10.0.0.7", "A", None, 1, 60),
        ("nothere.example", "dns-answer", "10.0.0.7", "", "NXDOMAIN", 1, 61),
    ]
    assert observations(records)[0].time == utc(2024, 5, 1, 10, 0, 1)
    assert observations(records)[3].time == utc(2024, 5, 1, 13, 30, 5)  # 1:30:05 PM
    assert error_lines(records) == [63, 64]
    assert errors(records)[1].message.endswith("#### corrupt ####")  # CRLF line ends removed
    assert stats.ignored["the server's own lookup to a forwarder (not a client's)"] == 2
    assert stats.accounted == stats.total == 64


# -- names and time ----------------------------------------------------------------------------------

def test_host_names_are_lowercased_idna_encoded_or_refused() -> None:
    assert host_name("Registry-1.Docker.IO.") == ("registry-1.docker.io", None)
    assert host_name("xn--bcher-kva.example") == ("xn--bcher-kva.example", None)
    assert host_name("Bücher.example") == ("xn--bcher-kva.example", None)
    assert host_name("_sftp-ssh._tcp.local") == ("_sftp-ssh._tcp.local", None)
    for bad in ("bad..name", "a" * 64 + ".com", "sp ace.example", "x" * 254, ".", "\u2603\u0000.example"):
        name, problem = host_name(bad)
        assert name is None and problem, bad


def test_syslog_year_comes_from_the_file_time_and_rolls_back_over_new_year() -> None:
    january = Clock(calendar.timegm((2025, 1, 2, 12, 0, 0)))
    assert january.syslog("Dec 31 23:59:59") == utc(2024, 12, 31, 23, 59, 59)
    assert january.syslog("Jan  2 10:00:00") == utc(2025, 1, 2, 10, 0, 0)
    assert january.syslog("Feb 30 10:00:00") is None


# -- malformed input --------------------------------------------------------------------------------

_VALID_LINE = {
    "zeek": None,  # needs its header: tested through the fixture
    "bind9": "01-May-2024 10:00:00.100 queries: info: client 10.0.0.5#51234 (ghcr.io): query: ghcr.io IN A + "
             "(10.0.0.53)",
    "dnsmasq": "May  1 10:00:01 dnsmasq[1234]: query[A] ghcr.io from 192.168.1.20",
    "unbound": "[1714557601] unbound[812:0] info: 10.0.0.5 ghcr.io. A IN",
    "coredns": '[INFO] 10.244.0.5:42114 - 64820 "A IN ghcr.io. udp 36 false 512" NOERROR qr,rd,ra 80 0.01s',
    "route53": '{"query_timestamp":"2024-05-01T10:00:00Z","query_name":"ghcr.io.","query_type":"A",'
               '"srcaddr":"10.1.2.3"}',
    "windows_dns": "5/1/2024 10:00:01 AM 0D48 PACKET  000000000181D1C0 UDP Rcv 10.0.0.5        0c6b   Q "
                   "[0001   D   NOERROR] A      (4)ghcr(2)io(0)",
}
_MODULES = {"zeek": zeek, "bind9": bind9, "dnsmasq": dnsmasq, "unbound": unbound, "coredns": coredns,
            "route53": route53, "windows_dns": windows_dns}
_FIXTURE_OF = {"zeek": "zeek_dns.log", "bind9": "bind9_query.log", "dnsmasq": "dnsmasq_pihole.log",
               "unbound": "unbound.log", "coredns": "coredns.log", "route53": "route53.jsonl",
               "windows_dns": "windows_dns.log"}


@pytest.mark.parametrize("name", sorted(_MODULES))
def test_empty_file_yields_nothing(name: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    records, stats = scan(_MODULES[name], path)
    assert records == [] and stats.total == 0


@pytest.mark.parametrize("name", sorted(_MODULES))
def test_binary_junk_and_a_huge_line_are_reported_and_the_rest_is_parsed(name: str, tmp_path: Path) -> None:
    original = (DNS / _FIXTURE_OF[name]).read_bytes()
    original_lines = original.count(b"\n")
    junk = b"\x00\x01\xff\xfe binary \x00 junk \x9c\x80\n"
    huge = b"Z" * (3 * 1024 * 1024) + b"\n"
    path = tmp_path / "hostile.log"
    path.write_bytes(original + junk + huge + original)
    records, stats = scan(_MODULES[name], path)
    lines = error_lines(records)
    assert original_lines + 1 in lines  # the junk line, by number
    assert original_lines + 2 in lines  # the huge line
    huge_error = errors(records)[lines.index(original_lines + 2)]
    assert "longer than" in huge_error.message or "Z" in huge_error.message
    assert len(huge_error.message) < 300
    _clean, clean_stats = scan(_MODULES[name], DNS / _FIXTURE_OF[name])
    # the copy after the hostile lines is parsed just like the original
    assert stats.parsed == 2 * clean_stats.parsed
    assert stats.accounted == stats.total == 2 * clean_stats.total + 2


@pytest.mark.parametrize("name", sorted(_MODULES))
def test_truncated_gzip_keeps_the_lines_before_and_says_so(name: str, tmp_path: Path) -> None:
    # small (the head itself is cut) and large (cut after the head): both read up to the damage
    for copies in (3, 2000):
        data = gzip.compress((DNS / _FIXTURE_OF[name]).read_bytes() * copies)
        path = tmp_path / f"cut{copies}.log.gz"
        path.write_bytes(data[: len(data) * 2 // 3])
        records, stats = scan(_MODULES[name], path)
        assert any("ends early or is corrupt" in e.message for e in errors(records)), copies
        assert stats.parsed > 0
        assert stats.accounted == stats.total


@pytest.mark.parametrize("name", sorted(n for n in _MODULES if _VALID_LINE[n]))
def test_a_million_corrupt_lines_give_capped_errors_and_one_summary(name: str, tmp_path: Path) -> None:
    corrupt = 200_000
    path = tmp_path / "corrupt.log"
    with open(path, "w") as out:
        out.write(_VALID_LINE[name] + "\n")
        out.write("%%% corrupt record %%%\n" * corrupt)
        out.write(_VALID_LINE[name] + "\n")
    records, stats = scan(_MODULES[name], path)
    assert stats.errors == corrupt
    assert len(errors(records)) == MAX_ERRORS_PER_FILE + 1
    assert error_lines(records)[:3] == [2, 3, 4]
    assert f"{corrupt} malformed lines of {corrupt + 2}" in errors(records)[-1].message
    assert stats.parsed == 2
    assert stats.accounted == stats.total == corrupt + 2


def test_identical_bad_lines_folded_together_are_reported_once_with_their_number(tmp_path: Path) -> None:
    path = tmp_path / "pihole.log"
    good = "May  1 10:00:01 dnsmasq[1234]: query[A] ghcr.io from 192.168.1.20\n"
    bad = "May  1 10:00:02 dnsmasq[1234]: query[A] bad_name!.example from 192.168.1.20\n"
    path.write_text(good + bad * 50)
    records, stats = scan(dnsmasq, path)
    assert [(e.source.line, "50 lines like it" in e.message) for e in errors(records)] == [(2, True)]
    assert stats.errors == 50 and stats.parsed == 1 and stats.accounted == stats.total == 51


def test_compressed_logs_are_detected_and_parsed_through_the_collector(tmp_path: Path) -> None:
    import bz2
    import lzma

    from auditor.pipeline.collect import CollectOptions, collect
    raw = (DNS / "zeek_dns.log").read_bytes()
    (tmp_path / "dns.log.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "dns.log.bz2").write_bytes(bz2.compress(raw))
    (tmp_path / "dns.log.xz").write_bytes(lzma.compress(raw))
    store = collect([str(tmp_path)], CollectOptions(variables={}))
    assert sorted((record.path.rsplit("/", 1)[-1], record.kind) for record in store.inputs) == [
        ("dns.log.bz2", "zeek"), ("dns.log.gz", "zeek"), ("dns.log.xz", "zeek")]
    assert store.activity["ghcr.io"].kinds["dns-query"] == 3 * 2
    assert {str(e.source).rsplit("/", 1)[-1] for e in store.errors} == {
        f"dns.log.{ext}:{line}" for ext in ("gz", "bz2", "xz") for line in (13, 14)}


# -- real samples ---------------------------------------------------------------------------------

_CORPUS = [
    ("zeek", zeek), ("bind9", bind9), ("dnsmasq_pihole", dnsmasq), ("unbound", unbound), ("coredns", coredns),
    ("route53_resolver", route53), ("windows_dns", windows_dns),
]
_CORPUS_FILES = [
    (directory, module, path)
    for directory, module in _CORPUS
    for path in (sorted((CORPUS / directory).iterdir()) if (CORPUS / directory).is_dir() else [])
    if path.name not in ("SOURCES.md", "BRIM_COMMIT", "ZEEK_COMMIT", "BRIM_LICENSE_HEAD.txt")
]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
@pytest.mark.parametrize(("directory", "module", "path"), _CORPUS_FILES,
                         ids=[f"{d}/{p.name}" for d, _m, p in _CORPUS_FILES])
def test_real_samples_are_detected_and_every_line_accounted_for(directory: str, module: ModuleType, path: Path
                                                                ) -> None:
    inp = InputFile.from_path(path)
    assert module.detect(inp)
    spec = parser_for(inp)
    assert spec is not None and spec.name == module.NAME
    records, stats = scan(module, path)
    assert stats.total == path.read_bytes().count(b"\n") + (0 if path.read_bytes().endswith(b"\n") else 1)
    assert stats.accounted == stats.total
    assert stats.errors == 0, [str(e) for e in errors(records)]
    assert observations(records), "a real sample yields observations"
