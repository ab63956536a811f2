"""~/.docker/config.json: registries logged in to, as credential host references; secrets never leak."""

from __future__ import annotations

import pytest

from auditor.core.model import HostPurpose, HostReference, InputError
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.machine import docker_config
from tests.conftest import FIXTURES, run_parser

CONFIG = FIXTURES / "machine" / "docker_config"
# Every credential value in the fixtures contains SECRET (plain or base64-encoded) and must never be output.
SECRETS = ("SECRET", "U0VDUkVU", "dXNlcjpTRUNSRVQ", "Z2hjcnVzZXI6U0VDUkVU", "cXVheTpTRUNSRVQ", "aGFyYm9yOlNFQ1JFVC")


def _hosts(items: list) -> list[tuple[str, str, str, int | None]]:  # type: ignore[type-arg]
    return [(i.host, i.text, i.context, i.source.line) for i in items if isinstance(i, HostReference)]


def test_auths_and_cred_helpers_keys() -> None:
    items = run_parser(docker_config.parse, CONFIG / "plain" / "config.json")
    assert _hosts(items) == [
        ("registry-1.docker.io", "https://index.docker.io/v1/", "auths", 3),
        ("ghcr.io", "ghcr.io", "auths", 6),
        ("registry.example.com", "registry.example.com:5000", "auths", 10),
        ("private.example.org", "https://private.example.org/v2/", "auths", 11),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
         "credHelpers (docker-credential-ecr-login)", 15),
        ("europe-docker.pkg.dev", "europe-docker.pkg.dev", "credHelpers (docker-credential-gcloud)", 16),
    ]
    assert all(i.purpose is HostPurpose.CREDENTIAL for i in items if isinstance(i, HostReference))
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [
        (12, "auths: key 'not a registry' is not a registry URL or host name")]


@pytest.mark.parametrize("case", ["plain", "truncated", "binary", "helpers-only"])
def test_no_credential_reaches_any_record_or_message(case: str) -> None:
    items = run_parser(docker_config.parse, CONFIG / case / "config.json")
    rendered = repr(items) + "".join(str(i) for i in items)
    assert items
    for secret in SECRETS:
        assert secret not in rendered


def test_truncated_inside_a_secret_keeps_the_keys_and_does_not_quote_it() -> None:
    items = run_parser(docker_config.parse, CONFIG / "truncated" / "config.json")
    assert [h[0] for h in _hosts(items)] == ["quay.io", "harbor.example.com"]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1 and errors[0].source.line == 4
    assert errors[0].message == ("invalid JSON: unterminated string or a control character inside a string; "
                                 "the registries before it are still used")


def test_binary_junk_key_is_named_and_earlier_keys_are_used() -> None:
    items = run_parser(docker_config.parse, CONFIG / "binary" / "config.json")
    assert [h[0] for h in _hosts(items)] == ["quay.io"]
    assert {e.source.line for e in items if isinstance(e, InputError)} == {4}


def test_cred_helpers_only() -> None:
    items = run_parser(docker_config.parse, CONFIG / "helpers-only" / "config.json")
    assert [h[0] for h in _hosts(items)] == ["gcr.io", "us-docker.pkg.dev"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [("plain", True), ("truncated", True), ("helpers-only", True), ("not-docker", False)],
)
def test_detect(case: str, expected: bool) -> None:
    assert docker_config.detect(InputFile.from_path(CONFIG / case / "config.json")) is expected


def test_registry_picks_docker_config() -> None:
    spec = parser_for(InputFile.from_path(CONFIG / "plain" / "config.json"))
    assert spec is not None and spec.name == "docker_config"


def test_no_credential_in_discover_output_end_to_end() -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    for output_format in ("json", "table"):
        result = CliRunner().invoke(main, ["discover", "--format", output_format, str(CONFIG)])
        text = result.output + (result.stderr if result.stderr_bytes is not None else "")
        assert "ghcr.io" in text and "registry-1.docker.io" in text
        for secret in SECRETS:
            assert secret not in text
