"""The CLI as a CI gate: exit codes that cannot lie, one clear line for each bad input, outputs where asked,
accepted findings that stay accepted (config file, expiry, baseline). Every case runs the real CLI in a
subprocess and checks the exit code, the message and that no traceback is printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
AUDIT_SCHEMA = json.loads((REPO_ROOT / "reports/schemas/audit.schema.json").read_text())
CONFIG_SCHEMA = json.loads((REPO_ROOT / "auditor/pipeline/schemas/config.schema.json").read_text())
DIFF_SCHEMA = json.loads((REPO_ROOT / "reports/schemas/diff.schema.json").read_text())


def regaudit(*args: str, cwd: Path = REPO_ROOT, stdin: bytes | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=300, env=env)
    result = subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())
    assert "Traceback" not in result.stderr, result.stderr
    return result


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("regaudit: error: ")]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository: a Dockerfile on Docker Hub and GHCR, a workflow whose tags are GitHub expressions."""
    root = tmp_path / "repo"
    write(root / "Dockerfile", "FROM ghcr.io/acme/base:1.2\nRUN true\nFROM alpine:3.20\n")
    write(root / ".github/workflows/ci.yml", """\
on: push
env:
  REGISTRY: harbor.corp.example
jobs:
  build:
    runs-on: ubuntu-latest
    container: harbor.corp.example/app/api:${{ github.sha }}
    services:
      db: ghcr.io/acme/db:${{ env.DB_TAG }}
    steps:
      - run: docker push ${{ env.REGISTRY }}/app/web:${{ github.sha }}
""")
    write(root / ".gitlab-ci.yml", "build:\n  image: registry.gitlab.com/acme/builder:$CI_COMMIT_SHA\n"
                                   "  script: [make]\n")
    return root


# --- exit codes that cannot lie ---------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", [["--jobs", "1"], ["--jobs", "2"], ["--engine", "dask", "--workers", "1"]])
def test_an_empty_input_name_is_an_input_error_not_the_working_directory(repo: Path, engine: list[str]) -> None:
    # `regaudit discover "$UNSET" Dockerfile` run from inside the repository: "" must not walk it
    result = regaudit("discover", "", "Dockerfile", "--format", "json", *engine, cwd=repo)
    assert result.returncode == 2
    assert error_lines(result) == ['regaudit: error: "": an empty input name (an unset variable?): nothing read for it']
    document = json.loads(result.stdout)
    assert sorted({ref["registry"] for ref in document["references"]}) == ["docker.io", "ghcr.io"]


@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_a_missing_input_fails_with_one_line_whatever_strict_says(repo: Path, strict: list[str]) -> None:
    result = regaudit("discover", str(repo / "Dockerfile"), str(repo / "Dockerfil"), *strict)
    assert result.returncode == 2
    assert error_lines(result) == [f"regaudit: error: {repo / 'Dockerfil'}: cannot read: no such file or directory"]
    assert "ghcr.io" in result.stdout  # the other input is still read and reported


def test_an_empty_directory_or_one_of_unknown_files_fails(tmp_path: Path) -> None:
    write(tmp_path / "notes" / "README.txt", "nothing to see\n")
    result = regaudit("discover", str(tmp_path / "notes"))
    assert result.returncode == 2
    assert error_lines(result) == [f"regaudit: error: {tmp_path / 'notes'}: no input of a known kind in this "
                                   "directory (1 files skipped)"]


def test_a_named_file_of_no_known_kind_fails(tmp_path: Path) -> None:
    result = regaudit("discover", str(write(tmp_path / "notes.txt", "hello\n")))
    assert result.returncode == 2
    assert len(error_lines(result)) == 1 and "unrecognized input kind" in error_lines(result)[0]


@pytest.mark.parametrize(("content", "message"), [
    (None, "allowlist not found"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "allowlist is a binary file"),
    (b"# nothing but a comment\n\n", "the allowlist has no entry"),
    (b"not a host!\n", "expected one host per line"),
])
def test_an_allowlist_that_cannot_be_audited_fails_with_one_line(repo: Path, tmp_path: Path, content: bytes | None,
                                                                   message: str) -> None:
    path = tmp_path / "allow.txt"
    if content is not None:
        path.write_bytes(content)
    result = regaudit("audit", str(repo), "--allowlist", str(path))
    assert result.returncode == 2
    assert len(error_lines(result)) == 1 and message in error_lines(result)[0]
    assert result.stdout == ""


