"""docker-bake.hcl / .json: tags, docker-image:// contexts, registry caches, and the targets' Dockerfiles."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import bake, dockerfile
from parsers.repo.bake_file import parse_hcl
from tests.conftest import FIXTURES, run_parser

BAKE = FIXTURES / "repo" / "bake"


def _refs(records: list) -> list[tuple[str, str, int | None, str]]:  # type: ignore[type-arg]
    return [(r.canonical, r.source.path.rsplit("/bake/", 1)[1], r.source.line, r.context)
            for r in records if isinstance(r, ImageReference)]


def test_hcl_targets_inherit_interpolate_and_read_their_dockerfiles() -> None:
    path = BAKE / "hcl/docker-bake.hcl"
    assert parser_for(InputFile.from_path(path)).name == "bake"  # type: ignore[union-attr]
    records = run_parser(bake.parse, path)
    assert _refs(records) == [
        ("ghcr.io/example/cache:app", "hcl/docker-bake.hcl", 15, "target._common.cache-from"),
        ("ghcr.io/example/app:1.4.0", "hcl/docker-bake.hcl", 29, "target.app.tags (pushed)"),
        ("ghcr.io/example/app:latest", "hcl/docker-bake.hcl", 29, "target.app.tags (pushed)"),
        ("cgr.dev/chainguard/static:latest", "hcl/docker-bake.hcl", 25, "target.app.contexts.base"),
        ("ghcr.io/example/cache:app", "hcl/docker-bake.hcl", 15, "target.app.cache-from"),  # inherited
        # the Dockerfile with the target's args; FROM base and COPY --from=assets/tools are named contexts
        ("docker.io/library/golang:1.22", "hcl/app/Dockerfile", 2, "target.app FROM"),
        ("docker.io/library/alpine:3.20", "hcl/docker-bake.hcl", 35, "target.tools FROM"),  # dockerfile-inline
    ]
    [function] = [r for r in records if isinstance(r, Unresolved)]
    assert function.text == 'tag("tools", TAG)' and function.source.line == 38
    assert not [r for r in records if isinstance(r, InputError)]  # _common has no Dockerfile of its own


def test_set_overrides_bake_variables() -> None:
    records = run_parser(bake.parse, BAKE / "hcl/docker-bake.hcl", {"TAG": "9.9", "REGISTRY": "quay.io/me"})
    assert ("quay.io/me/app:9.9", "hcl/docker-bake.hcl", 29, "target.app.tags (pushed)") in _refs(records)


def test_json_bake_file() -> None:
    records = run_parser(bake.parse, BAKE / "json/docker-bake.json")
    assert [(ref, line) for ref, _path, line, _ctx in _refs(records)] == [
        ("registry.example.com/web:2.0", 7), ("registry.example.com/web:buildcache", 8),
        ("docker.io/library/nginx:1.27-alpine", 7)]


def test_a_dockerfile_read_on_its_own_knows_the_bake_contexts_beside_it() -> None:
    records = run_parser(dockerfile.parse, BAKE / "hcl/app/Dockerfile")
    # not docker.io/library/base, .../assets, .../tools: those names are the bake target's contexts
    assert [(ref, line) for ref, _path, line, _ctx in _refs(records)] == [("docker.io/library/golang:1.21", 2)]


def test_broken_hcl_is_one_error_and_earlier_blocks_are_kept() -> None:
    records = run_parser(bake.parse, BAKE / "broken/docker-bake.hcl")
    [error] = [r for r in records if isinstance(r, InputError)]
    assert error.source.line == 6 and "invalid HCL" in error.message
    assert [ref for ref, *_ in _refs(records)] == ["quay.io/example/ok:1"]


def test_hcl_reader_comments_heredocs_and_objects() -> None:
    blocks, error = parse_hcl('/* c */ target "a" { # x\n  args = { A = "1", "B": "2" }\n  x = <<-E\n  hi\n  E\n}\n')
    assert error is None
    [block] = blocks
    assert block.labels == ["a"] and set(block.attributes["args"].value) == {"A", "B"}
    assert block.attributes["x"].kind == "template"


def test_hostile_hcl_is_read_in_linear_time() -> None:
    import time
    for text in ("/* " * 300_000, 'target "a" { x = "' + "${" * 200_000, "a = " + "[" * 100_000):
        started = time.monotonic()
        _blocks, _error = parse_hcl(text)
        assert time.monotonic() - started < 5
