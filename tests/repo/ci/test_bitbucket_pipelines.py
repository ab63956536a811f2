"""Bitbucket Pipelines: global/step images, service definitions, pipes, scripts, the default image."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import bitbucket_pipelines
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "bitbucket_pipelines"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_pipeline_images() -> None:
    items = run_parser(bitbucket_pipelines.parse, DIR / "bitbucket-pipelines.yml")
    assert refs(items) == [
        ("us-east1-docker.pkg.dev/my-project/my-repo/build:1.2", 2, "image"),
        ("docker.io/library/postgres:16", 9, "definitions.services.postgres.image"),
        # the step is a YAML alias of definitions.steps: sourced where it is written
        ("docker.io/library/node:20", 17, "pipelines.default[0].step.image"),
        ("ghcr.io/org/mock-server:2", 21, "pipelines.default[0].step.script[1]: docker pull"),
        ("docker.io/library/python:3.12-slim", 31, "pipelines.default[1].parallel[0].step.image"),
        ("docker.io/hadolint/hadolint:v2.12.0", 33, "pipelines.default[1].parallel[0].step.script[0].pipe"),
        ("docker.io/aquasec/trivy:0.50.0", 37, "pipelines.default[1].parallel[1].step.script[0]: docker run"),
    ]
    assert [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("atlassian/aws-s3-deploy:1.1.0", 46,
         "Bitbucket pipe: its image is named in the pipe's pipe.yml on bitbucket.org, not read offline"),
        ("$REGISTRY/app:$BITBUCKET_COMMIT", 49, "unresolved: $REGISTRY, $BITBUCKET_COMMIT"),
    ]


def test_default_image_when_none_is_set() -> None:
    items = run_parser(bitbucket_pipelines.parse, DIR / "no-image" / "bitbucket-pipelines.yml")
    assert refs(items) == [("docker.io/atlassian/default-image:latest", 4, "image (Bitbucket default: no image set)")]


def test_malformed() -> None:
    items = run_parser(bitbucket_pipelines.parse, DIR / "malformed" / "bitbucket-pipelines.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (8, "invalid YAML: while parsing a block mapping, did not find expected key")]
    assert [(r[0], r[1]) for r in refs(items)] == [
        ("docker.io/library/node:20", 1), ("docker.io/library/python:3.12", 7)]
    bomb = run_parser(bitbucket_pipelines.parse, DIR / "bomb" / "bitbucket-pipelines.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message
    binary = run_parser(bitbucket_pipelines.parse, DIR / "binary" / "bitbucket-pipelines.yml")
    assert len(binary) == 1 and "binary content" in binary[0].message


def test_detect() -> None:
    assert bitbucket_pipelines.detect(InputFile.from_path(DIR / "bitbucket-pipelines.yml"))
    assert not bitbucket_pipelines.detect(InputFile.from_path(FIXTURES / "repo" / "ci" / "drone" / ".drone.yml"))


def test_exported_definitions_are_reported() -> None:
    items = run_parser(bitbucket_pipelines.parse, DIR / "shared" / "bitbucket-pipelines.yml")
    assert refs(items) == [
        ("docker.io/aquasec/trivy:0.50.0", 7, "definitions.steps[0].step.image (not used by a pipeline here)")]


def test_recovery_takes_name_only_under_an_image_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "bitbucket-pipelines.yml"
    broken.write_text("image:\n  name: node:20\npipelines:\n  default:\n    - step:\n        name: lint\n"
                      "        script: [ broken\n")
    items = run_parser(bitbucket_pipelines.parse, broken)
    assert [type(i).__name__ for i in items] == ["InputError", "ImageReference"]
    assert refs(items) == [("docker.io/library/node:20", 2, "name (recovered from invalid YAML)")]