def test_exit_1_only_for_fail_on(repo: Path, tmp_path: Path) -> None:
    allow = write(tmp_path / "allow.txt", "ghcr.io\n")
    plain = regaudit("audit", str(repo), "--allowlist", str(allow))
    assert plain.returncode == 0  # findings alone never fail
    assert regaudit("audit", str(repo), "--allowlist", str(allow), "--fail-on", "missing").returncode == 1
    assert regaudit("audit", str(repo), "--allowlist", str(allow), "--fail-on", "error").returncode == 1
    assert regaudit("audit", str(repo), "--allowlist", str(allow), "--fail-on", "lookalike").returncode == 0
    bad = regaudit("audit", str(repo), "--allowlist", str(allow), "--fail-on", "mising")
    assert bad.returncode == 2 and "unknown finding kind or severity 'mising'" in bad.stderr


def test_help_lists_exit_codes_and_kinds() -> None:
    top = regaudit("--help")
    assert "Exit codes:" in top.stdout and "policy failure" in top.stdout
    audit_help = regaudit("audit", "--help").stdout
    assert "Exit codes:" in audit_help
    discover_help = regaudit("discover", "--help").stdout.replace("\n", " ")
    assert "github_actions" in discover_help and "dnsmasq" in discover_help
    bad = regaudit("discover", "--kind", "github-actions", "-", stdin=b"")
    assert bad.returncode == 2 and "known: pcap, " in bad.stderr and "github_actions" in bad.stderr


def test_kind_names_share_one_style() -> None:
    from parsers import PARSERS

    assert [s.name for s in PARSERS if not s.name.replace("_", "").isalnum() or s.name != s.name.lower()] == []


def test_version_flags() -> None:
    assert regaudit("-V").stdout == regaudit("--version").stdout != ""


# --- host-level truth for --strict -------------------------------------------------------------------------------

def test_github_actions_repository_passes_strict_when_every_host_is_known(repo: Path) -> None:
    result = regaudit("discover", str(repo), "--strict", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    partial = {(r["registry"], r["repository"]): r["unresolved"] for r in doc["references"] if r["unresolved"]}
    assert set(partial) == {("harbor.corp.example", "app/api"), ("ghcr.io", "acme/db"),
                            ("harbor.corp.example", "app/web"), ("registry.gitlab.com", "acme/builder")}
    assert doc["unresolved"] == []


def test_an_unknown_host_still_fails_strict(repo: Path) -> None:
    write(repo / "deploy.sh", "docker pull ${REGISTRY}/app:1\n")
    result = regaudit("discover", str(repo), "--strict")
    assert result.returncode == 2
    assert "${REGISTRY}/app:1" in result.stdout


def test_set_gives_github_expressions_and_ci_variables(repo: Path) -> None:
    result = regaudit("discover", str(repo), "--format", "json", "--set", "github.sha=abc123",
                      "--set", "env.DB_TAG=16", "--set", "CI_COMMIT_SHA=f00d")
    canonical = {r["canonical"] for r in json.loads(result.stdout)["references"]}
    assert {"harbor.corp.example/app/api:abc123", "ghcr.io/acme/db:16", "harbor.corp.example/app/web:abc123",
            "registry.gitlab.com/acme/builder:f00d"} <= canonical


def test_partial_references_feed_the_proposal(repo: Path) -> None:
    result = regaudit("propose", str(repo), "--format", "json")
    entries = {entry["address"] for entry in json.loads(result.stdout)["entries"]}
    for host in ("harbor.corp.example", "registry.gitlab.com", "ghcr.io"):  # each allowed (suffix matching)
        assert any(host == entry or host.endswith("." + entry) for entry in entries), (host, entries)


# --- accepted findings ---------------------------------------------------------------------------------------------

def test_ignore_rules_accept_findings_and_an_expired_rule_reappears(repo: Path, tmp_path: Path) -> None:
    allow = write(tmp_path / "allow.txt", "ghcr.io\npkg-containers.githubusercontent.com\nharbor.corp.example\n"
                                          "registry.gitlab.com\nregistry.unused.example\n")
    config = write(tmp_path / "work" / ".regaudit.yaml", """\
fail-on: [missing, unused]
ignore:
  - kind: missing
    reason: Docker Hub is RAM's built-in switch here
    expires: 2999-12-31
  - kind: unused
    entry: registry.unused.example
    reason: the release pipeline pulls from it once a quarter
    expires: 2020-01-31
""")
    out = tmp_path / "report.json"
    result = regaudit("audit", str(repo), "--allowlist", str(allow), "--json", str(out), cwd=config.parent)
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, AUDIT_SCHEMA)
    by_kind: dict[str, list[dict]] = {}
    for finding in doc["findings"]:
        by_kind.setdefault(finding["kind"], []).append(finding)
    assert by_kind["missing"] and all(f["accepted"] == {"reason": "Docker Hub is RAM's built-in switch here",
                                                        "by": f"{config}:3", "expires": "2999-12-31"}
                                      for f in by_kind["missing"])
    # the expired rule no longer accepts the unused entry, and is a finding of its own
    assert [f["accepted"] for f in by_kind["unused"]] == [None]
    assert [f["data"]["rule"] for f in by_kind["expired-ignore"]] == [f"{config}:6"]
    assert result.returncode == 1  # fail-on from the config file: the unused entry counts again
    assert "(accepted)" in result.stdout


