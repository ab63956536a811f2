"""registry.json: allowedOrgs with its type and line, keys in any casing; truncated, non-object, binary, BOM files."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings

CASES = MACHINE / "desktop_registry_json"


def test_allowed_orgs_with_type_line_and_machine() -> None:
    kind, items = parse_detected(BUNDLES / "mac-clean" / "registry.json")
    assert kind == "desktop_registry_json"
    org = settings(items)["allowedorgs"]
    assert (org.value, org.value_type, org.source.line, org.machine, org.origin) == \
        (("acme",), "array", 2, "mac-clean", "registry.json")


def test_key_casing_does_not_matter() -> None:
    _, items = parse_detected(CASES / "pascal" / "registry.json")
    org = settings(items)["allowedorgs"]
    assert org.value == ("acme", "acme-partner") and org.key_text == "AllowedOrgs"


def test_truncated_file_keeps_what_was_read_and_says_where() -> None:
    _, items = parse_detected(CASES / "truncated" / "registry.json")
    assert errors(items) == [(4, "invalid JSON: unexpected end of file (truncated?) in registry.json; the settings "
                                 "before it are still used")]
    found = settings(items)
    assert found["allowedorgs"].value == ("acme",) and found["file.invalid"].value is True


def test_not_an_object_and_binary_are_errors_not_crashes() -> None:
    _, items = parse_detected(CASES / "not-object" / "registry.json")
    assert errors(items) == [(1, 'not a JSON object: registry.json holds {"allowedOrgs": [...]}')]
    assert "allowedorgs" not in settings(items)
    kind, items = parse_detected(CASES / "binary" / "registry.json")
    assert kind == "desktop_registry_json"
    assert errors(items) == [(1, "binary content (NUL bytes) in a desktop_registry_json file; skipped")]


def test_a_bom_is_recorded_for_review(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "laptop" / "registry.json"
    path.parent.mkdir()
    path.write_bytes(b'\xef\xbb\xbf{"allowedOrgs": ["acme"]}')
    _, items = parse_detected(path)
    found = settings(items)
    assert found["file.bom"].value == "utf-8-sig" and found["allowedorgs"].value == ("acme",)
    assert found["allowedorgs"].machine == "laptop"
