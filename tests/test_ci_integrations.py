"""Where CI lives: the pre-commit hooks run by the real pre-commit in a throwaway git repository, and the
composite GitHub Action checked for the keys GitHub requires, for inputs it uses but does not declare, for
inputs pasted into scripts, and by running its audit step's script for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
HOOKS = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())


def _scratch_repo(root: Path, allowlist: str) -> Path:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM ghcr.io/acme/base:1.2\n")
    (root / "registry-allowlist.txt").write_text(allowlist)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "."], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "scratch"], check=True)
    return root


def _pre_commit(scratch: Path, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO_ROOT), hook, "--all-files",
                           "--verbose"], cwd=scratch, capture_output=True, text=True, timeout=900, env=env)


def test_hook_definitions_are_what_pre_commit_expects() -> None:
    assert {hook["id"] for hook in HOOKS} == {"regaudit-audit", "regaudit-discover"}
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["entry"].startswith("regaudit ")
        assert hook["pass_filenames"] is False  # the whole repository decides what a pull needs


@pytest.mark.timeout(1200)
def test_the_audit_hook_runs_in_a_scratch_repository(tmp_path: Path) -> None:
    """pre-commit builds the hook's own environment from this checkout (pip, from the package registry), then
    runs it: it passes when the allowlist covers GHCR, and fails when it does not."""
    home = tmp_path / "pre-commit-home"
    good = _scratch_repo(tmp_path / "good", "ghcr.io\npkg-containers.githubusercontent.com\n")
    passed = _pre_commit(good, "regaudit-audit", home)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    assert "regaudit audit (registry allowlist)" in passed.stdout and "Passed" in passed.stdout
    bad = _scratch_repo(tmp_path / "bad", "quay.io\n")
    failed = _pre_commit(bad, "regaudit-audit", home)
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "Failed" in failed.stdout and "- exit code: 1" in failed.stdout


def test_action_has_the_keys_github_requires() -> None:
    assert {"name", "description", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step  # composite run steps must name their shell
    for name, spec in ACTION["inputs"].items():
        assert "description" in spec, name
    assert ACTION["inputs"]["allowlist"]["required"] is True


def test_action_uses_only_declared_inputs_and_never_pastes_them_into_a_script() -> None:
    text = (REPO_ROOT / "action.yml").read_text()
    used = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", text))
    used |= set(re.findall(r"inputs\.([A-Za-z0-9_-]+)\s*==", text))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["run"]  # script injection: expressions go through env


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is needed to run the action's script")
def test_the_action_audit_step_runs_and_writes_sarif(tmp_path: Path) -> None:
    """The audit step's script, run by bash with the environment GitHub would give it (regaudit on PATH)."""
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "audit")
    work = _scratch_repo(tmp_path / "ws", "quay.io\n")
    env = {name: value for name, value in step["env"].items()}
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    given = {**defaults, "allowlist": "registry-allowlist.txt", "fail-on": "missing"}
    for name, value in list(env.items()):
        env[name] = re.sub(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", lambda m: given[m.group(1)], value)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "regaudit").write_text(f"#!/bin/sh\nexec {sys.executable} -m auditor \"$@\"\n")
    (bindir / "regaudit").chmod(0o755)
    full_env = {**os.environ, **env, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=work, env=full_env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr  # ghcr.io is missing: --fail-on missing fails the step
    sarif = json.loads((work / "regaudit.sarif").read_text())
    assert any(r["properties"]["kind"] == "missing" for r in sarif["runs"][0]["results"])
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"] and r["help"]["text"] and float(r["properties"]["security-severity"]) > 0
               for r in rules)
