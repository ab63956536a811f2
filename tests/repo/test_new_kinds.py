"""Quadlet units, devcontainer.json, Cloud Build and Tekton: each shape of fixture, and malformed input."""

from __future__ import annotations

from pathlib import Path

from auditor.core.model import HostReference, ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import cloudbuild, devcontainer, kubernetes, quadlet
from tests.conftest import FIXTURES, run_parser

REPO = FIXTURES / "repo"


def _refs(records: list) -> list[tuple[str, int | None, str]]:  # type: ignore[type-arg]
    return [(r.canonical, r.source.line, r.context) for r in records if isinstance(r, ImageReference)]


def _kind(path: Path) -> str | None:
    spec = parser_for(InputFile.from_path(path))
    return spec.name if spec else None


# -- quadlet ---------------------------------------------------------------------------------------------------

def test_quadlet_container_image_and_volume_units() -> None:
    assert _refs(run_parser(quadlet.parse, REPO / "quadlet/web.container")) == [
        ("quay.io/example/web:2.4@sha256:" + "0" * 63 + "1", 6, "[Container] Image")]
    assert _refs(run_parser(quadlet.parse, REPO / "quadlet/cache.image")) == [
        ("docker.io/library/redis:7.2", 3, "[Image] Image")]  # docker:// transport dropped
    assert _refs(run_parser(quadlet.parse, REPO / "quadlet/data.volume")) == [
        ("ghcr.io/example/seed-data:1", 3, "[Volume] Image")]


def test_quadlet_unit_references_local_transports_short_names_and_specifiers() -> None:
    records = run_parser(quadlet.parse, REPO / "quadlet/worker.container")
    assert _refs(records) == []  # cache.image is another unit; docker-daemon: is local storage
    unresolved = [(u.text, u.source.line) for u in records if isinstance(u, Unresolved)]
    assert unresolved == [("alpine:3.20", 7), ("registry.example.com/%u/tool:1", 9)]
    assert "registries.conf" in next(u for u in records if isinstance(u, Unresolved)).reason


def test_quadlet_malformed_lines_are_named_and_the_rest_is_read() -> None:
    records = run_parser(quadlet.parse, REPO / "quadlet/broken.container")
    errors = [(e.source.line, e.message) for e in records if isinstance(e, InputError)]
    assert [line for line, _ in errors] == [1, 3]
    assert "no closing ']'" in errors[0][1]
    assert _refs(records) == [("registry.example.com/app:1", 2, "[Container] Image")]


def test_quadlet_detection_needs_a_unit_section() -> None:
    assert _kind(REPO / "quadlet/web.container") == "quadlet"
    assert _kind(REPO / "quadlet/cache.image") == "quadlet"


# -- devcontainer ----------------------------------------------------------------------------------------------

def test_devcontainer_image() -> None:
    path = REPO / "devcontainer/image/.devcontainer/devcontainer.json"
    assert _kind(path) == "devcontainer"
    assert _refs(run_parser(devcontainer.parse, path)) == [
        ("mcr.microsoft.com/devcontainers/go:1-1.22-bookworm", 3, "image")]


def test_devcontainer_features_are_oci_pulls_and_other_ids_are_not_guessed() -> None:
    records = run_parser(devcontainer.parse, REPO / "devcontainer/features/.devcontainer/devcontainer.json")
    assert [(ref, line) for ref, line, _ in _refs(records)] == [
        ("mcr.microsoft.com/devcontainers/base:ubuntu", 2),
        ("ghcr.io/devcontainers/features/docker-in-docker:2", 4),
        ("ghcr.io/devcontainers/features/node@sha256:" + "0" * 63 + "2", 5),
    ]
    hosts = [(h.host, h.source.line) for h in records if isinstance(h, HostReference)]
    assert hosts == [("github.com", 7)]  # the tarball feature's download host; ./local-feature is nothing
    assert [(u.text, u.source.line) for u in records if isinstance(u, Unresolved)] == [("common-utils", 8)]


def test_devcontainer_jsonc_comments_and_trailing_commas() -> None:
    records = run_parser(devcontainer.parse, REPO / "devcontainer/jsonc/.devcontainer/devcontainer.json")
    assert not [r for r in records if isinstance(r, InputError)]
    assert [(ref, line) for ref, line, _ in _refs(records)] == [
        ("ghcr.io/example/dev:1", 5), ("ghcr.io/devcontainers/features/python:1", 7)]


def test_devcontainer_strip_jsonc_keeps_strings_and_lines() -> None:
    text = '{"a": "x//y", /* c\n */ "b": "/*z*/",}\n// end'
    stripped = devcontainer.strip_jsonc(text)
    assert stripped.count("\n") == text.count("\n")
    assert '"x//y"' in stripped and '"/*z*/"' in stripped and "//" not in stripped.replace('"x//y"', "")


