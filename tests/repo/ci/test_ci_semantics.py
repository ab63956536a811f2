"""CI semantics: GitLab local includes evaluated only inside their pipeline; CircleCI workflow invocations."""

from __future__ import annotations

from auditor.pipeline.collect import CollectOptions, collect
from parsers.repo.ci import circleci
from tests.conftest import FIXTURES, run_parser

GITLAB = FIXTURES / "repo/ci/gitlab_ci/local_include"
CIRCLE = FIXTURES / "repo/ci/circleci/invocations/.circleci/config.yml"


def test_a_gitlab_local_include_is_evaluated_only_as_part_of_its_pipeline() -> None:
    store = collect([str(GITLAB)], CollectOptions(variables={}))
    assert not store.errors and not store.unresolved  # no "extends target not defined", no unset $REGISTRY
    assert sorted((r.canonical, r.source.path.rsplit("/", 1)[1], r.source.line) for r in store.references) == [
        ("docker.io/library/python:3.12", ".gitlab-ci.yml", 4),
        ("registry.gitlab.example.com/group/project/db:15", "build.yml", 4),
        ("registry.gitlab.example.com/group/project/tools:1", "build.yml", 6),
    ]
    kinds = {record.path.rsplit("/", 1)[1]: record.records for record in store.inputs}
    assert kinds == {".gitlab-ci.yml": 3, "build.yml": 0}  # walked, recognized, and left to its pipeline


def test_a_gitlab_include_named_on_the_command_line_is_still_read_alone() -> None:
    store = collect([str(GITLAB / ".gitlab/ci/build.yml")], CollectOptions(variables={}))
    assert {u.text for u in store.unresolved} == {".base", "$REGISTRY/db:15", "$REGISTRY/tools:1"}


def test_circleci_workflow_invocations_pass_job_parameters() -> None:
    records = run_parser(circleci.parse, CIRCLE)
    primaries = [r.canonical for r in records if "(primary)" in getattr(r, "context", "")]
    # the invocations' values, not the default cimg/node:20.11 (every invocation passes an image)
    assert primaries == ["docker.io/library/redis:7.2", "docker.io/library/postgres:15",
                         "docker.io/library/postgres:16"]


def test_circleci_reused_anchor_and_repeated_jobs_are_reported_once() -> None:
    store = collect([str(CIRCLE)], CollectOptions(variables={}))
    assert not store.errors
    assert sorted((r.canonical, r.source.line) for r in store.references) == [
        ("docker.io/cimg/base:2024.01", 19),
        ("docker.io/cimg/python:3.12", 7),  # the later definition of the reused anchor `image`
        ("docker.io/library/postgres:15", 15), ("docker.io/library/postgres:16", 15),
        ("docker.io/library/redis:7.2", 15),
    ]
