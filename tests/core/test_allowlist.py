"""Allowlist normalization, matching semantics, reading (every format, bad input) and writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.core.allowlist import (
    Allowlist,
    AllowlistEntry,
    MatchMode,
    covers,
    normalize_host,
    read_allowlist,
    write_csv,
    write_json,
    write_text,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "propose" / "allowlists"


@pytest.mark.parametrize(("text", "expected"), [
    ("registry-1.docker.io", "registry-1.docker.io"),
    ("HTTPS://user:pw@Registry.Example.COM:5000/v2/app?x=1#f", "registry.example.com"),
    ("auth.docker.io.", "auth.docker.io"),
    ("[2001:DB8::1]:5000", "2001:db8::1"),
    ("2001:db8::1", "2001:db8::1"),
    ("10.0.0.7:5000", "10.0.0.7"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("  ghcr.io  ", "ghcr.io"),
])
def test_normalize_host(text: str, expected: str) -> None:
    assert normalize_host(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("example..com", "invalid label"),
    ("-bad.example", "invalid label"),
    ("exa mple.com", "invalid label"),
    ("[::1", "unclosed"),
    ("a" * 64 + ".example", "invalid label"),
    (".".join(["abcdefgh"] * 32), "longer than 253"),
])
def test_normalize_host_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_host(text)


def test_covers_suffix_and_exact() -> None:
    assert covers("amazonaws.com", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com", MatchMode.SUFFIX)
    assert not covers("amazonaws.com", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
                      MatchMode.EXACT)
    assert covers("docker.io", "docker.io", MatchMode.EXACT)
    # A suffix is a whole label, never part of one.
    assert not covers("docker.io", "notdocker.io", MatchMode.SUFFIX)
    # A pattern needs a suffix entry at its fixed domain or above; no exact entry expresses it.
    assert covers("data.mcr.microsoft.com", "*.data.mcr.microsoft.com", MatchMode.SUFFIX)
    assert covers("microsoft.com", "*.data.mcr.microsoft.com", MatchMode.SUFFIX)
    assert not covers("westus.data.mcr.microsoft.com", "*.data.mcr.microsoft.com", MatchMode.SUFFIX)
    assert not covers("data.mcr.microsoft.com", "*.data.mcr.microsoft.com", MatchMode.EXACT)


def test_match_prefers_the_narrowest_entry() -> None:
    allowlist = Allowlist([AllowlistEntry("docker.com", "docker.com"),
                           AllowlistEntry("production.cloudflare.docker.com", "production.cloudflare.docker.com")])
    found = allowlist.match("production.cloudflare.docker.com", MatchMode.SUFFIX)
    assert found is not None and found.address == "production.cloudflare.docker.com"
    assert allowlist.match("hub.docker.com", MatchMode.EXACT) is None
    assert allowlist.match("hub.docker.com", MatchMode.SUFFIX).address == "docker.com"  # type: ignore[union-attr]


def test_count_docker_hub_default() -> None:
    plain = Allowlist([AllowlistEntry("ghcr.io", "ghcr.io")])
    assert plain.count(False) == 1
    assert plain.count(True) == 2
    listed = Allowlist([AllowlistEntry("docker.io", "docker.io"), AllowlistEntry("ghcr.io", "ghcr.io")])
    assert listed.count(True) == 2  # Docker Hub already counted once


def test_read_text_keeps_valid_entries_and_reports_bad_lines() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "ram.txt")
    assert [(e.address, e.line) for e in allowlist] == [
        ("registry-1.docker.io", 2), ("auth.docker.io", 3), ("ghcr.io", 4), ("data.mcr.microsoft.com", 5),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", 7), ("2001:db8::1", 8), ("xn--bcher-kva.example", 9)]
    assert allowlist.entries[4].original == "123456789012.dkr.ecr.eu-west-1.amazonaws.com:443"
    assert [(e.source.line, e.message.split(":")[0]) for e in errors] == [
        (4, "allowlist entry 'https"), (6, "expected one host per line, got 'bad host name'"),
        (10, "invalid allowlist entry 'example..com'")]
    assert errors[0].message == ("allowlist entry 'https://ghcr.io/v2/' read as 'ghcr.io': dropped the scheme "
                                 "'https://', the path '/v2/' (an allowlist matches host names only)")


def test_read_csv_with_header() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "entries.csv")
    assert [(e.address, e.nickname, e.rationale, e.line) for e in allowlist] == [
        ("registry-1.docker.io", "Docker Hub", "API", 2),
        ("production.cloudflare.docker.com", "Hub CDN", "blobs, via Cloudflare", 3)]
    # a row with a nickname but no address is said, not skipped in silence
    assert [(e.source.line, e.message[:26]) for e in errors] == [
        (4, "CSV row without an address"), (5, "invalid allowlist entry 'n")]
    assert "no_such..host" in errors[1].message


def test_read_json_objects_strings_and_bad_items() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "entries.json")
    assert [(e.address, e.nickname) for e in allowlist] == [
        ("ghcr.io", "GHCR"), ("pkg-containers.githubusercontent.com", "")]
    assert sorted(e.message for e in errors) == ["JSON entry 2 is neither a string nor an object",
                                                 "JSON entry 3 has no 'address' string"]


def test_read_truncated_json_is_an_error_not_a_crash() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "broken.json")
    assert len(allowlist) == 0
    assert len(errors) == 1 and errors[0].message.startswith("invalid JSON") and errors[0].source.line == 2


def test_read_squid_acls_only() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "squid.conf")
    assert [(e.address, e.original, e.nickname) for e in allowlist] == [
        ("docker.io", ".docker.io", "regaudit_allowed"), ("docker.com", ".docker.com", "regaudit_allowed")]
    assert errors == []


def test_read_binary_and_missing_files() -> None:
    allowlist, errors = read_allowlist(FIXTURES / "binary.txt")
    assert len(allowlist) == 0 and errors[0].message == "allowlist is a binary file"
    allowlist, errors = read_allowlist(FIXTURES / "does-not-exist.txt")
    assert len(allowlist) == 0 and errors[0].message.startswith("cannot read allowlist")


def test_writers_round_trip(tmp_path: Path) -> None:
    entries = [AllowlistEntry("ghcr.io", "ghcr.io", "GHCR", "api, auth"),
               AllowlistEntry("pkg-containers.githubusercontent.com", "x", "", "blobs\nof ghcr")]
    for name, text in [("a.txt", write_text(entries)), ("a.csv", write_csv(entries)), ("a.json", write_json(entries))]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        back, errors = read_allowlist(path)
        assert errors == [], name
        assert [e.address for e in back] == ["ghcr.io", "pkg-containers.githubusercontent.com"], name
    assert json.loads(write_json(entries))["entries"][0] == {"address": "ghcr.io", "nickname": "GHCR",
                                                            "rationale": "api, auth"}
    assert "\n" not in write_csv(entries).splitlines()[2]


def test_oversized_allowlist_keeps_the_first_part(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    line = "registry-1.docker.io\n"
    path.write_text(line * (5 * 1024 * 1024 // len(line)), encoding="utf-8")
    allowlist, errors = read_allowlist(path)
    assert [e.address for e in allowlist] == ["registry-1.docker.io"]  # duplicates folded
    assert len(errors) == 1 and errors[0].message.startswith("allowlist larger than 4194304 bytes")


def test_invalid_utf8_and_idna_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"ghcr.io\nbad\xffname.example\nxn--a.example\n")
    allowlist, errors = read_allowlist(path)
    assert [e.address for e in allowlist] == ["ghcr.io"]
    assert [e.source.line for e in errors] == [2, 3]


@pytest.mark.parametrize("text", ["javascript:alert(1)", "host:abc", "registry.example.com:0", "example.com:70000"])
def test_text_with_a_non_port_after_the_colon_is_not_a_host(text: str) -> None:
    with pytest.raises(ValueError, match="is not a port number"):
        normalize_host(text)


def test_ports_are_still_ignored() -> None:
    assert normalize_host("Registry.Example.com:5000") == "registry.example.com"
    assert normalize_host("https://ghcr.io:443/v2/") == "ghcr.io"


def test_is_ip_is_what_the_address_parser_accepts() -> None:
    """is_ip decides most names without building an address (a name ends in a letter): never another answer."""
    import ipaddress
    import random

    from auditor.core.allowlist import is_ip

    rng = random.Random(7)
    names = ["10.0.0.1", "10.0.0.1.", "1.2.3", "256.1.1.1", "::1", "fe80::1", "2001:db8::7", "1234567", "0.0.0.0",
             "100000000000.dkr.ecr.us-east-1.amazonaws.com", "1.2.3.4.example", "example.123", "a1", "", "1e3",
             "１.２.３.４", "1.2.3.4 ", "::ffff:10.0.0.1"]
    names += [".".join(str(rng.randint(0, 300)) for _ in range(rng.randint(1, 5))) for _ in range(300)]
    for name in names:
        try:
            ipaddress.ip_address(name)
            parsed = True
        except ValueError:
            parsed = False
        assert is_ip(name) is parsed, name
