"""Every class of hostile input the fuzzing campaign found (issue 11), through the command line with every report.

Each case checks the three promises: no crash (exit 0, every report written), the bad spot named by file and
line or packet, and the rest of the input still used.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

import parsers
from auditor.cli import main
from auditor.core.allowlist import EntryKind, read_allowlist
from auditor.core.timestamps import MAX_EPOCH, TimestampGate, bounded_epoch
from auditor.pipeline.collect import CollectOptions, collect
from parsers import ParserSpec
from parsers.common.decompress import DecompressionError, GuardedStream
from parsers.common.inputs import InputFile
from parsers.logs.dns import dnsmasq
from tests.conftest import REPO_ROOT
from tests.logs.test_dnslogs import scan

HOSTILE = REPO_ROOT / "tests/fixtures/common/hostile"
CLEAN_ALLOWLIST = REPO_ROOT / "tests/fixtures/audit/clean/allowlist.txt"
PCAPNG = REPO_ROOT / "tests/fixtures/traffic/pcap/two_interfaces.pcapng"


def audit(tmp_path: Path, *inputs: Path, allowlist: Path = CLEAN_ALLOWLIST) -> tuple[int, dict, str]:
    """`regaudit audit` with all five reports, then `regaudit discover --format json` on the same inputs:
    (the audit's exit code, the discover document, the audit's output)."""
    reports = {name: tmp_path / f"report.{name}" for name in ("html", "json", "csv", "sarif", "md")}
    args = ["audit", *map(str, inputs), "--allowlist", str(allowlist)]
    for name, path in reports.items():
        args += [f"--{name}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert all(path.exists() for path in reports.values()), result.output
    findings = json.loads(reports["json"].read_text())["findings"]
    discovered = tmp_path / "discover.json"
    found = CliRunner().invoke(main, ["discover", "--format", "json", "-o", str(discovered), *map(str, inputs)])
    assert found.exception is None or isinstance(found.exception, SystemExit), found.output
    document = json.loads(discovered.read_text())
    document["findings"] = findings
    return result.exit_code, document, result.output


def input_errors(document: dict) -> list[tuple[str, int | None, str]]:
    return [(Path(e["source"]["path"]).name, e["source"]["line"] or e["source"]["packet"], e["message"])
            for e in document["errors"]]


def observed(document: dict) -> set[str]:
    return {h["host"] for h in document["observed_hosts"]}


# -- timestamps: one gate, whatever the input -------------------------------------------------------


@pytest.mark.parametrize(("fixture", "bad_lines", "kept"), [
    ("squid_far_future.log", [2], {"ghcr.io", "quay.io"}),  # (line 2, a denial, is a blocked attempt)
    ("zeek_bad_ts.log", [9, 10], {"ghcr.io", "quay.io", "mcr.microsoft.com", "gcr.io"}),
    ("unbound_far_future.log", [2], {"ghcr.io", "quay.io"}),
])
def test_out_of_range_timestamps_are_named_and_the_records_kept(tmp_path: Path, fixture: str,
                                                                bad_lines: list[int], kept: set[str]) -> None:
    code, document, _ = audit(tmp_path, HOSTILE / fixture)
    assert code == 0
    errors = [e for e in input_errors(document) if "timestamp" in e[2]]
    assert [e[1] for e in errors] == bad_lines
    assert all(e[0] == fixture and "outside 1970-01-01..9999-12-31" in e[2] for e in errors)
    assert kept <= observed(document)


def test_a_pcapng_timestamp_with_a_huge_high_word_is_named_by_packet(tmp_path: Path) -> None:
    data = bytearray(PCAPNG.read_bytes())
    offset, patched = 0, 0
    while offset + 12 <= len(data):
        block_type, length, interface = struct.unpack_from("<III", data, offset)
        # an Enhanced Packet Block on the interface with microsecond stamps: 0x7fffffff << 32 us is year 294,000
        if block_type == 6 and interface == 1:
            struct.pack_into("<I", data, offset + 12, 0x7FFFFFFF)
            patched += 1
            break
        offset += length
    assert patched == 1
    capture = tmp_path / "far_future.pcapng"
    capture.write_bytes(bytes(data))
    code, document, _ = audit(tmp_path, capture)
    assert code == 0
    [error] = [e for e in input_errors(document) if "timestamp" in e[2]]
    assert error[0] == "far_future.pcapng" and error[1] == 3  # the packet, by its number
    assert {"ns.example.com", "registry.example.org", "blobs.cdn.example.net"} <= observed(document)


def test_the_gate_bounds_and_counts() -> None:
    assert bounded_epoch(1714557600.5) == 1714557600.5
    assert [bounded_epoch(v) for v in (float("nan"), float("inf"), -1.0, MAX_EPOCH + 1, 10**400, True, "1")] == \
        [None] * 7
    from auditor.core.model import Observation, ObservationKind, Source
    gate = TimestampGate("x.log")
    results = [gate.check(Observation("a.example", ObservationKind.DNS_QUERY, time=1e300, source=Source("x.log", n)))
               for n in range(1, 30)]
    assert all(item.time is None for item, _ in results)
    assert sum(error is not None for _, error in results) == 20  # then one summary line
    summary = gate.summary()
    assert summary is not None and summary.message.startswith("9 more lines")


# -- decompression ---------------------------------------------------------------------------------------


def test_a_corrupt_gz_beside_a_good_dockerfile(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "Dockerfile").write_text("FROM ghcr.io/acme/app:1.0\n")
    lines = b"".join(b"May  1 10:00:01 dnsmasq[1234]: query[A] host%d.example from 10.0.0.1\n" % n
                     for n in range(30_000))
    body = gzip.compress(lines)
    middle = len(body) // 2
    (tree / "dns.log.gz").write_bytes(body[:middle] + b"\xff" * 64 + body[middle + 64:])  # damaged halfway
    (tree / "junk.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff" * 200)  # a header, then garbage
    code, document, output = audit(tmp_path, tree)
    assert code == 0, output
    assert [r["canonical"] for r in document["references"]] == ["ghcr.io/acme/app:1.0"]
    errors = input_errors(document)
    assert {e[0] for e in errors} == {"dns.log.gz"}  # the damaged file, and only it, is named
    assert any("corrupt or truncated gzip data after" in e[2] for e in errors)
    assert "host1.example" in observed(document)  # the lines before the damage were read
    assert document["skipped_files"] == 1  # junk.gz: nothing readable, so no kind (only a named file is reported)


def test_every_codec_error_is_one_exception(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 100)
    with GuardedStream(gzip.open(path, "rb"), "gzip", path.stat().st_size) as stream, \
            pytest.raises(DecompressionError, match="corrupt or truncated gzip data after 0 good bytes"):
        stream.read()


@pytest.mark.timeout(180)
def test_a_2_gib_gzip_bomb_of_newlines_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    bomb = tmp_path / "dns.log.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:  # ~2 MB on disk, written in pieces
        out.write(b"May  1 10:00:01 dnsmasq[1234]: query[A] ghcr.io from 10.0.0.1\n")
        block = b"\n" * (16 * 1024 * 1024)
        for _ in range(128):
            out.write(block)
    assert bomb.stat().st_size < 4 * 1024 * 1024
    store = collect([str(bomb)], CollectOptions(variables={}, show_progress=False, forced_kind="dnsmasq"))
    assert "ghcr.io" in store.activity  # what came before the cap is used
    [error] = store.errors
    assert error.source.path == str(bomb)
    assert "refused as a likely decompression bomb" in error.message
    assert "expands past 268,435,456 bytes" in error.message


def test_long_runs_of_empty_lines_are_counted_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "dnsmasq.log"
    line = "May  1 10:00:01 dnsmasq[1234]: query[A] ghcr.io from 10.0.0.1\n"
    path.write_text(line + "\n" * 1_000_000 + line.replace("ghcr.io", "quay.io") + "\n" * 300 + "x\n")
    records, stats = scan(dnsmasq, path)
    assert stats.total == 1_000_303 and stats.accounted == stats.total
    assert stats.ignored["empty line"] == 1_000_300
    quay = [r for r in records if getattr(r, "host", None) == "quay.io"]
    assert quay and quay[0].source.line == 1_000_002  # numbering survives the skipped run


# -- JSON and YAML values --------------------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "message", "line"), [
    ("allowlist_deep.json", "JSON nested deeper than 256 levels", 1),
    ("allowlist_long_number.json", "number of 5000 characters, longer than 40", 3),
])
def test_hostile_json_allowlists_are_input_errors(tmp_path: Path, fixture: str, message: str, line: int) -> None:
    allowlist, errors = read_allowlist(HOSTILE / fixture)
    assert len(allowlist) == 0
    assert [(e.message, e.source.line) for e in errors] == [(message, line)]
    # an allowlist with no valid entry cannot be audited: one line naming the file and line, exit 2, no traceback
    result = CliRunner().invoke(main, ["audit", str(REPO_ROOT / "tests/fixtures/audit/clean/repo"), "--allowlist",
                                       str(HOSTILE / fixture)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"{HOSTILE / fixture}:{line}: {message}" in result.output


@pytest.mark.parametrize(("fixture", "message"), [
    ("diff_deep.json", "JSON nested deeper than 256 levels (line 1)"),
    ("diff_long_number.json", "number of 5000 characters, longer than 40 (line 2)"),
])
def test_hostile_diff_inputs_are_refused_cleanly(fixture: str, message: str) -> None:
    result = CliRunner().invoke(main, ["diff", str(HOSTILE / fixture), str(HOSTILE / fixture)])
    assert (result.exit_code == 2 and result.exception is None) or isinstance(result.exception, SystemExit)
    assert message in result.output and "Traceback" not in result.output


def test_a_5000_digit_yaml_scalar_keeps_the_file(tmp_path: Path) -> None:
    code, document, _ = audit(tmp_path, HOSTILE / "docker-compose.yml")
    assert code == 0
    assert sorted(r["canonical"] for r in document["references"]) == [
        "docker.io/library/postgres:16", "ghcr.io/acme/web:1.0"]
    assert input_errors(document) == []


# -- the per-file guard ------------------------------------------------------------------------------------


def test_a_parser_bug_keeps_the_records_before_it_and_names_the_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dockerfile = next(s for s in parsers.PARSERS if s.name == "dockerfile")

    def breaks_after_two(inp: InputFile, ctx):  # type: ignore[no-untyped-def]
        for count, record in enumerate(dockerfile.parse(inp, ctx), 1):
            yield record
            if count == 2:
                raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    spec = ParserSpec("dockerfile", dockerfile.detect, breaks_after_two)
    monkeypatch.setattr(parsers, "PARSERS", tuple(spec if s.name == "dockerfile" else s for s in parsers.PARSERS))
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine:3.20 AS a\nRUN true\nFROM ghcr.io/acme/b:1 AS b\nFROM quay.io/acme/c:1\n")
    store = collect([str(path)], CollectOptions(variables={}, show_progress=False))
    assert [r.canonical for r in store.references] == ["docker.io/library/alpine:3.20", "ghcr.io/acme/b:1"]
    [error] = store.errors
    assert error.source.line == 3
    assert error.message.startswith("dockerfile parser failed after line 3 (ValueError: Exceeds the limit")
    assert error.message.endswith("the records before it are kept, the rest of the file is not read")


# -- line readers ------------------------------------------------------------------------------------------


def test_dnsmasq_has_no_phantom_line_after_a_final_cname_reply() -> None:
    _, stats = scan(dnsmasq, HOSTILE / "dnsmasq_ends_on_cname.log")
    assert (stats.total, stats.parsed, dict(stats.ignored)) == (2, 2, {})


def test_a_100_mb_docker_images_line_is_skipped_without_holding_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "images.txt"
    with path.open("wb") as out:
        out.write(b"REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n")
        out.write(b"ghcr.io/acme/app   1.0   0123456789ab   2 days ago   10MB\n")
        out.write(b"x" * (100 * 1024 * 1024) + b"\n")
        out.write(b"quay.io/acme/db   2.0   ba9876543210   2 days ago   10MB\n")
    # VmHWM (this process's own peak RSS): ru_maxrss would carry the forking pytest's peak over the exec
    probe = ("import sys\nfrom auditor.pipeline.collect import CollectOptions, collect\n"
             "s = collect([sys.argv[1]], CollectOptions(variables={}, show_progress=False))\n"
             "print(sorted(r.canonical for r in s.references), [(e.source.line, e.message) for e in s.errors])\n"
             "print(next(ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')))\n")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=300,
                            cwd=REPO_ROOT)
    refs_errors, peak_kib = result.stdout.splitlines()
    assert refs_errors == ("['ghcr.io/acme/app:1.0', 'quay.io/acme/db:2.0'] "
                           "[(3, 'line longer than 65536 bytes; skipped')]")
    assert int(peak_kib) < 100 * 1024  # the 100 MB line was never held whole


# -- allowlist entries -------------------------------------------------------------------------------------


def test_networks_are_entries_of_their_own_finding(tmp_path: Path) -> None:
    fixture = REPO_ROOT / "tests/fixtures/audit/network-entry"
    allowlist, errors = read_allowlist(fixture / "allowlist.txt")
    assert [(e.address, e.kind, e.line) for e in allowlist if e.kind is EntryKind.NETWORK] == [
        ("10.20.0.0/16", EntryKind.NETWORK, 5), ("0.0.0.0/0", EntryKind.NETWORK, 7)]
    assert errors == []
    _, document, _ = audit(tmp_path, fixture / "repo", allowlist=fixture / "allowlist.txt")
    kinds = sorted((f["kind"], tuple(f["entries"])) for f in document["findings"])
    assert kinds == [("network-entry", ("0.0.0.0/0",)), ("network-entry", ("10.20.0.0/16",))]  # not "unused"


def test_ram_console_export_any_column_order_semicolons_bom() -> None:
    allowlist, errors = read_allowlist(REPO_ROOT / "tests/fixtures/propose/allowlists/ram-console-export.csv")
    assert [(e.address, e.nickname, e.line, e.kind.value) for e in allowlist] == [
        ("ghcr.io", "GitHub registry", 2, "host"), ("pkg-containers.githubusercontent.com", "GHCR blobs", 3, "host"),
        ("10.0.0.0/8", "Office", 5, "network"), ("quay.io", "With path", 7, "host")]
    assert [(d.line, first.line) for d, first in allowlist.duplicates] == [(4, 2)]
    assert [(e.source.line, e.message) for e in errors] == [
        (6, "invalid allowlist entry '300.1.1.1': neither an IPv4 address nor a host name: '300.1.1.1'"),
        (7, "allowlist entry 'https://quay.io/v2/library' read as 'quay.io': dropped the scheme 'https://', "
            "the path '/v2/library' (an allowlist matches host names only)")]


def test_credentials_in_an_entry_never_reach_a_message(tmp_path: Path) -> None:
    path = tmp_path / "allowlist.txt"
    path.write_text("https://robot:s3cr3t@ghcr.io/v2/\n")
    allowlist, errors = read_allowlist(path)
    assert [e.address for e in allowlist] == ["ghcr.io"] and "s3cr3t" not in allowlist.entries[0].original
    assert len(errors) == 1 and "s3cr3t" not in errors[0].message and "credentials" in errors[0].message


def test_a_duplicate_is_a_finding(tmp_path: Path) -> None:
    fixture = REPO_ROOT / "tests/fixtures/audit/duplicate"
    _, document, _ = audit(tmp_path, fixture / "repo", allowlist=fixture / "allowlist.txt")
    [finding] = [f for f in document["findings"] if f["kind"] == "duplicate"]
    assert finding["entries"] == ["ghcr.io"]
    assert (finding["data"]["first_line"], finding["data"]["line"]) == (1, 3)
    assert finding["data"]["changes"] == [{"op": "keep", "address": "ghcr.io"}]  # one copy stays

