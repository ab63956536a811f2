"""Jenkins pipelines: declarative agents, scripted docker.*, sh steps, Groovy strings and comments."""

from __future__ import annotations

from auditor.core.model import HostPurpose, HostReference, ImageReference, InputError, Unresolved
from parsers.common.inputs import InputFile
from parsers.repo.ci import jenkinsfile
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "ci" / "jenkinsfile"


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_declarative_and_scripted() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "Jenkinsfile")
    assert refs(items) == [
        # an image without a registry is pulled from the agent's registryUrl
        ("registry.example.com/maven:3.9-eclipse-temurin-21", 9, "agent docker (registry registry.example.com)"),
        ("docker.io/hadolint/hadolint:v2.12.0-alpine", 22, "agent docker"),
        ("ghcr.io/org/tools:1.0", 24, "sh: docker pull"),  # single-quoted: the shell expands $REGISTRY
        ("quay.io/org/scanner:2", 28, "sh: docker run"),  # inside a multi-line """ string
        ("mcr.microsoft.com/dotnet/runtime:8.0", 30, "sh: docker pull"),  # sh(script: ...)
        ("ghcr.io/org/app:latest", 31, "sh: docker pull"),  # \$APP reaches the shell; APP = "${REGISTRY}/app"
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/base/runtime:7", 38,
         "docker.image().pull (registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com)"),
        ("docker.io/library/node:20-alpine", 41, "docker.image().inside"),
    ]
    hosts = [(h.host, h.purpose, h.source.line) for h in items if isinstance(h, HostReference)]
    assert hosts == [
        ("registry.example.com", HostPurpose.REGISTRY_URL, 10),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", HostPurpose.REGISTRY_URL, 37),
    ]
    assert [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)] == [
        ("ghcr.io/org/app:${BUILD_NUMBER}", 25, "unresolved: ${BUILD_NUMBER}"),
        ("web:${BUILD_ID}", 39, "unresolved: $BUILD_ID"),
        ("params.IMAGE", 44, "unresolved: params.IMAGE"),
    ]
    # Nothing from the // and /* */ comments.
    assert not any("commented" in str(i) for i in items)


def test_shared_library_and_kubernetes_agent() -> None:
    library = run_parser(jenkinsfile.parse, DIR / "vars" / "buildImage.groovy")
    assert refs(library) == [
        ("docker.io/library/postgres:16", 4, "docker.image().withRun"),  # def tag = 'postgres:16'
        ("gcr.io/kaniko-project/executor:v1.23.0-debug", 7, "image:"),
    ]
    k8s = run_parser(jenkinsfile.parse, DIR / "Jenkinsfile.k8s")
    assert refs(k8s) == [("docker.io/library/golang:1.22", 10, "kubernetes agent yaml image")]


def test_unterminated_strings() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "malformed" / "Jenkinsfile")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (6, "unterminated string starting at line 6")]
    # The single-line string ends at its line; the next step is still read.
    assert [r[0] for r in refs(items)] == [
        "docker.io/library/maven:3.9", "docker.io/broken/one:1", "docker.io/good/two:2"]
    triple = run_parser(jenkinsfile.parse, DIR / "unterminated" / "Jenkinsfile")
    assert [(e.source.line, e.message) for e in triple if isinstance(e, InputError)] == [
        (3, "unterminated triple-quoted string starting at line 3")]
    assert [r[0] for r in refs(triple)] == ["docker.io/library/alpine:3.20", "docker.io/never/closed:1"]


def test_binary_and_undecodable() -> None:
    binary = run_parser(jenkinsfile.parse, DIR / "binary" / "Jenkinsfile")
    assert len(binary) == 1 and "binary content" in binary[0].message
    latin = run_parser(jenkinsfile.parse, DIR / "latin1" / "Jenkinsfile")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 1
    assert [r[0] for r in refs(latin)] == ["docker.io/library/busybox:1.36"]


def test_hostile_input_terminates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    hostile = tmp_path / "Jenkinsfile"
    hostile.write_text("docker.image(" * 3000 + "sh 'docker pull " + '"${' * 5000 + "\n" + "/*")
    items = run_parser(jenkinsfile.parse, hostile)
    assert [e.message for e in items if isinstance(e, InputError)] == [
        "unterminated string starting at line 1", "unterminated /* comment: the rest of the file is a comment",
        'unterminated " quote: the rest of the script is one word']


def test_detect() -> None:
    assert jenkinsfile.detect(InputFile.from_path(DIR / "Jenkinsfile"))
    assert jenkinsfile.detect(InputFile.from_path(DIR / "Jenkinsfile.k8s"))
    assert jenkinsfile.detect(InputFile.from_path(DIR / "vars" / "buildImage.groovy"))
    assert not jenkinsfile.detect(InputFile.from_path(DIR / "binary" / "Jenkinsfile"))


def test_with_docker_registry_scopes_unqualified_images() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "Jenkinsfile.registry")
    assert [(h.host, h.purpose, h.source.line) for h in items if isinstance(h, HostReference)] == [
        ("harbor.example.com", HostPurpose.REGISTRY_URL, 6)]
    assert refs(items) == [
        ("harbor.example.com/team/app:1", 7, "sh: docker push"),
        ("harbor.example.com/team/base:2", 9, "docker.image().pull (registry harbor.example.com)"),
        # outside the block the same name is Docker Hub's
        ("docker.io/team/base:2", 13, "docker.image().pull"),
    ]


def test_groovy_variables_and_quoting() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "vars" / "deployImage.groovy")
    # `IMAGE == 'other'` is a comparison, not an assignment: IMAGE keeps its value.
    assert refs(items) == [
        ("docker.io/library/nginx:1.27", 7, "docker.image().pull"),
        ("docker.io/library/nginx:1.27-alpine", 8, "docker.image().pull"),  # GString interpolation
    ]
    # A single-quoted Groovy string is literal: `$IMAGE` reaches docker as written and is refused.
    assert [(u.text, u.source.line) for u in items if isinstance(u, Unresolved)] == [("$IMAGE", 9)]


def test_command_syntax_calls() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "vars" / "commandSyntax.groovy")
    assert refs(items) == [
        ("docker.io/team/app:1", 3, "docker.build"),  # `docker.build imageName`, a def'd literal
        ("registry.hub.docker.com/team/other:2", 5, "docker.build (registry registry.hub.docker.com)"),
    ]


def test_docker_container_agent() -> None:
    items = run_parser(jenkinsfile.parse, DIR / "Jenkinsfile.container")
    assert refs(items) == [("docker.io/library/eclipse-temurin:21-jdk", 4, "agent dockerContainer")]
