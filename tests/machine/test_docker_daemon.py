"""daemon.json: registry mirrors and insecure registries as host references; CIDR ranges and junk reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import HostPurpose, HostReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.machine import docker_daemon
from tests.conftest import FIXTURES, run_parser

DAEMON = FIXTURES / "machine" / "docker_daemon"


def _hosts(items: list) -> list[tuple[str, HostPurpose, str, str, int | None]]:  # type: ignore[type-arg]
    return [(i.host, i.purpose, i.text, i.context, i.source.line) for i in items if isinstance(i, HostReference)]


def test_mirrors_and_insecure_registries_with_lines() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "daemon.json")
    assert _hosts(items) == [
        ("mirror.gcr.io", HostPurpose.MIRROR, "https://mirror.gcr.io", "registry-mirrors[0]", 4),
        ("registry-mirror.example.com", HostPurpose.MIRROR, "https://Registry-Mirror.Example.COM:5000/",
         "registry-mirrors[1]", 5),
        ("proxy.example.net", HostPurpose.MIRROR, "http://proxy.example.net", "registry-mirrors[2]", 6),
        ("registry.local", HostPurpose.INSECURE, "registry.local:5000", "insecure-registries[0]", 9),
        ("192.168.1.20", HostPurpose.INSECURE, "192.168.1.20:5000", "insecure-registries[3]", 12),
    ]
    assert all(i.source.parser == "docker_daemon" for i in items if not isinstance(i, InputError))


def test_cidr_ranges_are_unresolved_not_hosts() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "daemon.json")
    unresolved = [(u.text, u.context, u.source.line) for u in items if isinstance(u, Unresolved)]
    assert unresolved == [("10.0.0.0/8", "insecure-registries[1]", 10),
                          ("fd00:dead:beef::/48", "insecure-registries[2]", 11)]
    assert all("CIDR" in u.reason for u in items if isinstance(u, Unresolved))


def test_password_in_a_mirror_url_is_not_repeated() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "daemon.json")
    assert "s3cret" not in repr(items)


def test_junk_entry_is_an_error_naming_its_line() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "daemon.json")
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [
        (13, "insecure-registries[4]: not a registry URL or host name ('not a host!')")]


def test_truncated_file_keeps_the_entries_before_the_cut() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "truncated-daemon.json")
    assert [h[0] for h in _hosts(items)] == ["mirror.gcr.io", "second.mirror.example", "registry.local"]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1 and errors[0].source.line == 7 and errors[0].message.startswith("invalid JSON: ")


def test_binary_junk_is_named_and_what_precedes_it_is_used() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "binary" / "daemon.json")
    assert [h[0] for h in _hosts(items)] == ["mirror.gcr.io"]
    errors = [i for i in items if isinstance(i, InputError)]
    assert {e.source.line for e in errors} == {4}
    assert any("NUL" in e.message for e in errors)


def test_wrong_types_are_reported() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "wrong-types.json")
    assert [e.message for e in items if isinstance(e, InputError)] == [
        "registry-mirrors is not a list", "insecure-registries[0] is not a string"]
    assert [h[0] for h in _hosts(items)] == ["ok.example.com"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("daemon.json", True), ("custom-name.json", True), ("binary/daemon.json", True), ("wrong-types.json", True)],
)
def test_detect(path: str, expected: bool) -> None:
    assert docker_daemon.detect(InputFile.from_path(DAEMON / path)) is expected


def test_other_json_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"mirrors": ["x"]}')
    assert not docker_daemon.detect(InputFile.from_path(path))


def test_registry_picks_docker_daemon() -> None:
    spec = parser_for(InputFile.from_path(DAEMON / "daemon.json"))
    assert spec is not None and spec.name == "docker_daemon"


def test_trailing_comma_is_named_and_entries_before_it_are_used() -> None:
    items = run_parser(docker_daemon.parse, DAEMON / "trailing-comma.json")
    assert [h[0] for h in _hosts(items)] == ["mirror.gcr.io"]
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [
        (4, "invalid JSON: trailing comma before ']'; the settings before it are still used")]
