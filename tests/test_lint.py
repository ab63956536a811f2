"""ruff is part of the test run, so a lint regression fails CI like any other."""

import shutil
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    result = subprocess.run([*command, "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
