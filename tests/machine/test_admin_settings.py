"""admin-settings.json: every leaf as a lower-cased dotted key; stringified daemon options decoded; bad JSON."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings

CASES = MACHINE / "admin_settings"


def test_groups_and_simple_settings_flatten_to_dotted_keys() -> None:
    kind, items = parse_detected(BUNDLES / "win-clean" / "admin-settings.json")
    assert kind == "admin_settings"
    found = settings(items)
    assert found["proxy.windowsdockerdport"].value == 65000
    assert found["proxy.windowsdockerdport"].key_text == "proxy.windowsDockerdPort"
    assert found["proxy.windowsdockerdport"].source.line == 13
    assert (found["blockdockerload.locked"].value, found["blockdockerload.value"].value) == (True, True)
    assert found["proxy.exclude"].value == ()
    assert errors(items) == []


def test_stringified_daemon_options_are_decoded() -> None:
    _, items = parse_detected(CASES / "daemon-options" / "admin-settings.json")
    found = settings(items)
    assert found["linuxvm.dockerdaemonoptions.value.insecure-registries"].value == ("registry.acme.example:5000",)
    assert found["linuxvm.dockerdaemonoptions.value.debug"].value is False
    assert found["kubernetes.enabled"].value is True  # `Kubernetes` in the file: keys match in any casing


def test_daemon_options_that_are_not_json_are_named() -> None:
    _, items = parse_detected(CASES / "bad-daemon-options" / "admin-settings.json")
    assert errors(items) == [(6, "linuxVM.dockerDaemonOptions.value is not a JSON object in a string "
                                 "(stringified daemon.json)")]
    assert settings(items)["blockdockerload.value"].value is True  # the rest is still read


def test_trailing_comma_keeps_settings_before_it() -> None:
    _, items = parse_detected(CASES / "trailing-comma" / "admin-settings.json")
    assert errors(items) == [(4, "invalid JSON: trailing comma before '}' in admin-settings.json; the settings "
                                 "before it are still used")]
    assert settings(items)["blockdockerload.locked"].value is True
