"""Start-up stays light: what `regaudit --version` and a one-Dockerfile `discover` import (issue 13, item 8).

Timings are the benchmark's job (benchmarks/startup_imports.py prints them); this test guards the cause, the set
of modules, which does not depend on the machine's load: no data-frame, template, capture, store, pool or cluster
machinery on these paths. It reads `python -X importtime` through the benchmark's own parser, so the test and the
figures it guards count the same modules, and it shows the check is live on a run that does import pandas.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks.startup_imports import import_times

# never needed to print the version or to read one Dockerfile
HEAVY = ("pandas", "polars", "numpy", "jinja2", "scapy", "dpkt", "dask", "distributed", "orjson", "sqlite3",
         "multiprocessing", "concurrent", "auditor.store", "auditor.knowledge", "auditor.core.merge",
         "auditor.decisions", "parsers.logs", "reports.html", "yaml", *(f"parsers.traffic.capture.{decoder}" for decoder
         in ("reader", "scanner", "dns", "tls", "http", "fragments")))
# not needed for --version either: the evidence model and the pipeline load when a command reads inputs
NOT_FOR_VERSION = ("auditor.core.evidence", "auditor.core.model", "auditor.pipeline.collect", "parsers.common")


def _loaded(argv: list[str], cwd: Path) -> set[str]:
    _total, top = import_times(argv, cwd)
    return {name.strip("()") for name in top}


def _heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM ghcr.io/acme/base:1.2\nRUN true\n")
    return tmp_path


def test_version_imports_nothing_heavy(work: Path) -> None:
    modules = _loaded(["-m", "auditor", "--version"], work)
    assert "click" in modules and "auditor.cli" in modules  # the parse of -X importtime saw the run
    assert _heavy(modules, HEAVY + NOT_FOR_VERSION) == []


def test_discover_of_one_dockerfile_imports_only_its_path(work: Path) -> None:
    modules = _loaded(["-m", "auditor", "discover", "Dockerfile"], work)
    assert "parsers.repo.dockerfile" in modules and "auditor.pipeline.collect" in modules
    assert _heavy(modules, HEAVY) == []
    # detection tries the capture magic (parsers.traffic.pcap, registered first) and stops at the Dockerfile
    # parser: the kinds registered after it are not imported
    assert "parsers.traffic.capture.magic" in modules
    assert "parsers.repo.compose" not in modules and "parsers.repo.shell" not in modules


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")
def test_the_check_sees_a_heavy_import(work: Path) -> None:
    modules = _loaded(["-c", "import pandas\nfrom auditor.cli import main\nmain(['--version'])"], work)
    assert "pandas" in _heavy(modules, HEAVY)
