"""Dockerfile extraction checked against BuildKit's rules on hand-written fixtures (tests/fixtures/repo/dockerfile/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import HostPurpose, HostReference, ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import dockerfile
from tests.conftest import FIXTURES, run_parser

HERE = FIXTURES / "repo" / "dockerfile"


def refs(items: list) -> list[tuple[str, int | None, str]]:  # type: ignore[type-arg]
    return [(r.canonical, r.source.line, r.context) for r in items if isinstance(r, ImageReference)]


def unresolved(items: list) -> list[tuple[str, int | None, str]]:  # type: ignore[type-arg]
    return [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)]


def errors(items: list) -> list[tuple[int | None, str]]:  # type: ignore[type-arg]
    return [(e.source.line, e.message) for e in items if isinstance(e, InputError)]


def parse_file(name: str, variables: dict[str, str] | None = None) -> list:  # type: ignore[type-arg]
    return run_parser(dockerfile.parse, HERE / name, variables)


@pytest.mark.parametrize("name", [
    "Dockerfile", "dockerfile", "Containerfile", "Dockerfile.prod", "Containerfile.arm64", "api.Dockerfile",
    "web.dockerfile",
])
def test_detects_build_files_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("FROM alpine:3.19\n")
    inp = InputFile.from_path(path)
    assert dockerfile.detect(inp)
    assert parser_for(inp).name == "dockerfile"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["Dockerfile.md", "Dockerfile.j2", "Dockerfile.yml", "Dockerfile.dockerignore",
                                  "README", "dockerfiles.txt"])
def test_ignores_documentation_and_templates(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("FROM alpine:3.19\n")
    assert not dockerfile.detect(InputFile.from_path(path))


def test_multistage_stages_are_not_images() -> None:
    items = parse_file("multistage.Dockerfile")
    assert refs(items) == [
        ("docker.io/docker/dockerfile:1.7", 1, "# syntax"),
        ("docker.io/library/golang:1.22-alpine", 5, "FROM"),
        ("ghcr.io/example/tools:2.1", 6, "RUN --mount from"),
        ("registry.example.com/base/runtime:3", 13, "FROM"),
        ("quay.io/prometheus/busybox:latest", 16, "COPY --from"),
        # `later` is defined after this FROM: BuildKit only matches earlier stages, so it is an image here ...
        ("docker.io/library/later:latest", 23, "FROM"),
        ("mcr.microsoft.com/dotnet/sdk:8.0", 25, "ONBUILD COPY --from"),
        ("public.ecr.aws/docker/library/alpine:3.19", 26, "ONBUILD RUN --mount from"),
        ("docker.io/library/alpine:3.19", 29, "FROM"),
    ]
    # ... while COPY --from=later (line 18), --from=TEST (stage `Build`/`test` any case), --from=0 are stages.
    assert not unresolved(items) and not errors(items)


def test_target_keeps_only_reachable_stages() -> None:
    text = (HERE / "multistage.Dockerfile").read_text()
    items = list(dockerfile.extract_dockerfile(text, "x/Dockerfile", target="test"))
    assert [c for c, _, _ in refs(items)] == [
        "docker.io/docker/dockerfile:1.7", "docker.io/library/golang:1.22-alpine", "ghcr.io/example/tools:2.1",
    ]
    items = list(dockerfile.extract_dockerfile(text, "x/Dockerfile", target="export"))
    assert [c for c, _, _ in refs(items)] == [
        "docker.io/docker/dockerfile:1.7", "docker.io/library/golang:1.22-alpine", "ghcr.io/example/tools:2.1",
        "registry.example.com/base/runtime:3", "quay.io/prometheus/busybox:latest", "docker.io/library/alpine:3.19",
    ]
    items = list(dockerfile.extract_dockerfile(text, "x/Dockerfile", target="nope"))
    assert errors(items) == [(None, "target stage 'nope' could not be found; every stage is reported")]


def test_global_args_defaults_and_scope() -> None:
    items = parse_file("args.Dockerfile")
    assert refs(items) == [
        ("docker.io/library/alpine:3.19", 6, "FROM"),  # ARG A=alpine B="3.19" on one line, quotes removed
        ("docker.io/library/alpine:3.19", 7, "FROM"),  # NESTED=${A}:${B}
        ("docker.io/library/debian:12", 9, "FROM"),  # INSTAGE is declared inside a stage: FROM cannot see it
        ("docker.io/library/ubuntu:24.04", 10, "FROM"),  # EMPTY= is empty, so :- takes the default
        ("docker.io/library/nginx:latest", 11, "FROM"),  # ${A:+...} uses the alternative when A is set
        ("docker.io/library/busybox:1.36", 14, "FROM"),
    ]
    gaps = unresolved(items)
    assert [(text, line) for text, line, _ in gaps] == [
        ("${REGISTRY}/team/app:1", 12), ("${UNDECLARED}/team/app:1", 13), ("node:20-${TARGETARCH}", 15),
        ("${TAG:?required}", 16),
    ]
    assert "REGISTRY (ARG without a default value" in gaps[0][2]
    assert "UNDECLARED (not declared by an ARG before the first FROM" in gaps[1][2]
    assert "TARGETARCH (set by the builder" in gaps[2][2]
    assert "TAG: required" in gaps[3][2]


def test_set_variables_act_as_build_args() -> None:
    items = parse_file("args.Dockerfile", {"REGISTRY": "ghcr.io", "B": "3.20", "TARGETARCH": "arm64",
                                           "UNDECLARED": "quay.io"})
    canon = [c for c, _, _ in refs(items)]
    assert canon[0] == "docker.io/library/alpine:3.20"
    assert "ghcr.io/team/app:1" in canon
    assert "docker.io/library/node:20-arm64" in canon
    # BuildKit ignores a build arg that no ARG before FROM declares: it stays unresolved.
    assert [t for t, _, _ in unresolved(items)] == ["${UNDECLARED}/team/app:1", "${TAG:?required}"]


def test_in_stage_arg_reimports_global_value_for_add() -> None:
    text = "ARG HOST=files.example.com\nFROM alpine:3.19\nARG HOST\nADD https://${HOST}/a /a\n" \
           "FROM alpine:3.19\nADD https://${HOST}/b /b\n"
    items = list(dockerfile.extract_dockerfile(text, "Dockerfile"))
    hosts = [(h.host, h.source.line) for h in items if isinstance(h, HostReference)]
    assert hosts == [("files.example.com", 4)]
    assert [(t, line) for t, line, _ in unresolved(items)] == [("https://${HOST}/b", 6)]


def test_quotes_inside_a_default_word_are_removed() -> None:
    text = 'ARG REF=${REF:-"gcr.io/distroless/static:nonroot"}\nARG ALT\nFROM $REF\nFROM ${ALT:-\'alpine\'}:3.19\n'
    items = list(dockerfile.extract_dockerfile(text, "Dockerfile"))
    assert [c for c, _, _ in refs(items)] == ["gcr.io/distroless/static:nonroot", "docker.io/library/alpine:3.19"]
    items = list(dockerfile.extract_dockerfile(text, "Dockerfile", {"REF": "quay.io/a/b:1"}))
    assert next(c for c, _, _ in refs(items)) == "quay.io/a/b:1"


def test_buildkit_syntax_build_arg_replaces_the_directive() -> None:
    text = (HERE / "multistage.Dockerfile").read_text()
    args = {"BUILDKIT_SYNTAX": "docker/dockerfile-upstream:1.8"}
    items = list(dockerfile.extract_dockerfile(text, "Dockerfile", args))
    assert refs(items)[0] == ("docker.io/docker/dockerfile-upstream:1.8", None, "BUILDKIT_SYNTAX")
    assert "docker.io/docker/dockerfile:1.7" not in [c for c, _, _ in refs(items)]


def test_escape_directive_changes_continuation() -> None:
    items = parse_file("escape.Dockerfile")
    assert refs(items) == [
        ("docker.io/docker/dockerfile-upstream:master", 2, "# syntax"),
        ("mcr.microsoft.com/windows/servercore:ltsc2022", 4, "FROM"),
        ("mcr.microsoft.com/windows/nanoserver:ltsc2022", 8, "FROM"),
    ]
    assert not errors(items)


def test_directive_after_blank_line_is_a_comment() -> None:
    items = parse_file("late_directive.Dockerfile")
    assert refs(items) == [("docker.io/library/alpine:3.19", 3, "FROM")]


def test_continuations_with_comments_and_blank_lines() -> None:
    items = parse_file("continuation.Dockerfile")
    assert refs(items) == [
        ("docker.io/library/python:3.12-slim", 2, "FROM"),
        ("ghcr.io/astral-sh/uv:0.4", 9, "COPY --from"),
        ("quay.io/keycloak/keycloak:25.0", 13, "FROM"),
    ]


def test_heredoc_bodies_are_not_instructions() -> None:
    items = parse_file("heredoc.Dockerfile")
    assert refs(items) == [
        ("docker.io/library/alpine:3.19", 1, "FROM"),
        ("docker.io/library/debian:12-slim", 15, "FROM"),  # JSON-form RUN has no heredoc
        ("docker.io/library/alpine:3.20", 17, "FROM"),  # `cat<<EOF` is one word, not a heredoc (BuildKit lexer)
    ]
    assert not any("evil" in str(item) for item in items)


def test_add_urls_are_host_references() -> None:
    items = parse_file("add_urls.Dockerfile")
    hosts = [(h.host, h.source.line, h.context) for h in items if isinstance(h, HostReference)]
    assert hosts == [
        ("releases.example.com", 4, "ADD"),
        ("downloads.example.org", 5, "ADD"),  # from the stage's ENV
        ("github.com", 6, "ADD"),
        ("github.com", 7, "ADD"),
        ("git.example.net", 8, "ADD"),
        ("json-form.example.com", 9, "ADD"),
        ("onbuild.example.com", 12, "ONBUILD ADD"),
    ]
    assert all(h.purpose is HostPurpose.ADD_URL for h in items if isinstance(h, HostReference))
    assert next(h.text for h in items if isinstance(h, HostReference)) == "https://releases.example.com/tool-1.2.3.tar.gz"
    assert [(t, line) for t, line, _ in unresolved(items)] == [("https://${UNSET_HOST}/x", 11)]


def test_crlf_and_bom() -> None:
    assert (HERE / "crlf_bom.Dockerfile").read_bytes().startswith(b"\xef\xbb\xbf# syntax")
    items = parse_file("crlf_bom.Dockerfile")
    assert refs(items) == [
        ("docker.io/docker/dockerfile:1", 1, "# syntax"),
        ("docker.io/library/alpine:3.19", 3, "FROM"),
    ]


def test_copy_from_variable_is_unresolved_not_expanded() -> None:
    text = "ARG IMG=alpine:3.19\nFROM scratch\nCOPY --from=$IMG / /\n"
    items = list(dockerfile.extract_dockerfile(text, "Dockerfile"))
    assert refs(items) == []
    [(text_, line, reason)] = unresolved(items)
    assert (text_, line) == ("$IMG", 3) and "not expanded in --from" in reason


def test_invalid_reference_is_unresolved_with_engine_reason() -> None:
    items = list(dockerfile.extract_dockerfile("FROM Alpine:3.19\nFROM node@sha256:abc\n", "Dockerfile"))
    assert [(t, line) for t, line, _ in unresolved(items)] == [("Alpine:3.19", 1), ("node@sha256:abc", 2)]
    assert all(reason.startswith("invalid reference: ") for _, _, reason in unresolved(items))


# -- malformed input ------------------------------------------------------------------------------------------


def test_binary_junk_is_an_error() -> None:
    items = parse_file("binary.Dockerfile")
    assert [type(i) for i in items] == [InputError]
    assert "binary content" in items[0].message


def test_undecodable_bytes_keep_the_other_lines() -> None:
    items = parse_file("undecodable.Dockerfile")
    assert errors(items) == [(2, "undecodable bytes (not UTF-8) replaced with U+FFFD")]
    assert [c for c, _, _ in refs(items)] == ["docker.io/library/alpine:3.19", "docker.io/library/busybox:1.36"]


def test_unterminated_heredoc_reports_its_line() -> None:
    items = parse_file("unterminated_heredoc.Dockerfile")
    [(line, message)] = errors(items)
    assert line == 3 and message.startswith("unterminated heredoc <<EOF")
    assert [c for c, _, _ in refs(items)] == ["docker.io/library/alpine:3.19", "docker.io/library/busybox:1.36"]


def test_bad_directives_and_instructions() -> None:
    items = parse_file("bad_directives.Dockerfile")
    assert errors(items) == [
        (2, "only one escape parser directive can be used"),
        (4, "FROM requires either one or three arguments"),
        (5, "invalid name for build stage: '1bad', name can't start with a number or contain symbols"),
        (6, "COPY --from: stage index 7 does not exist"),
    ]
    assert "docker.io/library/alpine:3.19" in [c for c, _, _ in refs(items)]


def test_huge_single_line_is_skipped_and_rest_used(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    with open(path, "wb") as out:
        out.write(b"FROM alpine:3.19\nRUN echo ")
        block = b"a" * (1024 * 1024)
        for _ in range(50):
            out.write(block)
        out.write(b"\nFROM busybox:1.36\n")
    items = run_parser(dockerfile.parse, path)
    [(line, message)] = errors(items)
    assert line == 2 and "over BuildKit's 65535 byte limit" in message
    assert [(c, line) for c, line, _ in refs(items)] == [
        ("docker.io/library/alpine:3.19", 1), ("docker.io/library/busybox:1.36", 3),
    ]


def test_single_line_50mb_file_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "big.Dockerfile"
    path.write_bytes(b"FROM " + b"a" * (50 * 1024 * 1024))
    items = run_parser(dockerfile.parse, path)
    assert errors(items) == [(1, f"line is {50 * 1024 * 1024 + 5} bytes, over BuildKit's 65535 byte limit; "
                                 "line skipped")]
    assert refs(items) == []
