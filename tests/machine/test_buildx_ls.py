"""`docker buildx ls`: the table (current builder `*`, node rows) and --format json; broken rows named."""

from __future__ import annotations

from auditor.core.model import BuildxBuilder
from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected


def _builders(items):  # type: ignore[no-untyped-def]
    return [(b.name, b.driver, b.endpoints, b.current, b.status, b.source.line) for b in items
            if isinstance(b, BuildxBuilder)]


def test_json_lines() -> None:
    kind, items = parse_detected(BUNDLES / "mac-clean" / "buildx-ls.json")
    assert kind == "buildx_ls"
    assert _builders(items) == [("default", "docker", ("default",), False, "running", 1),
                                ("desktop-linux", "docker", ("desktop-linux",), True, "running", 2)]


def test_table_with_several_drivers() -> None:
    _, items = parse_detected(MACHINE / "broken" / "mac-builders" / "buildx-ls.txt")
    assert _builders(items) == [
        ("elated_tesla", "docker-container", ("desktop-linux",), True, "running", 2),
        ("k8s-builder", "kubernetes", ("kubernetes:///k8s-builder",), False, "inactive", 4),
        ("remote-kit", "remote", ("tcp://buildkitd.acme.example:1234",), False, "running", 6),
        ("desktop-linux", "docker", ("desktop-linux",), False, "running", 8)]
    assert errors(items) == []


def test_broken_table_and_json() -> None:
    _, items = parse_detected(MACHINE / "buildx_ls" / "broken" / "buildx-ls.txt")
    assert errors(items) == [(2, "a node row without its builder row")]
    assert _builders(items) == [("good", "docker-container", ("desktop-linux",), True, "running", 3)]
    _, items = parse_detected(MACHINE / "buildx_ls" / "broken-json" / "buildx-ls.json")
    assert [line for line, _ in errors(items)] == [2, 3]
    assert _builders(items) == [("ok", "kubernetes", ("kubernetes:///ok",), False, "inactive", 1)]