def test_baseline_of_the_same_audit_passes_fail_on_error(repo: Path, tmp_path: Path) -> None:
    allow = write(tmp_path / "allow.txt", "ghcr.io\n")
    base = tmp_path / "base.json"
    first = regaudit("audit", str(repo), "--allowlist", str(allow), "--json", str(base), "--fail-on", "error")
    assert first.returncode == 1
    again = regaudit("audit", str(repo), "--allowlist", str(allow), "--baseline", str(base), "--fail-on", "error",
                     "--format", "sarif")
    assert again.returncode == 0
    results = json.loads(again.stdout)["runs"][0]["results"]
    assert results and all(r["suppressions"][0]["status"] == "accepted" for r in results)
    # a new problem is not in the baseline: it fails
    write(repo / "k8s.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n"
                             "    - {name: a, image: quay.io/acme/new:1}\n")
    assert regaudit("audit", str(repo), "--allowlist", str(allow), "--baseline", str(base),
                    "--fail-on", "error").returncode == 1


@pytest.mark.parametrize(("config", "message"), [
    ("budget: lots\n", ".regaudit.yaml:1: `budget` must be a whole number"),
    ("colour: blue\n", ".regaudit.yaml:1: unknown key 'colour'"),
    ("ignore:\n  - kind: missing\n", ".regaudit.yaml:2: an ignore rule needs a `reason`"),
    ("ignore:\n  - kind: missing\n    reason: r\n    expires: soon\n", "`expires` must be a date"),
    ("ignore: [\n", "invalid YAML in the config file"),
])
def test_a_broken_config_file_is_one_line_and_exit_2(repo: Path, tmp_path: Path, config: str, message: str) -> None:
    write(tmp_path / ".regaudit.yaml", config)
    result = regaudit("discover", str(repo), cwd=tmp_path)
    assert result.returncode == 2
    assert len(error_lines(result)) == 1 and message in error_lines(result)[0]


def test_the_config_schema_documents_what_the_loader_takes() -> None:
    from auditor.pipeline.config import OPTION_KEYS, RULE_KEYS

    jsonschema.Draft202012Validator.check_schema(CONFIG_SCHEMA)
    assert set(CONFIG_SCHEMA["properties"]) == {*OPTION_KEYS, "ignore"}
    assert set(CONFIG_SCHEMA["properties"]["ignore"]["items"]["properties"]) == set(RULE_KEYS)
    jsonschema.validate({"budget": 50, "org": ["acme"], "fail-on": "error",
                         "ignore": [{"kind": "missing", "host": "x.example", "reason": "r", "expires": "2027-01-01"}]},
                        CONFIG_SCHEMA)


def test_config_defaults_apply_and_the_command_line_wins(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / ".regaudit.yaml", "budget: 1\n")
    squeezed = json.loads(regaudit("propose", str(repo), "--format", "json", cwd=tmp_path).stdout)
    assert squeezed["budget"] == 1
    given = json.loads(regaudit("propose", str(repo), "--format", "json", "--budget", "7", cwd=tmp_path).stdout)
    assert given["budget"] == 7


# --- output where asked ----------------------------------------------------------------------------------------

def test_dash_is_standard_output_and_standard_input(repo: Path) -> None:
    result = regaudit("audit", str(repo), "--allowlist", "-", "--json", "-", stdin=b"ghcr.io\n")
    assert result.returncode == 0
    doc = json.loads(result.stdout)  # the summary went to stderr, so stdout is the JSON alone
    assert doc["allowlist"]["path"] == "<stdin>" and "Allowlist <stdin>" in result.stderr
    assert not (REPO_ROOT / "-").exists()
    md = regaudit("audit", str(repo), "--allowlist", "-", "--format", "md", stdin=b"ghcr.io\n")
    assert md.stdout.startswith("#") and "Allowlist" in md.stderr
    two = regaudit("audit", str(repo), "--allowlist", "-", "--json", "-", "--sarif", "-", stdin=b"ghcr.io\n")
    assert two.returncode == 2 and "only one report can go to standard output" in two.stderr


