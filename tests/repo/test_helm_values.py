"""Helm values files: every image shape, global.imageRegistry, tags as written, appVersion fallbacks, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import helm_values
from tests.conftest import FIXTURES, run_parser

HELM = FIXTURES / "repo" / "helm_values"
DIGEST = "sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d"


def _refs(items: list) -> list[tuple[str, str, int | None]]:  # type: ignore[type-arg]
    return [(i.canonical, i.context, i.source.line) for i in items if isinstance(i, ImageReference)]


def test_every_shape_of_image_setting() -> None:
    assert _refs(run_parser(helm_values.parse, HELM / "values.yaml")) == [
        ("docker.io/bitnami/nginx:1.25.3-debian-11-r2", "image", 4),
        ("docker.io/envoyproxy/envoy:v1.28.0", "proxy.image", 10),
        ("quay.io/oauth2-proxy/oauth2-proxy:v7.5.1", "sidecars.proxy.image", 15),
        ("docker.io/fluent/fluent-bit:latest", "sidecars.logger.image", 17),
        ("ghcr.io/acme/exporter:1.10", "metrics.image", 22),
        ("registry.example.com:5000/tools/migrate:20230101", "migrations.image", 28),
        ("public.ecr.aws/docker/library/redis:7.2@" + DIGEST, "pinned.image", 39),
        ("docker.io/library/busybox:1.36", "extraContainers[0].image", 45),
        ("docker.io/bitnami/harbor-core:2.1.3-debian-10-r38", "coreImage", 51),
        ("docker.io/library/postgres:16", "postgresql", 55),
        ("docker.io/library/nginx:1.18-alpine", "inline_image", 58),
    ]


def test_numeric_tag_keeps_the_text_as_written() -> None:
    items = run_parser(helm_values.parse, HELM / "values.yaml")
    by_context = {i.context: i for i in items if isinstance(i, ImageReference)}
    assert by_context["metrics.image"].tag == "1.10"  # YAML would load 1.1
    assert by_context["migrations.image"].tag == "20230101"
    assert by_context["metrics.image"].endpoint == "ghcr.io"
    assert by_context["migrations.image"].endpoint == "registry.example.com"


def test_empty_tag_templates_and_invalid_names_are_unresolved() -> None:
    items = run_parser(helm_values.parse, HELM / "values.yaml")
    unresolved = [(u.text, u.context, u.source.line) for u in items if isinstance(u, Unresolved)]
    assert unresolved == [
        ("acme/worker", "worker.image", 33),
        ("{{ .Values.global.registry }}/helper:1", "extraContainers[1].image", 47),
        ("Not A Reference", "bad.image", 61),
    ]
    reasons = [u.reason for u in items if isinstance(u, Unresolved)]
    assert "appVersion" in reasons[0]
    assert "Go template" in reasons[1]
    assert reasons[2].startswith("invalid reference: ")
    assert not [i for i in items if isinstance(i, InputError)]


def test_global_image_registry_overrides_mapping_registries() -> None:
    assert _refs(run_parser(helm_values.parse, HELM / "values-global.yaml")) == [
        ("mirror.example.com/bitnami/postgresql:16.1.0-debian-11-r15", "image", 5),
        ("mirror.example.com/bitnami/postgres-exporter:0.15.0", "metrics.image", 9),
        ("docker.io/library/nginx:1.25", "plain.image", 12),
    ]


def test_broken_document_is_reported_and_the_others_are_read() -> None:
    items = run_parser(helm_values.parse, HELM / "values-broken.yaml")
    assert _refs(items) == [("docker.io/library/nginx:1.25", "image", 2), ("ghcr.io/acme/other:v2", "other.image", 10)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1
    assert errors[0].message.startswith("invalid YAML: ") and "document 2, starting at line 4" in errors[0].message
    assert errors[0].source.line == 7


def test_truncated_file_keeps_the_lines_before_the_cut() -> None:
    items = run_parser(helm_values.parse, HELM / "values-truncated.yaml")
    assert _refs(items) == [("docker.io/library/nginx:1.25", "image", 2)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1 and "unexpected end of stream" in errors[0].message
    # the cut-off tag is not guessed: the image is reported without one
    assert [(u.text, u.context) for u in items if isinstance(u, Unresolved)] == [("redis", "cache.image")]


def test_binary_junk_is_named_and_the_rest_read() -> None:
    items = run_parser(helm_values.parse, HELM / "values-binary.yaml")
    assert _refs(items) == [("docker.io/library/nginx:1.25", "image", 2),
                            ("docker.io/library/alpine:3.19", "sidecar.image", 8)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert errors[0].source.line == 5 and "NUL" in errors[0].message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("values.yaml", True),
        ("values-global.yaml", True),
        ("values-binary.yaml", True),
        ("values.schema.json", False),
    ],
)
def test_detect(name: str, expected: bool) -> None:
    assert helm_values.detect(InputFile.from_path(HELM / name)) is expected


@pytest.mark.parametrize("name", ["values.yml", "values-prod.yaml", "values.dev.yaml", "Values.yaml"])
def test_detect_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("image:\n  repository: nginx\n  tag: '1'\n")
    assert helm_values.detect(InputFile.from_path(path))


@pytest.mark.parametrize("name", ["myvalues.yaml", "values.txt", "chart.yaml"])
def test_not_detected_by_other_names(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("image:\n  repository: nginx\n  tag: '1'\n")
    assert not helm_values.detect(InputFile.from_path(path))


def test_values_without_image_settings_are_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("replicaCount: 2\nservice:\n  port: 80\n")
    assert not helm_values.detect(InputFile.from_path(path))


def test_registry_picks_helm_values() -> None:
    spec = parser_for(InputFile.from_path(HELM / "values.yaml"))
    assert spec is not None and spec.name == "helm_values"
