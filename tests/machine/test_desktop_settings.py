"""settings-store.json (PascalCase) and settings.json (camelCase) read alike; an editor's settings.json is not taken."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings

CASES = MACHINE / "desktop_settings"


def test_settings_store_keys_lowercased() -> None:
    kind, items = parse_detected(BUNDLES / "win-clean" / "settings-store.json")
    assert kind == "desktop_settings"
    found = settings(items)
    assert found["overridewindowsdockerdport"].value == 65000
    assert found["usewindowscontainers"].value is False
    assert found["overridewindowsdockerdport"].origin == "settings-store.json"


def test_camel_case_settings_json_and_no_proxy_password() -> None:
    kind, items = parse_detected(CASES / "camel" / "settings.json")
    assert kind == "desktop_settings"
    found = settings(items)
    assert found["kubernetesenabled"].value is True and found["kubernetesenabled"].origin == "settings.json"
    assert found["overrideproxyhttp"].value == "http://127.0.0.1:3128"  # user:secret@ never kept
    assert all("secret" not in repr(item) for item in items)


def test_an_editor_settings_json_is_not_docker_desktop() -> None:
    assert parse_detected(CASES / "vscode" / "settings.json")[0] is None


def test_truncated_settings_store() -> None:
    _, items = parse_detected(CASES / "truncated" / "settings-store.json")
    assert errors(items) == [(3, "invalid JSON: unexpected character (not JSON) in settings-store.json; the "
                                 "settings before it are still used")]
    assert settings(items)["settingsversion"].value == 43
