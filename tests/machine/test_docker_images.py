"""`docker images` inventories: JSON lines and tables, `<none>` handling, bad lines survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import ImageReference, InputError
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.machine import docker_images
from tests.conftest import FIXTURES, run_parser

IMAGES = FIXTURES / "machine" / "docker_images"
DIGEST = "sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d"


def _refs(items: list) -> list[tuple[str, str, int | None]]:  # type: ignore[type-arg]
    return [(i.canonical, i.context, i.source.line) for i in items if isinstance(i, ImageReference)]


def test_json_lines() -> None:
    items = run_parser(docker_images.parse, IMAGES / "images.jsonl")
    assert _refs(items) == [
        ("docker.io/library/nginx:1.25", "docker images (ID a8758716bb6a)", 1),
        ("ghcr.io/acme/api:v7@" + DIGEST, "docker images (ID 1f6ddc1b2547)", 2),
        ("registry.example.com:5000/team/tool", "docker images (ID 9e8d7c6b5a49), untagged", 4),
        ("mcr.microsoft.com/dotnet/sdk:8.0", "docker images (ID 665544332211)", 6),
    ]
    errors = [i for i in items if isinstance(i, InputError)]
    assert [e.source.line for e in errors] == [5] and errors[0].message.startswith("invalid JSON: ")


def test_untagged_image_keeps_its_registry_without_guessing_a_tag() -> None:
    items = run_parser(docker_images.parse, IMAGES / "images.jsonl")
    untagged = [i for i in items if isinstance(i, ImageReference) and i.tag is None]
    assert [(i.endpoint, i.repository, i.digest) for i in untagged] == [("registry.example.com", "team/tool", None)]


def test_table() -> None:
    items = run_parser(docker_images.parse, IMAGES / "images.txt")
    assert _refs(items) == [
        ("docker.io/library/nginx:1.25", "docker images (ID a8758716bb6a)", 2),
        ("docker.io/bitnami/redis:7.2", "docker images (ID 1f6ddc1b2547)", 3),
        ("quay.io/prometheus/node-exporter:v1.7.0", "docker images (ID 72c9c2088986)", 4),
        ("localhost:5000/scratch/test", "docker images (ID 9e8d7c6b5a49), untagged", 6),
        ("public.ecr.aws/docker/library/alpine:3.19", "docker images (ID 05455a08881e)", 8),
    ]
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [(7, "table line with 1 column(s), expected at least 3")]


def test_table_with_digests() -> None:
    assert _refs(run_parser(docker_images.parse, IMAGES / "images-digests.txt")) == [
        ("docker.io/library/nginx:1.25@" + DIGEST, "docker images (ID a8758716bb6a)", 2),
        ("gcr.io/distroless/static:nonroot", "docker images (ID f3ee1e46e8c5)", 3),
    ]


def test_newer_image_ls_listing() -> None:
    assert _refs(run_parser(docker_images.parse, IMAGES / "image-ls.txt")) == [
        ("docker.io/library/alpine:3.19", "docker images (ID 4bcff63911fc)", 2),
        ("ghcr.io/acme/worker:2.0", "docker images (ID 1f6ddc1b2547)", 4),
        ("registry.example.com:5000/tools/cli", "docker images (ID 9e8d7c6b5a49), untagged", 5),
    ]


def test_binary_line_is_named_and_skipped() -> None:
    items = run_parser(docker_images.parse, IMAGES / "images-binary.txt")
    assert [r[0] for r in _refs(items)] == ["docker.io/library/nginx:1.25", "docker.io/library/redis:7"]
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.source.line, "NUL" in e.message) for e in errors] == [(3, True)]


def test_truncated_json_line(tmp_path: Path) -> None:
    full = (IMAGES / "images.jsonl").read_text().splitlines()
    path = tmp_path / "images.json"
    path.write_text(full[0] + "\n" + full[1][:60])
    items = run_parser(docker_images.parse, path)
    assert [r[0] for r in _refs(items)] == ["docker.io/library/nginx:1.25"]
    assert [e.source.line for e in items if isinstance(e, InputError)] == [2]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("images.jsonl", True), ("images.txt", True), ("images-digests.txt", True), ("image-ls.txt", True),
     ("images-binary.txt", True)],
)
def test_detect(name: str, expected: bool) -> None:
    assert docker_images.detect(InputFile.from_path(IMAGES / name)) is expected


@pytest.mark.parametrize(
    "text",
    ['{"Names": "web", "Image": "nginx"}\n', "CONTAINER ID   IMAGE   COMMAND\n", "REPOSITORY is a word\n", ""],
)
def test_other_content_is_not_claimed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "out.txt"
    path.write_text(text)
    assert not docker_images.detect(InputFile.from_path(path))


def test_registry_picks_docker_images() -> None:
    spec = parser_for(InputFile.from_path(IMAGES / "images.txt"))
    assert spec is not None and spec.name == "docker_images"


def test_deeply_nested_json_line_is_an_error_not_a_crash(tmp_path: Path) -> None:
    good = (IMAGES / "images.jsonl").read_text().splitlines()[0]
    path = tmp_path / "images.json"
    path.write_text(good + "\n" + '{"Repository": ' + "[" * 30_000 + "]" * 30_000 + ', "Tag": "x"}\n' + good + "\n")
    items = run_parser(docker_images.parse, path)
    assert [r[2] for r in _refs(items)] == [1, 3]
    assert [(e.source.line, e.message) for e in items if isinstance(e, InputError)] == [
        (2, "JSON nested deeper than 256 levels")]
