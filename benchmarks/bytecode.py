"""The project's bytecode written before a benchmark times the CLI, as an installed package has it.

pip compiles a package's modules as it installs them, and a source checkout writes `__pycache__` on its first
run; with PYTHONDONTWRITEBYTECODE set (as in this workplace's shells) a checkout never does, so every timed run
of the CLI would also compile the project's ~150 modules (0.2 to 0.25 s, measured with cProfile at 10^5 required
hosts) and a figure would depend on the shell. `compileall` writes the files once; PYTHONDONTWRITEBYTECODE does
not stop Python from reading them. A module changed since is recompiled by compileall's next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGES = ("auditor", "parsers", "reports")


def compile_project() -> str:
    """Write the bytecode of PACKAGES; the line a benchmark prints about it."""
    root = Path(__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(root / p) for p in PACKAGES)],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        return f"bytecode: compileall failed ({done.stderr.strip()[:200]}): timed runs may compile the modules too"
    return "bytecode: written before timing (python -m compileall), as an installed package has it"
