"""Azure Pipelines: resources.containers, job containers and services, script steps, variables."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import azure_pipelines
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "azure_pipelines"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_pipeline_images() -> None:
    items = run_parser(azure_pipelines.parse, DIR / "azure-pipelines.yml")
    assert refs(items) == [
        ("myacr.azurecr.io/build/agent:2024.1", 16, "resources.containers[build] (endpoint my-acr-connection)"),
        ("docker.io/library/redis:7", 19, "resources.containers[redis]"),
        ("docker.io/library/postgres:16", 21, "resources.containers[pg]"),
        # $(registry)/$(tools.image) macros from variables:, ${{ parameters.nodeVersion }} from its default
        ("myacr.azurecr.io/tools/linter:1.0", 33, "stages[Build].jobs[compile].steps[0]: docker pull"),
        ("docker.io/library/node:20-alpine", 34, "stages[Build].jobs[compile].steps[0]: docker run"),
        ("mcr.microsoft.com/dotnet/sdk:8.0", 36, "stages[Build].jobs[compile].steps[1]: docker pull"),
        ("docker.io/library/ubuntu:22.04", 49, "stages[Build].jobs[inline].container"),
        ("quay.io/org/deployer:3", 63, "stages[Deploy].jobs[web].strategy.runOnce.deploy.steps[0]: docker pull"),
    ]


def test_unresolved() -> None:
    items = run_parser(azure_pipelines.parse, DIR / "azure-pipelines.yml")
    assert [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("$(undefinedVar)/x:1", 42, "unresolved: $(undefinedVar)"),
        ("my-acr-connection/app", 45,
         "Docker task: the registry is the service connection's, configured outside the file"),
        ("node:$[ variables.runtimeVersion ]", 54, "unresolved: $[ variables.runtimeVersion ]"),
    ]


def test_malformed() -> None:
    items = run_parser(azure_pipelines.parse, DIR / "malformed" / "azure-pipelines.yml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (6, "invalid YAML: while parsing a block mapping, did not find expected key")]
    assert refs(items) == [("mcr.microsoft.com/dotnet/sdk:8.0", 10, "image (recovered from invalid YAML)")]
    bomb = run_parser(azure_pipelines.parse, DIR / "bomb" / "azure-pipelines.yml")
    assert len(bomb) == 1 and "alias bomb" in bomb[0].message
    latin = run_parser(azure_pipelines.parse, DIR / "latin1" / "azure-pipelines.yml")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 1
    # A top-level container: is the pipeline's single job.
    assert [r[0] for r in refs(latin)] == ["docker.io/library/node:20"]


def test_detect() -> None:
    assert azure_pipelines.detect(InputFile.from_path(DIR / "azure-pipelines.yml"))
    assert not azure_pipelines.detect(InputFile.from_path(FIXTURES / "repo" / "ci" / "drone" / ".drone.yml"))


def test_local_templates_are_read_with_their_parameters() -> None:
    top = DIR / "templated" / "azure-pipelines.yml"
    items = run_parser(azure_pipelines.parse, top)
    found = [(i.canonical, i.source.path.rsplit("templated/", 1)[-1], i.source.line, i.context)
             for i in items if isinstance(i, ImageReference)]
    assert found == [
        ("mcr.microsoft.com/dotnet/sdk:8.0", "azure-pipelines.yml", 4, "resources.containers[sdk]"),
        # the extends template's parameter comes from the caller, overriding its default (docker.io)
        ("myacr.azurecr.io/base:1", "templates/stages.yml", 12,
         "extends[templates/stages.yml].stages[Build].jobs[build].steps[0]: docker pull"),
        # a steps template named from the repository root, inside a job of the stages template
        ("quay.io/org/checker:5", "templates/steps.yml", 2,
         "extends[templates/stages.yml].stages[Build].jobs[build].steps[1][/templates/steps.yml].steps[0]: docker run"),
        ("ghcr.io/org/lint:2.1", "templates/job.yml", 7, "jobs[0][templates/job.yml].jobs[lint].container"),
    ]
    assert [(u.text, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("build.yml@templates-repo", "template from another repository not fetched"),
        ("../../outside.yml", "template file not found in the repository"),
        ("templates/missing.yml", "template file not found in the repository"),
    ]


def test_template_cannot_escape_the_repository(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "secret.yml").write_text("steps:\n  - script: docker pull leaked/image:1\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "azure-pipelines.yml").write_text("steps:\n  - template: ../secret.yml\n  - template: /../secret.yml\n")
    items = run_parser(azure_pipelines.parse, repo / "azure-pipelines.yml")
    assert [(type(i).__name__, i.reason) for i in items] == [
        ("Unresolved", "template file not found in the repository")] * 2


def test_template_recursion_is_bounded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "azure-pipelines.yml").write_text("steps:\n  - template: loop.yml\n")
    (tmp_path / "loop.yml").write_text("steps:\n  - template: loop.yml\n  - script: docker pull alpine:3.20\n")
    items = run_parser(azure_pipelines.parse, tmp_path / "azure-pipelines.yml")
    assert len([i for i in items if isinstance(i, ImageReference)]) == 20
    assert [e.message for e in items if isinstance(e, InputError)] == [
        "steps[0]" + "[loop.yml].steps[0]" * 20 + ".template: templates nested over 20 levels; not read"]
