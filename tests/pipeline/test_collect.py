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
from auditor.pipeline.collect import CollectOptions, collect
from parsers import ParserSpec
from parsers.common.inputs import InputFile
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
    assert result.returncode == 2, result.stderr  # a named input that is not there fails, strict or not
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
    assert [e.message for e in store.errors] == [
        "crashy parser failed before its first record (RuntimeError: boom); "
        "the records before it are kept, the rest of the file is not read"]
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


def test_past_the_host_limit_only_registry_hosts_and_their_redirect_targets_are_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.core import evidence

    monkeypatch.setattr(evidence, "MAX_HOSTS", 5)
    (tmp_path / "Dockerfile").write_text("FROM images.acme.example/app:1\n")
    stamp = "May 19 15:36:12 dnsmasq[11633]: "
    lines = []
    for index in range(8):  # fills the table: the sixth new host is the first not kept
        lines += [f"query[A] noise{index}.example.net from 10.0.0.5",
                  f"reply noise{index}.example.net is 192.0.2.{index}"]
    lines += ["query[A] registry-1.docker.io from 10.0.0.5", "reply registry-1.docker.io is <CNAME>",
              "reply edge.cdn-unknown.example is 192.0.2.99",
              "query[A] images.acme.example from 10.0.0.5", "reply images.acme.example is 192.0.2.100",
              "query[A] noise99.example.net from 10.0.0.5", "query[A] edge.cdn-unknown.example from 10.0.0.6"]
    log = tmp_path / "pihole.log"
    log.write_text("".join(stamp + line + "\n" for line in lines))
    store = collect([str(tmp_path / "Dockerfile"), str(log)], CollectOptions(variables={}))
    assert sorted(store.activity) == sorted(
        [f"noise{index}.example.net" for index in range(5)]
        + ["registry-1.docker.io", "images.acme.example", "edge.cdn-unknown.example"])
    assert store.activity["edge.cdn-unknown.example"].clients == {"10.0.0.6"}  # followed after the edge
    assert [(agg.from_host, agg.to_host) for agg in store.edges.values()] == [
        ("registry-1.docker.io", "edge.cdn-unknown.example")]
    # noise5..7 (query and answer each), noise99 (query), and the CNAME record of edge.cdn-unknown.example that
    # came just before its edge (a record of the same line, folded first): 8, one error naming where it began
    assert store.not_kept == {"observations": 8}
    assert store.activity["edge.cdn-unknown.example"].kinds == {"dns-answer": 1, "dns-query": 1}
    (error,) = [e for e in store.errors if "distinct hosts" in e.message]
    assert error.source.path.endswith("pihole.log") and error.source.line == 11
    assert "more than 5 distinct hosts" in error.message


def test_past_the_host_limit_the_proposal_says_so() -> None:
    from auditor.core import evidence
    from auditor.decisions.analysis import analyse

    store = evidence.EvidenceStore()
    store.not_kept["observations"] = 12
    analysis = analyse(store)
    assert any("12 observations of further hosts were counted, not kept" in note for note in analysis.proposal.notes)