def test_an_unwritable_output_is_one_line_and_exit_2(repo: Path, tmp_path: Path) -> None:
    blocker = write(tmp_path / "file", "x")
    allow = write(tmp_path / "allow.txt", "ghcr.io\n")
    result = regaudit("audit", str(repo), "--allowlist", str(allow), "--html", str(blocker / "report.html"))
    assert result.returncode == 2
    assert len(error_lines(result)) == 1 and "cannot write the html report to" in error_lines(result)[0]
    discover = regaudit("discover", str(repo), "-o", str(blocker / "out.txt"))
    assert discover.returncode == 2 and "cannot write the discover output" in discover.stderr


def test_quiet_prints_only_errors(repo: Path, tmp_path: Path) -> None:
    allow = write(tmp_path / "allow.txt", "ghcr.io\n")
    result = regaudit("audit", str(repo), "--allowlist", str(allow), "-q")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_no_color_output_has_no_escape_sequences(repo: Path, tmp_path: Path) -> None:
    import os

    allow = write(tmp_path / "allow.txt", "ghcr.io\n")
    result = regaudit("audit", str(repo), "--allowlist", str(allow), env={**os.environ, "NO_COLOR": "1"})
    assert "\x1b" not in result.stdout + result.stderr


# --- diff as a gate ------------------------------------------------------------------------------------------------

def test_diff_fails_on_new_findings_and_its_json_follows_its_schema(repo: Path, tmp_path: Path) -> None:
    allow = write(tmp_path / "allow.txt", "ghcr.io\npkg-containers.githubusercontent.com\nharbor.corp.example\n"
                                          "registry.gitlab.com\n")
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    regaudit("audit", str(repo), "--allowlist", str(allow), "--json", str(old))
    write(repo / "compose.yaml", "services:\n  web:\n    image: quay.io/acme/web:1\n")
    regaudit("audit", str(repo), "--allowlist", str(allow), "--json", str(new))
    result = regaudit("diff", str(old), str(new), "--fail-on-new", "missing", "--format", "json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, DIFF_SCHEMA)
    assert any(f["kind"] == "missing" and "quay.io" in f["key"] for f in doc["findings"]["new"])
    assert regaudit("diff", str(old), str(new), "--fail-on-new", "lookalike").returncode == 0
    assert regaudit("diff", str(old), str(old), "--fail-on-new", "any").returncode == 0
    broken = regaudit("diff", str(old), str(write(tmp_path / "x.json", "{")))
    assert broken.returncode == 2 and len(error_lines(broken)) == 1


# --- discoverable kinds: standard input by content ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "canonical"), [
    ("FROM alpine:3.20\nRUN true\n", "dockerfile", "docker.io/library/alpine:3.20"),
    ("services:\n  web:\n    image: nginx:1.27\n", "compose", "docker.io/library/nginx:1.27"),
    ("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    container: node:20\n    steps: [{run: make}]\n",
     "github_actions", "docker.io/library/node:20"),
    ("stages: [build]\nbuild:\n  image: python:3.12\n  script: [make]\n", "gitlab_ci", "docker.io/library/python:3.12"),
])
def test_standard_input_is_read_by_content(text: str, kind: str, canonical: str) -> None:
    result = regaudit("discover", "-", "--format", "json", stdin=text.encode())
    assert result.returncode == 0, result.stderr
    [ref] = json.loads(result.stdout)["references"]
    assert (ref["kind"], ref["canonical"]) == (kind, canonical)


def test_content_detectors_are_linear_on_hostile_heads(tmp_path: Path) -> None:
    """The workflow and pipeline detectors see the head of every explicitly named file: a 64 KiB line built to
    make a backtracking pattern explode is decided at once (each detector runs ten times on each such head well
    inside the test's time limit; a quadratic pattern would need hours)."""
    from parsers.common.inputs import InputFile
    from parsers.repo.ci import github_actions, gitlab_ci

    for hostile in (b"on" + b" " * 65_000 + b"x", b"jobs:" + b"\t" * 65_000, b" " * 65_000 + b"script",
                    b"stages" + b" \t" * 30_000):
        path = tmp_path / "hostile.yml"
        path.write_bytes(hostile)
        inp = InputFile.from_path(path)
        for _ in range(10):
            assert not github_actions.detect_content(inp)
            assert not gitlab_ci.detect_content(inp)
