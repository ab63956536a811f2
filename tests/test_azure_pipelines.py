"""Azure Pipelines: resources.containers, job containers and services, script steps, variables."""

from __future__ import annotations

from auditor.model import ImageReference, InputError, Unresolved
from parsers import azure_pipelines
from parsers._io import InputFile
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "azure_pipelines"


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
    assert not azure_pipelines.detect(InputFile.from_path(FIXTURES / "drone" / ".drone.yml"))
