"""`docker version`: JSON and text; the Docker Desktop version from the platform name; no server; truncated JSON."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings

CASES = MACHINE / "docker_version"


def test_json_desktop_platform_gives_the_desktop_version() -> None:
    kind, items = parse_detected(BUNDLES / "mac-clean" / "docker-version.json")
    assert kind == "docker_version"
    found = settings(items)
    assert found["server.platform.name"].value == "Docker Desktop 4.49.0 (208003)"
    assert found["desktop.version"].value == "4.49.0"
    assert (found["client.os"].value, found["client.context"].value) == ("darwin", "desktop-linux")
    assert found["server.kernelversion"].value == "6.10.14-linuxkit"


def test_text_form_desktop_and_community_engine() -> None:
    kind, items = parse_detected(CASES / "desktop-text" / "docker-version.txt")
    assert kind == "docker_version"
    found = settings(items)
    assert (found["desktop.version"].value, found["desktop.version"].source.line) == ("4.37.1", 10)
    assert (found["client.os"].value, found["server.os"].value) == ("windows", "linux")
    _, items = parse_detected(MACHINE / "broken" / "mac-not-desktop" / "docker-version.txt")
    found = settings(items)
    assert found["server.platform.name"].value == "Docker Engine - Community" and "desktop.version" not in found


def test_unreachable_engine_and_truncated_json() -> None:
    _, items = parse_detected(CASES / "no-server" / "docker-version.json")  # as this machine's CLI prints it
    found = settings(items)
    assert found["server"].value is None and "desktop.version" not in found
    _, items = parse_detected(CASES / "truncated" / "docker-version.json")
    assert errors(items) == [(1, "invalid JSON: unexpected end of file (truncated?) in docker version output; the "
                                 "settings before it are still used")]
    assert settings(items)["desktop.version"].value == "4.38.0"
