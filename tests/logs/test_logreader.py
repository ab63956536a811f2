"""The shared log reader: a line far longer than a read block is skipped and reported, never the end."""

from __future__ import annotations

from pathlib import Path

from parsers.logs import line_reader as _common
from parsers.logs.dns import dnsmasq
from tests.conftest import run_parser


def _log(path: Path, huge: int) -> None:
    with open(path, "wb") as out:
        out.write(b"Nov 20 10:00:00 dnsmasq[812]: query[A] before.example.com from 10.1.0.5\n")
        out.write(b"Nov 20 10:00:01 dnsmasq[812]: query[A] " + b"x" * huge + b"\n")
        out.write(b"Nov 20 10:00:02 dnsmasq[812]: query[A] after.example.com from 10.1.0.5\n")


def _hosts_and_errors(path: Path) -> tuple[set[str], list[str]]:
    items = run_parser(dnsmasq.parse, path)
    hosts = {item.host for item in items if hasattr(item, "host")}
    errors = [str(item) for item in items if item.__class__.__name__ == "InputError"]
    return hosts, errors


def test_a_line_spanning_several_blocks_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "pihole.log"
    _log(path, huge=3 * _common.BLOCK_BYTES + 12345)
    hosts, errors = _hosts_and_errors(path)
    assert {"before.example.com", "after.example.com"} <= hosts
    assert len(errors) == 1 and ":2: line longer than" in errors[0]


def test_an_over_long_line_ending_exactly_at_a_block_edge(tmp_path: Path) -> None:
    path = tmp_path / "pihole.log"
    prefix = len(b"Nov 20 10:00:00 dnsmasq[812]: query[A] before.example.com from 10.1.0.5\n")
    prefix += len(b"Nov 20 10:00:01 dnsmasq[812]: query[A] ")
    _log(path, huge=2 * _common.BLOCK_BYTES - prefix - 1)  # its newline is the last byte of a block
    hosts, errors = _hosts_and_errors(path)
    assert "after.example.com" in hosts
    assert len(errors) == 1
