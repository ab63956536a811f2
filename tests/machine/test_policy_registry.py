"""The Windows policy key: `reg query` text and `.reg` exports (UTF-16, hex(7) multi-strings, continuation lines)."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings

CASES = MACHINE / "policy_registry"


def test_reg_export_utf16_multi_string() -> None:
    path = BUNDLES / "win-clean" / "docker-desktop-policy.reg"
    assert path.read_bytes()[:2] == b"\xff\xfe"  # as regedit and `reg export` write it
    kind, items = parse_detected(path)
    assert kind == "policy_registry"
    org = settings(items)["allowedorgs"]
    assert (org.value, org.value_type, org.source.line, org.origin) == (("acme",), "REG_MULTI_SZ", 4, "registry-key")


def test_reg_query_text_only_the_policy_key() -> None:
    _, items = parse_detected(CASES / "query" / "docker-desktop-policy.txt")
    found = settings(items)
    assert found["allowedorgs"].value == ("myorg1", "myorg2")  # the subkey's REG_SZ is not read
    assert (found["someflag"].value, found["someflag"].value_type) == (1, "REG_DWORD")
    assert errors(items) == []


def test_reg_query_saved_as_utf16_with_a_semicolon_list() -> None:
    _, items = parse_detected(MACHINE / "broken" / "win-reg-semicolon" / "docker-desktop-policy.txt")
    assert settings(items)["allowedorgs"].value == ("acme;acme-partner",)


def test_bad_hex_and_missing_key_are_reported() -> None:
    _, items = parse_detected(CASES / "bad-hex" / "policy.reg")
    assert errors(items) == [(4, "value 'allowedOrgs': hex data is not comma-separated bytes")]
    assert settings(items)["other"].value == 'text "quoted"'
    _, items = parse_detected(CASES / "other-key" / "policy.reg")
    assert errors(items) == [(1, "no HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker Desktop key in this file")]
