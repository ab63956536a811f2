"""The walk's name pre-filter (parsers/common/claims.py) finds the kind the full detector chain finds.

The reference is every registered detector in order, without the shortcuts (neither claims nor DETECT_NEEDS). It
runs beside `parser_for` on every fixture file and on a generated tree that puts real-shaped content of every
kind under odd names (no extension, rotated and compressed logs, Dockerfile.dev, *.Containerfile, values-prod.yaml,
names in workflow and chart folders, case and Unicode oddities).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

import parsers
from auditor.pipeline.collect import CollectOptions, collect, iter_inputs
from parsers import PARSERS, may_claim_walked, parser_for
from parsers.common.claims import OTHER_FORMATS, NameIndex, extension_of, fold_case
from parsers.common.inputs import InputFile
from tests.conftest import FIXTURES

NAMES = NameIndex([spec.claims for spec in PARSERS])


def full_chain(inp: InputFile) -> str | None:
    """The kind the registration list gives INP when every detector is tried, without the shortcuts (the name
    pre-filter, DETECT_NEEDS): the reference both must agree with."""
    for spec in PARSERS:
        module = spec.module  # type: ignore[union-attr]
        try:
            if module.detect(inp):
                return str(spec.name)
        except Exception:
            continue
    return None


def _walked_kinds(root: Path) -> dict[str, tuple[str | None, str | None]]:
    """display -> (kind by the full chain, kind by parser_for) for every file a walk of ROOT finds."""
    kinds: dict[str, tuple[str | None, str | None]] = {}
    for inp, explicit, error in iter_inputs([str(root)]):
        assert error is None and inp is not None and not explicit
        spec = parser_for(inp)
        reference = InputFile.from_path(inp.path, display=inp.display, root=inp.root)
        kinds[inp.display] = (full_chain(reference), spec.name if spec is not None else None)
    return kinds


def test_every_registered_kind_declares_its_claims() -> None:
    assert [spec.name for spec in PARSERS if spec.claims is None] == []


def test_no_kind_claims_an_extension_of_another_format() -> None:
    """So the pre-filter's one difference from the full chain is a sniffed kind not read, never another kind."""
    claimed = {extension for spec in PARSERS if spec.claims for extension in spec.claims.extensions}
    assert claimed & OTHER_FORMATS == set()


def test_every_fixture_file_gets_the_kind_of_the_full_chain() -> None:
    kinds = _walked_kinds(FIXTURES)
    assert len(kinds) > 400
    assert {display: pair for display, pair in kinds.items() if pair[0] != pair[1]} == {}
    # the fixtures exercise most kinds through the pre-filtered path, not only None == None
    assert len({new for _old, new in kinds.values() if new}) >= 40


