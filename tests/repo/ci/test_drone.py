"""Drone and Woodpecker pipelines."""

from __future__ import annotations

from auditor.core.model import HostReference, ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import drone
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "drone"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_drone_documents() -> None:
    items = run_parser(drone.parse, DIR / ".drone.yml")
    assert refs(items) == [
        ("docker.io/library/golang:1.22", 13, "pipeline[default].steps.test.image"),  # ${GO_VERSION} from environment
        ("ghcr.io/org/testdata:1", 16, "pipeline[default].steps.test.commands: docker pull"),
        ("docker.io/plugins/docker:20", 18, "pipeline[default].steps.publish.image"),
        ("registry.example.com/app:latest", 20, "pipeline[default].steps.publish.settings.repo"),
        ("docker.io/library/mysql:8.0", 27, "pipeline[default].services.db.image"),
        # the exec pipeline and the secret document hold no container image
        ("quay.io/org/lint@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 50,
         "pipeline[k8s].steps.lint.image"),
    ]
    assert [(h.host, h.source.line) for h in items if isinstance(h, HostReference)] == [("registry.example.com", 21)]
    assert [(u.text, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("${DRONE_REGISTRY}/notify:${DRONE_COMMIT_SHA}", "unresolved: $DRONE_REGISTRY, $DRONE_COMMIT_SHA")]


def test_woodpecker_forms() -> None:
    mapping = run_parser(drone.parse, DIR / ".woodpecker" / "build.yaml")
    assert refs(mapping) == [
        ("docker.io/woodpeckerci/plugin-git:2.5.0", 3, "pipeline[0].clone.git.image"),
        ("docker.io/library/node:20-alpine", 7, "pipeline[0].steps.build.image"),
        ("docker.io/library/nginx:1.27", 12, "pipeline[0].steps.build.commands: docker pull"),
        ("docker.io/library/redis:7", 18, "pipeline[0].services.redis.image"),
    ]
    assert [u.text for u in mapping if isinstance(u, Unresolved)] == ["${CI_REPO_OWNER}/deployer"]
    old = run_parser(drone.parse, DIR / ".woodpecker.yml")
    assert [r[0] for r in refs(old)] == [
        "docker.io/library/golang:1.21", "docker.io/library/node:18", "docker.io/library/postgres:9.5.0"]


def test_malformed_second_document_keeps_the_first() -> None:
    items = run_parser(drone.parse, DIR / "malformed" / ".drone.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (13, "invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'")]
    assert refs(items) == [
        ("docker.io/library/golang:1.22", 11, "image (recovered from invalid YAML)"),
        ("docker.io/library/node:20", 14, "image (recovered from invalid YAML)"),
        ("docker.io/library/alpine:3.20", 5, "pipeline[ok].steps.a.image"),
    ]
    bomb = run_parser(drone.parse, DIR / "bomb" / ".drone.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message
    latin = run_parser(drone.parse, DIR / "latin1" / ".drone.yml")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 2
    assert [r[0] for r in refs(latin)] == ["docker.io/library/redis:7"]


def test_detect() -> None:
    assert drone.detect(InputFile.from_path(DIR / ".drone.yml"))
    assert drone.detect(InputFile.from_path(DIR / ".woodpecker" / "build.yaml"))
    assert not drone.detect(InputFile.from_path(FIXTURES / "repo" / "ci" / "circleci" / ".circleci" / "config.yml"))


def test_woodpecker_matrix_expands_each_combination() -> None:
    items = run_parser(drone.parse, DIR / ".woodpecker" / "matrix.yml")
    assert refs(items) == [
        ("docker.io/library/golang:1.21", 11, "pipeline[0].steps.test.image"),
        ("docker.io/library/golang:1.22", 11, "pipeline[0].steps.test.image"),
        ("docker.io/golangci/golangci-lint:v1.59", 15, "pipeline[0].steps.lint.image"),  # once, not per combination
        ("docker.io/library/mysql:8.0", 19, "pipeline[0].services.database.image"),
        ("docker.io/library/postgres:16", 19, "pipeline[0].services.database.image"),
    ]
