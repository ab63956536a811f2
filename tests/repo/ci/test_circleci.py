"""CircleCI: docker executors, named executors, parameters, inline orbs, run steps."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import circleci
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "circleci"
CONFIG = DIR / ".circleci" / "config.yml"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_config_images() -> None:
    items = run_parser(circleci.parse, CONFIG)
    assert refs(items) == [
        # `<<: *defaults` merges the anchored docker list into the job.
        ("docker.io/cimg/python:3.12", 23, "jobs.test.docker[0] (primary)"),
        ("docker.io/cimg/postgres:16.1", 27, "jobs.test.docker[1] (service)"),
        ("ghcr.io/org/fixtures:latest", 50, "jobs.test.steps[1].run: docker pull"),
        ("registry.example.com/app:ci", 57, "jobs.test.steps[2].run: docker push"),  # step environment
        ("docker.io/library/node:20", 64, "jobs.build.docker[0] (primary)"),  # << parameters.image >> default
        ("docker.io/library/node:20", 66, "jobs.build.steps[0].run: docker run"),
        # executor parameter default names a pipeline parameter
        ("docker.io/cimg/go:1.22", 38, "jobs.go.executor golang.docker[0] (primary)"),
        # a machine job's VM image is not a container image; its run step still is
        ("docker.io/library/busybox:1.36", 81, "jobs.vm.steps[0].run: docker pull"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/ci/tool:3", 41, "executors.unused.docker[0] (primary)"),
        ("docker.io/cimg/base:2024.01", 9, "orbs.inline.jobs.hello.executor builder.docker[0] (primary)"),
    ]
    assert not any("ubuntu-2204" in str(i) for i in items)


def test_unresolved() -> None:
    items = run_parser(circleci.parse, CONFIG)
    assert [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("registry.example.com/app:$CIRCLE_SHA1", 56, "unresolved: $CIRCLE_SHA1"),
        ("<< pipeline.parameters.unknown >>", 68, "unresolved: << pipeline.parameters.unknown >>"),
        ("node/default", 74, "executor from orb 'node': registry orbs are not fetched offline"),
    ]


def test_malformed() -> None:
    items = run_parser(circleci.parse, DIR / "malformed" / ".circleci" / "config.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (7, "invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'")]
    assert [r[0] for r in refs(items)] == ["docker.io/cimg/go:1.22", "docker.io/cimg/node:20.11"]
    bomb = run_parser(circleci.parse, DIR / "bomb" / ".circleci" / "config.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message
    binary = run_parser(circleci.parse, DIR / "binary" / ".circleci" / "config.yml")
    assert len(binary) == 1 and "binary content" in binary[0].message


def test_detect() -> None:
    assert circleci.detect(InputFile.from_path(CONFIG))
    assert not circleci.detect(InputFile.from_path(FIXTURES / "repo" / "ci" / "drone" / ".drone.yml"))


def test_variable_left_in_an_image_field_is_unresolved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / ".circleci" / "config.yml"
    config.parent.mkdir()
    config.write_text("version: 2.1\njobs:\n  a:\n    docker:\n      - image: $PRIVATE_REGISTRY/img:1\n")
    items = run_parser(circleci.parse, config)
    assert [(u.text, u.source.line, u.reason) for u in items] == [
        ("$PRIVATE_REGISTRY/img:1", 5, "unresolved: $PRIVATE_REGISTRY")]
