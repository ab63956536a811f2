"""GitLab CI: images, services, extends, !reference, variables and includes."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import gitlab_ci
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "gitlab_ci"
REPO = DIR / "repo"
MALFORMED = DIR / "malformed"


def refs(items: list) -> list[tuple[str, str, int | None, str]]:
    return [(i.canonical, i.source.path.rsplit("repo/", 1)[-1], i.source.line, i.context)
            for i in items if isinstance(i, ImageReference)]


def test_pipeline_images() -> None:
    items = run_parser(gitlab_ci.parse, REPO / ".gitlab-ci.yml")
    assert refs(items) == [
        ("docker.io/library/ruby:3.3", ".gitlab-ci.yml", 18, "image"),
        ("docker.io/library/postgres:16", ".gitlab-ci.yml", 21, "services[0]"),
        ("docker.io/library/redis:7", ".gitlab-ci.yml", 22, "services[1]"),
        ("docker.io/library/alpine:3.20", ".gitlab-ci.yml", 27, "default.image"),
        # .docker is extended by build: reported through build, once.
        ("docker.io/library/docker:27", ".gitlab-ci.yml", 31, "build.image"),
        ("docker.io/library/docker:27-dind", ".gitlab-ci.yml", 33, "build.services[0]"),
        ("registry.example.com/app:1.4", ".gitlab-ci.yml", 42, "build.script: docker build -t"),
        ("registry.example.com/app:1.4", ".gitlab-ci.yml", 43, "build.script: docker push"),
        # extends from two included templates (one through a wildcard include), sourced to their own files.
        ("docker.io/library/python:3.12", ".gitlab/ci/templates.yml", 2, "test.image"),
        ("mcr.microsoft.com/mssql/server:2022-latest", "templates/python.yml", 3, "test.services[0]"),
        # !reference [.setup, script] pulls an included script line into test.
        ("quay.io/pypa/manylinux2014_x86_64:latest", ".gitlab/ci/templates.yml", 7, "test.script: docker pull"),
        ("registry.example.com/base:2", ".gitlab-ci.yml", 52, "lint.image"),  # BASE = $REGISTRY/base
        ("docker.io/hadolint/hadolint:v2.12.0", ".gitlab-ci.yml", 55, "lint.script: docker run"),
        ("gcr.io/distroless/static:nonroot", ".gitlab-ci.yml", 63,
         ".unused-template.image (template not extended here)"),
        # the child pipeline of `downstream` (it triggers itself again: read once)
        ("docker.io/library/gradle:8.8-jdk21", "ci/child.yml", 2, "child-build.image"),
    ]


def test_unresolved_includes_and_variables() -> None:
    items = run_parser(gitlab_ci.parse, REPO / ".gitlab-ci.yml")
    assert [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("remote: https://example.com/ci/shared.yml", 4, "remote include not fetched"),
        ("template: Auto-DevOps.gitlab-ci.yml", 5, "remote include not fetched"),
        ("project: group/ci-library file: /docker.yml ref: main", 6, "remote include not fetched"),
        ("/missing.yml", 9, "local include not found in the repository"),
        ("$CI_REGISTRY", 35, "unresolved: $CI_REGISTRY"),
        (".not-defined", 58, "extends target not defined here (in a remote include?)"),
        ("${CI_REGISTRY}/deploy:latest", 59, "unresolved: $CI_REGISTRY"),
        ("project: group/other", 69, "remote include not fetched"),  # a child pipeline from another project
    ]


def test_set_variables_override() -> None:
    items = run_parser(gitlab_ci.parse, REPO / ".gitlab-ci.yml", variables={"CI_REGISTRY": "gitlab.example.com:5050"})
    assert ("gitlab.example.com:5050/deploy:latest", ".gitlab-ci.yml", 59, "deploy.image") in refs(items)


def test_extends_cycle_and_missing_reference() -> None:
    items = run_parser(gitlab_ci.parse, MALFORMED / "cycle.gitlab-ci.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (5, ".b.extends: circular extends through .a")]
    assert [(u.text, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("!reference [.nowhere, image]", "!reference target not found")]
    assert [r[0] for r in refs(items)] == ["docker.io/library/alpine:3.20"]


def test_invalid_yaml_reports_line_and_keeps_image_lines() -> None:
    items = run_parser(gitlab_ci.parse, MALFORMED / "invalid.gitlab-ci.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (8, "invalid YAML: while scanning a quoted scalar, found unexpected end of stream")]
    assert [(r[0], r[2]) for r in refs(items)] == [
        ("docker.io/library/ruby:3.3", 2), ("docker.io/library/python:3.12", 7)]


def test_hostile_and_broken_files() -> None:
    bomb = run_parser(gitlab_ci.parse, MALFORMED / "bomb.gitlab-ci.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message
    binary = run_parser(gitlab_ci.parse, MALFORMED / "binary.gitlab-ci.yml")
    assert len(binary) == 1 and "binary content" in binary[0].message
    latin = run_parser(gitlab_ci.parse, MALFORMED / "latin1.gitlab-ci.yml")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 2
    assert [r[0] for r in refs(latin)] == ["docker.io/library/golang:1.22"]


def test_include_cannot_escape_the_repository(tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "secret.yml"
    outside.write_text("job:\n  image: leaked/image:1\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitlab-ci.yml").write_text("include:\n  - local: ../secret.yml\n  - local: '/../*.yml'\njob2:\n"
                                         "  image: alpine:3.20\n")
    items = run_parser(gitlab_ci.parse, repo / ".gitlab-ci.yml")
    assert [r[0] for r in refs(items)] == ["docker.io/library/alpine:3.20"]
    assert [u.reason for u in items if isinstance(u, Unresolved)] == ["local include not found in the repository"] * 2


def test_detect() -> None:
    assert gitlab_ci.detect(InputFile.from_path(REPO / ".gitlab-ci.yml"))
    assert gitlab_ci.detect(InputFile.from_path(REPO / ".gitlab" / "ci" / "templates.yml"))
    assert not gitlab_ci.detect(InputFile.from_path(REPO / "templates" / "python.yml"))


def test_dependency_proxy_prefix_names_the_gitlab_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  image: ${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/node:20\n")
    items = run_parser(gitlab_ci.parse, tmp_path / ".gitlab-ci.yml")
    assert [(u.text, u.reason) for u in items] == [(
        "${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/node:20",
        "unresolved: $CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX (GitLab Dependency Proxy: pulled through the GitLab "
        "server, $CI_SERVER_HOST)")]
