"""Compose extraction on hand-written projects (tests/fixtures/repo/compose/): interpolation, build, extends,
include."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import Evidence, ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.dotenv import parse_dotenv
from parsers.common.inputs import InputFile, ParseContext
from parsers.repo import compose, dockerfile
from tests.conftest import FIXTURES

HERE = FIXTURES / "repo" / "compose"
PROJECT = HERE / "project"


def run(path: Path, variables: dict[str, str] | None = None, env_files: list[Path] | None = None
        ) -> list[Evidence]:
    inp = InputFile.from_path(path, display=str(path.relative_to(FIXTURES / "repo")))
    ctx = ParseContext(variables=dict(variables or {}), env_files=list(env_files or []))
    return list(compose.parse(inp, ctx))


def refs(items: list[Evidence]) -> list[tuple[str, str, str]]:
    return [(r.canonical, str(r.source), r.context) for r in items if isinstance(r, ImageReference)]


def by_context(items: list[Evidence]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for canonical, _, context in refs(items):
        found.setdefault(context, []).append(canonical)
    return found


@pytest.mark.parametrize("name", [
    "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", "docker-compose.override.yml",
    "docker-compose.prod.yaml", "compose.override.yaml", "prod.docker-compose.yml",
])
def test_detects_compose_files_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("services: {}\n")
    inp = InputFile.from_path(path)
    assert compose.detect(inp)
    assert parser_for(inp).name == "compose"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["compose.json", "my-compose.yml", "values.yaml", "composer.yml"])
def test_ignores_other_yaml(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("services: {}\n")
    assert not compose.detect(InputFile.from_path(path))


def test_services_images_interpolated_from_dotenv() -> None:
    found = by_context(run(PROJECT / "compose.yaml"))
    assert found["services.redis.image"] == ["docker.io/library/redis:7.2-alpine"]  # through a merge key
    assert found["services.db.image"] == ["docker.io/library/postgres:16.3"]  # ${DB_IMAGE:-postgres}, PG_TAG quoted
    assert found["services.web.image (build tag)"] == ["registry.acme.internal:5000/acme/web:1.0"]  # export, # comment
    assert found["services.cache.image"] == ["docker.io/library/redis:7.2-alpine"]  # extends in the same file
    assert found["models.llm.model"] == ["docker.io/ai/smollm2:360M-Q4_K_M"]


def test_build_follows_context_and_dockerfile_with_args_and_target() -> None:
    items = run(PROJECT / "compose.yaml")
    found = by_context(items)
    # ./app, default target = last stage, which reaches `build` through COPY --from
    assert found["services.web.build FROM"] == [
        "docker.io/library/node:20-alpine", "docker.io/library/nginx:1.27-alpine"]
    # build.args BASE comes from .env API_BASE='python:3.12-slim'; target runtime leaves out the debug stage's mount;
    # COPY --from=tools is the additional context, not an image
    assert found["services.api.build FROM"] == ["docker.io/library/python:3.12-slim"]
    assert found["services.api.build # syntax"] == ["docker.io/docker/dockerfile:1"]
    assert "services.api.build RUN --mount from" not in found
    assert found["services.api.build.additional_contexts.tools"] == ["ghcr.io/acme/tools:1.4"]
    assert found["services.api.build.cache_from"] == ["ghcr.io/acme/api:buildcache"]  # type=local is skipped
    assert found["services.api.build.tags"] == ["ghcr.io/acme/api:1.0"]
    sources = {context: source for _, source, context in refs(items)}
    assert sources["services.web.build FROM"] == "compose/project/app/Dockerfile:4"
    assert sources["services.api.build FROM"] == "compose/project/api/Dockerfile.api:3"


def test_containerfile_when_the_context_has_no_dockerfile() -> None:
    items = run(PROJECT / "compose.yaml")
    assert [(c, s) for c, s, ctx in refs(items) if ctx == "services.podman.build FROM"] == [
        ("registry.access.redhat.com/ubi9/ubi-minimal:9.4", "compose/project/podman/Containerfile:1")]


def test_dockerfile_inline_lines_and_undeclared_build_arg() -> None:
    items = run(PROJECT / "compose.yaml")
    inline = [(c, s) for c, s, ctx in refs(items) if ctx == "services.inline.build FROM"]
    assert inline == [
        ("docker.io/library/alpine:1.36", "compose/project/compose.yaml:42"),  # ARG INLINE_BASE + build arg
        ("docker.io/library/busybox:1.36", "compose/project/compose.yaml:43"),  # no ARG: the default is used
    ]


def test_extends_from_another_file_resolves_paths_there() -> None:
    items = run(PROJECT / "compose.yaml")
    worker = [(c, s) for c, s, ctx in refs(items) if ctx.startswith("services.worker")]
    assert worker == [
        ("ghcr.io/acme/worker:2.0", "compose/project/shared/common.yml:3"),
        ("docker.io/library/eclipse-temurin:21-jre", "compose/project/shared/worker/Dockerfile:1"),
    ]


def test_include_uses_its_own_dotenv_and_guards_cycles() -> None:
    items = run(PROJECT / "compose.yaml")
    found = by_context(items)
    assert found["services.mq.image (included from compose/project/compose.yaml)"] == [
        "docker.io/library/rabbitmq:3.13-management"]
    assert found["services.loop-a.image (included from compose/project/compose.yaml)"] == [
        "docker.io/library/alpine:3.19"]
    assert found["services.loop-b.image (included from compose/project/loop/a.yaml)"] == [
        "docker.io/library/busybox:1.36"]
    cycle = [e for e in items if isinstance(e, InputError) and "include cycle" in e.message]
    assert [str(e.source) for e in cycle] == ["compose/project/loop/b.yaml:2"]


def test_unresolvable_and_invalid_values_are_reported_not_guessed() -> None:
    items = run(PROJECT / "compose.yaml")
    gaps = {u.context: (u.text, str(u.source), u.reason) for u in items if isinstance(u, Unresolved)}
    assert gaps["services.unset.image"][:2] == ("ghcr.io/acme/tool:${NOT_SET_ANYWHERE}",
                                                "compose/project/compose.yaml:58")
    assert "NOT_SET_ANYWHERE" in gaps["services.unset.image"][2]
    assert "process environment is not read" in gaps["services.unset.image"][2]
    assert gaps["services.required.image"][2] == "unresolved variable: REQUIRED: set REQUIRED first"
    # $$ is a literal dollar: the text is no variable but an invalid name
    assert gaps["services.literal.image"][0] == "quay.io/acme/app:v${X}"
    assert gaps["services.literal.image"][2].startswith("invalid reference")
    assert gaps["services.remote.build.context"][0] == "https://github.com/acme/remote.git#main"


def test_missing_dockerfile_and_bad_dotenv_line_are_errors() -> None:
    items = run(PROJECT / "compose.yaml")
    messages = [(str(e.source), e.message) for e in items if isinstance(e, InputError)]
    assert ("compose/project/compose.yaml:52", "Dockerfile compose/project/nope/Dockerfile not found") in messages
    assert ("compose/project/.env:8", "invalid variable name 'BROKEN LINE'; line skipped") in messages


def test_process_environment_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOT_SET_ANYWHERE", "1.0")
    items = run(PROJECT / "compose.yaml")
    assert any(isinstance(u, Unresolved) and u.context == "services.unset.image" for u in items)


def test_set_overrides_env_file_which_overrides_dotenv() -> None:
    path = HERE / "envfiles" / "compose.yaml"
    assert [c for c, _, _ in refs(run(path))] == ["registry.local/acme/app:from-dotenv"]
    with_file = run(path, env_files=[HERE / "envfiles" / "ci.env"])
    assert [c for c, _, _ in refs(with_file)] == ["registry.local/acme/app:from-env-file"]
    with_set = run(path, variables={"TAG": "from-set"}, env_files=[HERE / "envfiles" / "ci.env"])
    assert [c for c, _, _ in refs(with_set)] == ["registry.local/acme/app:from-set"]


def test_set_reaches_dockerfile_args_the_service_does_not_set() -> None:
    items = run(PROJECT / "compose.yaml", variables={"NODE": "22"})
    assert by_context(items)["services.web.build FROM"][0] == "docker.io/library/node:22-alpine"


def test_duplicate_reading_of_a_walked_dockerfile_is_distinguishable() -> None:
    """The walk reads app/Dockerfile on its own too: same file and line, other parser and context."""
    alone = list(dockerfile.parse(InputFile.from_path(PROJECT / "app" / "Dockerfile"), ParseContext()))
    via_compose = [r for r in run(PROJECT / "compose.yaml")
                   if isinstance(r, ImageReference) and r.context.startswith("services.web.build")]
    assert [(r.canonical, r.source.line, r.source.parser) for r in alone] == [
        ("docker.io/library/node:20-alpine", 2, "dockerfile"), ("docker.io/library/nginx:1.27-alpine", 4, "dockerfile")]
    assert [(r.canonical, r.source.line, r.source.parser) for r in via_compose] == [
        ("docker.io/library/node:20-alpine", 2, "compose"), ("docker.io/library/nginx:1.27-alpine", 4, "compose")]


def test_dotenv_parsing_rules() -> None:
    env = parse_dotenv(
        "# c\nexport A=1\nB = 'x #y'\nC=\"multi\nline\\tz\"\nD=${A}-$B # note\nE\nF=\"$A\"\nG='$A'\n"
        "H=\"unterminated\n")
    assert env.values == {"A": "1", "B": "x #y", "C": "multi\nline\tz", "D": "1-x #y", "F": "1", "G": "$A"}
    assert env.problems == [(10, "unterminated \" quoted value for H; line skipped")]


# -- malformed input ------------------------------------------------------------------------------------------


def test_invalid_yaml_reports_line_and_still_reads_image_lines() -> None:
    items = run(HERE / "invalid" / "docker-compose.yml")
    errors = [(e.source.line, e.message) for e in items if isinstance(e, InputError)]
    assert errors == [(6, "invalid YAML: mapping values are not allowed in this context")]
    assert [(c, s.rsplit(":", 1)[1], ctx) for c, s, ctx in refs(items)] == [
        ("docker.io/library/nginx:1.27", "3", "image (line scan after YAML error)"),
        ("docker.io/library/postgres:16", "5", "image (line scan after YAML error)"),
        ("docker.io/library/redis:7", "8", "image (line scan after YAML error)"),
    ]


def test_alias_bomb_is_refused() -> None:
    items = run(HERE / "bomb" / "compose.yaml")
    assert len(items) == 1 and isinstance(items[0], InputError)
    assert "alias bomb" in items[0].message and items[0].source.line == 1


def test_binary_junk_is_an_error() -> None:
    items = run(HERE / "binary" / "compose.yaml")
    assert [type(i) for i in items] == [InputError] and "binary content" in items[0].message


def test_undecodable_bytes_keep_the_rest() -> None:
    items = run(HERE / "undecodable" / "compose.yaml")
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (1, "undecodable bytes (not UTF-8) replaced with U+FFFD")]
    assert [c for c, _, _ in refs(items)] == ["docker.io/library/nginx:1.27"]


def test_non_mapping_documents_and_services(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  a: just-a-string\n  b:\n    image: alpine:3.19\n---\n- a list\n")
    items = list(compose.parse(InputFile.from_path(path, display="compose.yaml"), ParseContext()))
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (2, "services.a is not a mapping; skipped"), (None, "YAML document 2: top level is not a mapping; skipped")]
    assert [c for c, _, _ in refs(items)] == ["docker.io/library/alpine:3.19"]


def test_empty_image_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  a:\n    image:\n  b:\n    image: alpine:3.19\n")
    items = list(compose.parse(InputFile.from_path(path, display="compose.yaml"), ParseContext()))
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (3, "services.a.image is empty")]
    assert [c for c, _, _ in refs(items)] == ["docker.io/library/alpine:3.19"]


def test_extends_cycle_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  a:\n    extends: b\n    image: alpine:3.19\n  b:\n    extends: a\n")
    items = list(compose.parse(InputFile.from_path(path, display="compose.yaml"), ParseContext()))
    assert any(isinstance(e, InputError) and "cycle" in e.message for e in items)
    assert "docker.io/library/alpine:3.19" in [c for c, _, _ in refs(items)]


def test_version_1_format_without_services_key() -> None:
    found = by_context(run(HERE / "legacy" / "docker-compose.yml"))
    assert found == {"services.web.image (version 1 format)": ["docker.io/library/nginx:1.25"],
                     "services.db.image (version 1 format)": ["docker.io/library/mysql:8.0"]}


def test_compose_reset_and_override_tags() -> None:
    items = run(HERE / "tags" / "compose.yaml")
    assert not [e for e in items if isinstance(e, InputError)]
    assert [(c, s, ctx) for c, s, ctx in refs(items)] == [
        ("docker.io/library/nginx:1.27", "compose/tags/compose.yaml:3", "services.base.image"),
        ("ghcr.io/acme/nginx:1.27", "compose/tags/compose.yaml:7", "services.child.image"),
    ]