def test_devcontainer_truncated_file_keeps_what_came_before() -> None:
    records = run_parser(devcontainer.parse, REPO / "devcontainer/broken/.devcontainer/devcontainer.json")
    [error] = [e for e in records if isinstance(e, InputError)]
    assert "truncated" in error.message and error.source.line == 5
    assert [ref for ref, _, _ in _refs(records)] == ["ghcr.io/example/dev:2", "ghcr.io/devcontainers/features/go:1"]


# -- Cloud Build -----------------------------------------------------------------------------------------------

def test_cloudbuild_steps_and_pushed_images() -> None:
    path = REPO / "cloudbuild/simple/cloudbuild.yaml"
    assert _kind(path) == "cloudbuild"
    assert _refs(run_parser(cloudbuild.parse, path)) == [
        ("gcr.io/cloud-builders/docker:24.0.9", 3, "steps[build].name"),
        ("docker.io/library/node:20", 5, "steps[1].name"),
        ("gcr.io/google.com/cloudsdktool/cloud-sdk@sha256:" + "0" * 63 + "3", 8, "steps[2].name"),
        ("us-docker.pkg.dev/my-project/app/web:latest", 10, "images (pushed)"),
    ]


def test_cloudbuild_substitutions_default_and_override() -> None:
    path = REPO / "cloudbuild/substitutions/cloudbuild-release.yaml"
    assert _kind(path) == "cloudbuild"
    records = run_parser(cloudbuild.parse, path)
    assert [ref for ref, _, _ in _refs(records)] == ["europe-docker.pkg.dev/tools/linter:1.4"]
    [unresolved] = [u for u in records if isinstance(u, Unresolved)]
    assert "PROJECT_ID" in unresolved.reason
    overridden = run_parser(cloudbuild.parse, path, {"_TOOL_VERSION": "2.0", "PROJECT_ID": "acme"})
    assert [ref for ref, _, _ in _refs(overridden)] == ["europe-docker.pkg.dev/tools/linter:2.0",
                                                       "gcr.io/acme/builder:1"]


def test_cloudbuild_broken_yaml_is_one_error_and_earlier_steps_survive() -> None:
    records = run_parser(cloudbuild.parse, REPO / "cloudbuild/broken/cloudbuild.yaml")
    [error] = [e for e in records if isinstance(e, InputError)]
    assert error.source.line == 4 and "invalid YAML" in error.message
    assert [ref for ref, _, _ in _refs(records)] == ["gcr.io/cloud-builders/git:latest"]


# -- Tekton (through the Kubernetes parser) ---------------------------------------------------------------------

def test_tekton_steps_sidecars_templates_and_bundles() -> None:
    records = run_parser(kubernetes.parse, REPO / "kubernetes/tekton/pipeline.yaml")
    assert _refs(records) == [
        ("registry.example.com/tekton/base:1", 7, "Task/build: spec.stepTemplate.image"),
        ("docker.io/library/golang:1.22", 10, "Task/build: spec.steps[compile].image"),
        ("gcr.io/kaniko-project/executor:v1.23.0@sha256:" + "0" * 63 + "4", 13, "Task/build: spec.steps[kaniko].image"),
        ("docker.io/library/registry:2", 16, "Task/build: spec.sidecars[registry].image"),
        ("ghcr.io/tektoncd/catalog/upstream/tasks/golangci-lint:0.2", 29,
         "Pipeline/release: spec.tasks[lint].taskRef.params[bundle] (bundle)"),
        ("quay.io/example/tasks:legacy", 40, "Pipeline/release: spec.tasks[old-style].taskRef.bundle (bundle)"),
        ("docker.io/library/busybox:1.36", 45, "Pipeline/release: spec.tasks[inline].taskSpec.steps[echo].image"),
        ("gcr.io/tekton-releases/github.com/tektoncd/dashboard/cmd/dashboard:v0.50.0", 56,
         "Deployment/dashboard: spec.template.spec.containers[dashboard].image"),
    ]


def test_tekton_malformed_values_and_yaml() -> None:
    records = run_parser(kubernetes.parse, REPO / "kubernetes/tekton/broken.yaml")
    assert [e.source.line for e in records if isinstance(e, InputError)] == [8, 11, 17]
    assert [ref for ref, _, _ in _refs(records)] == ["docker.io/library/alpine:3.20"]


def test_devcontainer_variables() -> None:
    path = REPO / "devcontainer/variables.devcontainer.json"
    records = run_parser(devcontainer.parse, path)
    [template] = [r for r in records if isinstance(r, Unresolved)]
    assert template.source.line == 2 and "template option (imageVariant)" in template.reason
    assert [ref for ref, _, _ in _refs(records)] == ["ghcr.io/devcontainers/features/node:1"]  # localEnv default
    overridden = run_parser(devcontainer.parse, path, {"FEATURE_REGISTRY": "mirror.example.com"})
    assert [ref for ref, _, _ in _refs(overridden)] == ["mirror.example.com/devcontainers/features/node:1"]