# Names a kind may be stored under, in the folders some kinds are recognized by.
ODD_NAMES = (
    "noext", "README", "output", ".hidden", ".env", "trailing.", "a.b.c.d", "capture.bin", "dump.dmp",
    "name with spaces.log", "\u00fc.log",
    "access.log", "access.log.1", "access.log-20240101", "access.log.2.gz", "cache.log", "dns.log", "query.log.0",
    "build.txt", "1_build.txt", "job.out", "queries.json", "eve.jsonl", "dump.csv", "capture.pcap",
    "capture.pcap.gz", "trace", "x.YAML", "x.JSON",
    "Dockerfile", "dockerfile", "DOCKERFILE", "Dockerfile.dev", "Dockerfile-windows", "Dockerfile_alpine",
    "Dockerfile.md", "Dockerfile.gz", "DOCKERFILE.GZ", "app.Containerfile", "web.dockerfile.gz",
    "web.dockerfile.xz.gz", "Containerfile", "containerfile.prod", "doc\u212aerfile", "Dockerf\u0130le",
    "Jenkinsfile", "Jenkinsfile.release", "jenkinsfile", "build.groovy", "ci.jenkins",
    "values.yaml", "values-prod.yaml", "prod-values.yml", "compose.yaml", "docker-compose.override.yml",
    "stack.docker-compose.yaml", "compo\u017fe.yml", "manifest.yml", "deploy.k8s", "kustomization.yaml",
    "daemon.json", "config.json", "registry.json", "settings-store.json", "admin-settings.json", "x.j\u017fon",
    "hosts", "HOSTS", "hosts.txt", "desktop.plist", "com.docker.config", "docker.mobileconfig",
    "Chart.yaml", "helmfile.yaml", "helmfile.prod.yaml.gotmpl", "cloudbuild.yaml", "docker-bake.hcl",
    "x.bake.json", "app.container", "web.image", "bitbucket-pipelines.yml", ".drone.yml", ".gitlab-ci.yml",
    "action.yml", "devcontainer.json", "script.sh", "run", "install.BASH", "policy.reg", "Jenkinsfile.py",
    "notes.md", "main.py",
    ".github/workflows/ci.yml", ".gitlab/ci/jobs.yml", ".circleci/config.yml", ".woodpecker/build.yaml",
    ".azure-pipelines/build.yml", "helmfile.d/apps.yaml", "chart/templates/deploy.yaml", "chart/templates/x.tpl",
)


def _samples() -> dict[str, bytes]:
    """One fixture's content per kind the full chain finds among the fixtures (real-shaped content of each kind),
    and a gzip-compressed copy of a few."""
    samples: dict[str, bytes] = {}
    for inp, _explicit, _error in iter_inputs([str(FIXTURES)]):
        assert inp is not None
        kind = full_chain(InputFile.from_path(inp.path, display=inp.display, root=inp.root))
        if kind and kind not in samples and 0 < inp.path.stat().st_size < 256 * 1024:
            samples[kind] = inp.path.read_bytes()
    for kind in ("squid", "docker_log", "dnsmasq", "dockerfile", "kubernetes"):
        if kind in samples:
            samples[f"{kind}.gz"] = gzip.compress(samples[kind], mtime=0)
    samples["python"] = b"#!/usr/bin/env python3\nimport os\nprint(os.environ)\n"
    samples["shebang"] = b"#!/bin/sh\ndocker pull ghcr.io/acme/app:1\n"
    samples["empty"] = b""
    samples["binary"] = bytes(range(256)) * 4
    return samples


