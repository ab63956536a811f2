"""`docker info`: JSON and text; insecure registries from IndexConfigs and the text list; truncated JSON."""

from __future__ import annotations

from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected, settings


def test_json_fields_and_insecure_index_configs() -> None:
    kind, items = parse_detected(BUNDLES / "win-clean" / "docker-info.json")
    assert kind == "docker_info"
    found = settings(items)
    assert (found["name"].value, found["operatingsystem"].value, found["ostype"].value) == \
        ("docker-desktop", "Docker Desktop", "linux")
    assert found["kernelversion"].value == "6.6.87.2-microsoft-standard-WSL2"
    assert found["httpproxy"].value == "http.docker.internal:3128"
    assert found["registryconfig.insecure"].value == ("hubproxy.docker.internal:5555",)
    assert found["registryconfig.mirrors"].value == ("https://registry.acme.example/",)
    assert found["clientinfo.context"].value == "desktop-linux"


def test_text_form_lists_and_labels() -> None:
    kind, items = parse_detected(BUNDLES / "linux-clean" / "docker-info.txt")
    assert kind == "docker_info"
    found = settings(items)
    assert found["registryconfig.insecure"].value == ("hubproxy.docker.internal:5555", "::1/128", "127.0.0.0/8")
    assert found["registryconfig.insecure"].source.line == 34
    assert found["registryconfig.mirrors"].value == ("https://registry.acme.example/",)
    assert (found["name"].value, found["kernelversion"].value) == ("docker-desktop", "6.10.14-linuxkit")
    assert found["clientinfo.context"].value == "desktop-linux"
    assert found["labels"].value == ("com.docker.desktop.address=unix:///home/dev/.docker/desktop/docker-cli.sock",)


def test_unreachable_engine_prints_empty_strings_which_are_left_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "docker-info.json"
    path.write_text('{"ID":"","Name":"","OperatingSystem":"","OSType":"","ServerVersion":"","KernelVersion":"",'
                    '"ClientInfo":{"Context":"default"},"ServerErrors":["Cannot connect to the Docker daemon"]}')
    _, items = parse_detected(path)
    found = settings(items)
    assert set(found) == {"clientinfo.context", "servererrors"}


def test_truncated_json() -> None:
    kind, items = parse_detected(MACHINE / "docker_info" / "truncated" / "docker-info.json")
    assert kind == "docker_info"
    assert errors(items) == [(1, "invalid JSON: unterminated string or a control character inside a string in "
                                 "docker info output; the settings before it are still used")]
    assert settings(items)["name"].value == "docker-desktop"
