"""GitHub Actions workflows and actions."""

from __future__ import annotations

from auditor.core.model import HostReference, ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo.ci import github_actions
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "github_actions"
WORKFLOWS = DIR / ".github" / "workflows"
MALFORMED = DIR / "malformed" / ".github" / "workflows"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_workflow_images() -> None:
    items = run_parser(github_actions.parse, WORKFLOWS / "ci.yml")
    assert refs(items) == [
        ("docker.io/library/node:20-bookworm", 11, "jobs.test.container"),
        ("docker.io/library/postgres:16", 13, "jobs.test.services.db"),
        ("docker.io/library/redis:7-alpine", 15, "jobs.test.services.cache"),
        ("docker.io/library/alpine:3.19", 19, "jobs.test.steps[1].uses"),  # ${{ env.BASE_TAG }} from env:
        ("quay.io/org/tool:1.2", 27, "jobs.test.steps[2].run: docker pull"),  # step env
        ("ghcr.io/org/linter:v2", 28, "jobs.test.steps[2].run: docker run"),  # ${{ env.REGISTRY }}
        ("docker.io/library/python:3.11-slim", 37, "jobs.matrix.container"),
        ("docker.io/library/python:3.12-slim", 37, "jobs.matrix.container"),
        ("docker.io/library/python:3.13-slim", 37, "jobs.matrix.container"),  # from matrix.include
        ("ghcr.io/org/app:latest", 60, "jobs.publish.steps[3] docker/build-push-action tags"),
        ("docker.io/org/app:1.0", 64, "jobs.publish.steps[4] docker/build-push-action tags"),
        ("docker.io/org/app:1", 64, "jobs.publish.steps[4] docker/build-push-action tags"),
    ]
    assert not any("commented" in str(i) for i in items)


def test_logins_and_unresolved_expressions() -> None:
    items = run_parser(github_actions.parse, WORKFLOWS / "ci.yml")
    assert [(h.host, h.source.line) for h in items if isinstance(h, HostReference)] == [
        ("ghcr.io", 48), ("registry-1.docker.io", 50), ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", 55)]
    assert [(u.text, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("ghcr.io/org/app:${{ github.sha }}", "unresolved: ${{ github.sha }}"),
        ("${{ inputs.image }}", "unresolved: ${{ inputs.image }}"),
    ]


def test_actions() -> None:
    docker_action = run_parser(github_actions.parse, DIR / "actions" / "docker-action" / "action.yml")
    assert refs(docker_action) == [("ghcr.io/org/action-image:1.4.0", 5, "runs.image")]
    composite = run_parser(github_actions.parse, DIR / "actions" / "composite" / "action.yaml")
    assert refs(composite) == [
        ("public.ecr.aws/docker/library/busybox:1.36", 6, "runs.steps[0].uses"),
        ("mcr.microsoft.com/dotnet/sdk:8.0", 8, "runs.steps[1].run: docker pull"),
    ]


def test_invalid_yaml_reports_line_and_keeps_image_lines() -> None:
    items = run_parser(github_actions.parse, MALFORMED / "invalid.yml")
    errors = [e for e in items if isinstance(e, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [
        (7, "invalid YAML: while parsing a block mapping, did not find expected key")]
    assert refs(items) == [("ghcr.io/org/deployer:1", 10, "image (recovered from invalid YAML)")]


def test_hostile_and_broken_files() -> None:
    bomb = run_parser(github_actions.parse, MALFORMED / "bomb.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message and bomb[0].source.line == 1
    binary = run_parser(github_actions.parse, MALFORMED / "binary.yml")
    assert len(binary) == 1 and "binary content" in binary[0].message
    latin = run_parser(github_actions.parse, MALFORMED / "latin1.yml")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 1
    assert refs(latin) == [("docker.io/library/alpine:3.20", 4, "jobs.t.container")]
    wrong = run_parser(github_actions.parse, MALFORMED / "wrong-types.yml")
    assert [(e.source.line, e.message) for e in wrong if isinstance(e, InputError)] == [
        (3, "jobs.a.container: expected an image name, found list")]


def test_detect() -> None:
    assert github_actions.detect(InputFile.from_path(WORKFLOWS / "ci.yml"))
    assert github_actions.detect(InputFile.from_path(DIR / "actions" / "composite" / "action.yaml"))
    spec = parser_for(InputFile.from_path(WORKFLOWS / "ci.yml"))
    assert spec is not None and spec.name == "github_actions"


def test_reusable_workflows_and_inputs() -> None:
    items = run_parser(github_actions.parse, WORKFLOWS / "reusable.yaml")
    assert [(u.text, u.source.line, u.reason, u.context) for u in items] == [
        ("org/shared-workflows/.github/workflows/build.yml@v2", 10,
         "reusable workflow from another repository not fetched", "jobs.remote.uses"),
        ("${{ inputs.image }}", 16, "unresolved: ${{ inputs.image }}", "jobs.run-in.container"),
    ]


def test_steps_nested_in_parallel_groups(tmp_path) -> None:  # type: ignore[no-untyped-def]
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "p.yml").write_text(
        "jobs:\n  build:\n    steps:\n      - parallel:\n          - uses: docker://alpine:3.20\n"
        "          - parallel:\n              - run: docker pull redis:7\n")
    items = run_parser(github_actions.parse, workflows / "p.yml")
    assert refs(items) == [
        ("docker.io/library/alpine:3.20", 5, "jobs.build.steps[0].parallel.steps[0].uses"),
        ("docker.io/library/redis:7", 7, "jobs.build.steps[0].parallel.steps[1].parallel.steps[0].run: docker pull"),
    ]