def test_odd_names_with_every_kinds_content_get_the_kind_of_the_full_chain(tmp_path: Path) -> None:
    samples = _samples()
    assert len(samples) >= 40
    root = tmp_path / "tree"
    for number, (kind, data) in enumerate(sorted(samples.items())):
        for name in ODD_NAMES:
            if "templates/" in name:  # a chart: its templates are claimed by where they are
                (root / kind / f"n{number}" / "chart").mkdir(parents=True, exist_ok=True)
                (root / kind / f"n{number}" / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\n")
            path = root / kind / f"n{number}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    kinds = _walked_kinds(root)
    assert len(kinds) >= len(samples) * len(ODD_NAMES)
    differ = {display: pair for display, pair in kinds.items() if pair[0] != pair[1]}
    # the one deliberate difference: content recognized under any name, under a name no kind claims whose
    # extension is another format's (a README.md quoting a log line), is not read when a walk finds it
    deliberate = {display: pair for display, pair in differ.items()
                  if pair[1] is None and extension_of(fold_case(Path(display).name)) in OTHER_FORMATS
                  and not NAMES.candidates(Path(display).name)}
    assert {display: pair for display, pair in differ.items() if display not in deliberate} == {}
    assert {Path(display).name for display in deliberate} == {"notes.md", "main.py"}
    assert {old for old, _new in deliberate.values()} >= {"squid", "docker_log", "pcap", "shell"}
    found = {new for _old, new in kinds.values() if new}
    assert len(found) >= 40


def test_a_walk_does_not_open_what_no_kind_claims(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import os\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    found = {inp.path.name: inp for inp, _explicit, _error in iter_inputs([str(tmp_path)]) if inp is not None}
    assert found["main.py"].head == b"" and found["logo.png"].head == b""  # never read
    assert found["Dockerfile"].head == b"FROM alpine:3.20\n"
    assert not may_claim_walked("main.py") and not may_claim_walked("logo.png") and not may_claim_walked("X.MD")
    assert may_claim_walked("access.log") and may_claim_walked("noext") and may_claim_walked("Dockerfile.md")
    store = collect([str(tmp_path)], CollectOptions(variables={}, show_progress=False))
    assert [record.kind for record in store.inputs] == ["dockerfile"]
    assert store.skipped_files == 2


def test_content_under_another_formats_extension_is_read_when_named(tmp_path: Path) -> None:
    """A squid log saved as notes.md: a walk skips it (its name says Markdown), the command line reads it."""
    squid_log = next(path for path in sorted((FIXTURES / "logs").rglob("*")) if path.is_file() and full_chain(
        InputFile.from_path(path)) == "squid")
    shutil.copy(squid_log, tmp_path / "notes.md")
    walked = collect([str(tmp_path)], CollectOptions(variables={}, show_progress=False))
    assert walked.inputs == [] and walked.skipped_files == 1
    named = collect([str(tmp_path / "notes.md")], CollectOptions(variables={}, show_progress=False))
    assert [record.kind for record in named.inputs] == ["squid"]
    assert named.activity or named.blocked_total


def test_a_planted_parser_without_claims_is_offered_every_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    planted = parsers.ParserSpec(name="planted", detect=lambda inp: inp.head.startswith(b"PLANTED"),
                                 parse=lambda inp, ctx: iter(()))
    monkeypatch.setattr(parsers, "PARSERS", (planted, *parsers.PARSERS))
    (tmp_path / "odd.py").write_text("PLANTED\n")
    store = collect([str(tmp_path)], CollectOptions(variables={}, show_progress=False))
    assert [record.kind for record in store.inputs] == ["planted"]


def test_fold_case_maps_every_letter_a_case_blind_regex_matches_to_ascii() -> None:
    """The ground for the name lookup and the key pre-tests: every code point `re.IGNORECASE` matches to an ASCII
    letter folds to that letter."""
    import re
    import sys

    letters = "abcdefghijklmnopqrstuvwxyz"
    patterns = [re.compile(letter, re.IGNORECASE) for letter in letters]
    wrong = [(hex(point), letter) for point in range(sys.maxunicode + 1) if not 0xD800 <= point <= 0xDFFF
             for letter, pattern in zip(letters, patterns, strict=True)
             if pattern.fullmatch(chr(point)) and fold_case(chr(point)) != letter]
    assert wrong == []
    assert fold_case("Dockerf\u0130le \u017fettings") == "dockerfile settings"


def test_the_index_unions_names_extensions_prefixes_and_compression() -> None:
    from parsers.common.claims import Claims

    index = NameIndex([Claims(names=("hosts",)), Claims(extensions=("yml",)), Claims(prefixes=("dockerfile",)),
                       Claims(extensions=("dockerfile",)), Claims(sniffed=True), None])
    assert index.candidates("HOSTS") == (0, 4, 5)
    assert index.candidates("ci.yml") == (1, 4, 5)
    assert index.candidates("Dockerfile.dev") == (2, 4, 5)
    assert index.candidates("web.dockerfile.xz.gz") == (3, 4, 5)  # looked up through both compressions
    assert index.candidates("main.py") == (5,)  # only the entry without claims
    assert index.candidates("notes.md.gz") == (4, 5)  # a compressed file may hold a log
    assert index.candidates("dockerfile.py") == (2, 4, 5)  # a claimed name gets the whole chain's answer
    assert index.candidates("Dockerf\u0130le") == (2, 4, 5)  # İ folds to i, as a case-blind regex matches it
