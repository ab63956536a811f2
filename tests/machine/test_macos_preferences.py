"""desktop.plist and the com.docker.config profile: XML plist, `defaults read` text, .mobileconfig; the type of
allowedOrgs (string or array) survives every form; malformed, truncated and entity-laden files are refused clearly."""

from __future__ import annotations

import plistlib

from tests.machine.machine_helpers import MACHINE, errors, parse_detected, settings

BROKEN = MACHINE / "broken"


def test_xml_desktop_plist_array() -> None:
    kind, items = parse_detected(BROKEN / "mac-several-old" / "desktop.plist")
    assert kind == "desktop_plist"
    org = settings(items)["allowedorgs"]
    assert (org.value, org.value_type, org.source.line) == (("acme", "acme-partner"), "array", 5)


def test_binary_plist(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "desktop.plist"
    path.write_bytes(plistlib.dumps({"allowedOrgs": ["acme"]}, fmt=plistlib.FMT_BINARY))
    kind, items = parse_detected(path)
    assert kind == "desktop_plist" and settings(items)["allowedorgs"].value == ("acme",)


def test_defaults_read_text_keeps_types_and_quotes() -> None:
    kind, items = parse_detected(MACHINE / "desktop_plist" / "defaults" / "desktop.plist.txt")
    assert kind == "desktop_plist"
    found = settings(items)
    assert (found["allowedorgs"].value, found["allowedorgs"].value_type) == (("myorg1", "my org2"), "array")
    assert found["other"].source.line == 6


def test_profile_string_array_and_mobileconfig() -> None:
    kind, items = parse_detected(BROKEN / "mac-profile-multi" / "com.docker.config.txt")
    assert kind == "config_profile"
    org = settings(items)["allowedorgs"]
    assert (org.value, org.value_type, org.origin) == ("acme;acme-partner", "string", "config-profile")
    _, items = parse_detected(MACHINE / "config_profile" / "defaults-array" / "com.docker.config.txt")
    assert settings(items)["allowedorgs"].value_type == "array"
    _, items = parse_detected(BROKEN / "mac-profile-array" / "com.docker.config.plist")
    assert settings(items)["allowedorgs"].value_type == "array"
    kind, items = parse_detected(MACHINE / "config_profile" / "mdm" / "acme-docker.mobileconfig")
    assert kind == "config_profile"
    found = settings(items)
    assert (found["allowedorgs"].value, found["allowedorgs"].source.line) == ("acme;acme-partner", 16)
    assert found["overrideproxyhttps"].value == "http://proxy.acme.example:3128"


def test_malformed_preference_files_give_one_clear_error() -> None:
    cases = {
        MACHINE / "desktop_plist" / "broken-xml" / "desktop.plist": (7, "invalid property list (ExpatError) in a "
                                                                      "desktop.plist file"),
        MACHINE / "desktop_plist" / "defaults-unterminated" / "desktop.plist.txt": (
            3, "unterminated quoted string in a desktop.plist file"),
        MACHINE / "desktop_plist" / "entities" / "desktop.plist": (
            None, "invalid property list (InvalidFileException) in a desktop.plist file"),
        MACHINE / "config_profile" / "garbage" / "com.docker.config.txt": (
            3, "expected ';' after the value of 'allowedOrgs' in a config-profile file"),
    }
    for path, expected in cases.items():
        kind, items = parse_detected(path)
        assert kind in ("desktop_plist", "config_profile"), path
        assert errors(items) == [expected], path
        assert settings(items) == {}, path


def test_deep_nesting_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "desktop.plist.txt"
    path.write_text("{ a = " + "(" * 5000 + ")" * 5000 + "; }")
    _, items = parse_detected(path)
    assert errors(items) == [(1, "nested deeper than 64 levels in a desktop.plist file")]
