"""The bundle manifest the collection scripts write: platform and Desktop version; a truncated one is named."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings


def test_manifest_platform() -> None:
    kind, items = parse_detected(BUNDLES / "win-clean" / "regaudit-machine.json")
    assert kind == "machine_manifest"
    found = settings(items)
    assert (found["platform"].value, found["platform"].origin, found["platform"].machine) == \
        ("windows", "bundle", "win-clean")


def test_truncated_manifest() -> None:
    _, items = parse_detected(MACHINE / "machine_manifest" / "broken" / "regaudit-machine.json")
    assert errors(items) == [(1, "invalid JSON: unexpected end of file inside an object (truncated?) in "
                                 "regaudit-machine.json; the settings before it are still used")]
    assert settings(items)["platform"].value == "macos"
