"""The collector and the discover command: walking, detection, isolation of bad inputs, exit codes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import parsers
from auditor.collect import CollectOptions, collect
from parsers import ParserSpec
from parsers._io import InputFile
from tests.conftest import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "reports/schemas/discover.schema.json").read_text())


def _run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], input=stdin.decode() if stdin else None,
                          capture_output=True, text=True, cwd=cwd or REPO_ROOT, timeout=120)


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (root / ".git").mkdir()
    (root / ".git" / "Dockerfile").write_text("FROM should-not-be-read\n")
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "Dockerfile").write_text("FROM vendored:1\n")
    (root / "README.md").write_text("# not an input kind\n")
    return root


def test_walk_skips_vendored_trees_and_unknown_files(tmp_path: Path) -> None:
    store = collect([str(_tree(tmp_path))], CollectOptions(variables={}))
    assert [r.canonical for r in store.references] == ["docker.io/library/python:3.12-slim"]
    assert store.skipped_files == 1  # README.md
    assert store.errors == []


def test_missing_file_is_one_error_and_the_rest_is_still_read(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = _run("discover", str(tmp_path / "nope.yaml"), str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert [r["canonical"] for r in doc["references"]] == ["docker.io/library/python:3.12-slim"]
    assert [e["location"] for e in doc["errors"]] == [str(tmp_path / "nope.yaml")]
    stderr_lines = result.stderr.strip().splitlines()
    assert stderr_lines == [f"regaudit: error: {tmp_path / 'nope.yaml'}: cannot read: no such file or directory"]


def test_strict_turns_errors_into_exit_2(tmp_path: Path) -> None:
    result = _run("discover", "--strict", str(tmp_path / "nope.yaml"), str(_tree(tmp_path)))
    assert result.returncode == 2


def test_unrecognized_explicit_file_is_reported(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"\x00\x01binary junk\xff" * 100)
    store = collect([str(junk)], CollectOptions(variables={}))
    assert len(store.errors) == 1
    assert "unrecognized input kind" in store.errors[0].message
    assert store.errors[0].source.path == str(junk)


def test_a_crashing_parser_loses_only_its_own_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(inp, ctx):  # type: ignore[no-untyped-def]
        yield from ()
        raise RuntimeError("boom")

    crashing = ParserSpec(name="crashy", detect=lambda inp: inp.name == "crash.me", parse=explode)
    monkeypatch.setattr(parsers, "PARSERS", (crashing, *parsers.PARSERS))
    (tmp_path / "crash.me").write_text("x")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    store = collect([str(tmp_path)], CollectOptions(variables={}))
    assert [r.canonical for r in store.references] == ["docker.io/library/alpine:3.20"]
    assert [e.message for e in store.errors] == ["crashy parser failed: RuntimeError: boom"]
    assert store.errors[0].source.path.endswith("crash.me")


def test_gzip_inputs_are_detected_on_their_content(tmp_path: Path) -> None:
    path = tmp_path / "capture.gz"
    path.write_bytes(gzip.compress(b"FROM alpine\n"))
    inp = InputFile.from_path(path)
    assert inp.compression == "gzip"
    assert inp.head == b"FROM alpine\n"
    with inp.open() as stream:
        assert stream.read() == b"FROM alpine\n"


def test_stdin_with_a_forced_kind() -> None:
    result = _run("discover", "--kind", "dockerfile", "--format", "json", "-", stdin=b"FROM nginx:1.27\n")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(r["canonical"], r["location"]) for r in doc["references"]] == [
        ("docker.io/library/nginx:1.27", "<stdin>:1")]


def test_unknown_kind_is_a_usage_error() -> None:
    result = _run("discover", "--kind", "nonsense", "-", stdin=b"x")
    assert result.returncode == 2
    assert "unknown kind" in result.stderr


def test_bad_set_assignment_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("discover", "--set", "NOEQUALS", str(tmp_path))
    assert result.returncode == 2
    assert "VAR=VALUE" in result.stderr


def test_control_characters_in_names_are_escaped_in_the_table(tmp_path: Path) -> None:
    bad = tmp_path / "evil\x1b[31m"
    result = _run("discover", str(bad))
    assert "\x1b" not in result.stderr
    assert "\\x1b" in result.stderr


def test_a_file_read_twice_counts_once(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\nFROM ${UNSET}\n")
    store = collect([str(dockerfile), str(dockerfile)], CollectOptions(variables={}))
    assert [r.canonical for r in store.references] == ["docker.io/library/alpine:3.20"]
    assert len(store.unresolved) == 1
    assert len(store.inputs) == 2  # both reads are still accounted for in the compliance list


def test_a_dockerfile_read_by_compose_and_by_the_walk_is_listed_once_unless_it_resolves_differently(
        tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("ARG V=3.19\nFROM alpine:${V}\nCOPY --from=busybox:1.36 /bin/sh /sh\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: app\n      args:\n        V: '3.20'\n")
    store = collect([str(tmp_path)], CollectOptions(variables={}))
    listed = sorted((r.canonical, r.source.line if r.source else 0) for r in store.references)
    assert listed == [("docker.io/library/alpine:3.19", 2), ("docker.io/library/alpine:3.20", 2),
                      ("docker.io/library/busybox:1.36", 3)]
