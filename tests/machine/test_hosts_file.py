"""Hosts files: entries with lines, Docker Desktop's own block marked; junk lines named; inventories left alone."""

from __future__ import annotations

from auditor.core.model import HostsEntry
from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected


def _entries(items):  # type: ignore[no-untyped-def]
    return [(i.address, i.names, i.desktop_block, i.source.line) for i in items if isinstance(i, HostsEntry)]


def test_macos_hosts_with_docker_desktop_block() -> None:
    kind, items = parse_detected(BUNDLES / "mac-clean" / "hosts")
    assert kind == "hosts_file"
    assert _entries(items) == [("127.0.0.1", ("localhost",), False, 7),
                               ("255.255.255.255", ("broadcasthost",), False, 8),
                               ("::1", ("localhost",), False, 9),
                               ("127.0.0.1", ("kubernetes.docker.internal",), True, 12)]


def test_windows_hosts_crlf_and_commented_defaults() -> None:
    _, items = parse_detected(BUNDLES / "win-clean" / "hosts")
    assert [e[1][0] for e in _entries(items)] == ["host.docker.internal", "gateway.docker.internal",
                                                  "kubernetes.docker.internal"]
    assert all(e[2] for e in _entries(items))


def test_bad_lines_named_rest_kept() -> None:
    _, items = parse_detected(MACHINE / "hosts_file" / "mixed" / "hosts")
    assert errors(items) == [(2, "not an `address name` line (the first field is not an IP address)"),
                             (3, "an address without a host name"), (4, "not a host name: 'bad_name!'")]
    assert [e[:2] for e in _entries(items)] == [("127.0.0.1", ("localhost",)), ("192.168.1.9", ("ok.example",)),
                                                ("fe80::1%lo0", ("localhost",))]


def test_an_ansible_inventory_named_hosts_is_not_a_hosts_file() -> None:
    assert parse_detected(MACHINE / "hosts_file" / "ansible" / "hosts")[0] is None
