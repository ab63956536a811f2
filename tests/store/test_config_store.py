"""Where the store is, through the real command in a subprocess: --store, then $REGAUDIT_STORE, then the config
file's `store`, then ./regaudit.db; audit and propose read the store the config file names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.store.logs import write_zeek


def regaudit(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "REGAUDIT_STORE"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=cwd,
                          env={**environment, **(env or {})}, timeout=120)


def ingest(cwd: Path, *extra: str, env: dict[str, str] | None = None) -> None:
    done = regaudit(cwd, "ingest", "dns.log", *extra, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ingested"), done.stdout


def make_tree(tmp_path: Path, config: str | None) -> Path:
    write_zeek(tmp_path / "dns.log", [("2026-06-01T10:00:00", "10.0.0.1", "quay.io"),
                                      ("2026-06-02T10:00:00", "10.0.0.2", "quay.io")])
    if config is not None:
        (tmp_path / ".regaudit.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def stores(cwd: Path) -> list[str]:
    return sorted(p.name for p in cwd.rglob("*.db"))


def test_without_anything_the_store_is_regaudit_db_here(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, None)
    ingest(cwd)
    assert stores(cwd) == ["regaudit.db"]


def test_the_config_files_store_is_the_default(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, "store: evidence/configured.db\nbudget: 50\n")
    (cwd / "evidence").mkdir()
    ingest(cwd)
    assert stores(cwd) == ["configured.db"]
    done = regaudit(cwd, "history", "quay.io", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["total_uses"] == 2
    info = json.loads(regaudit(cwd, "store", "info", "--format", "json").stdout)
    assert info["store"] == "evidence/configured.db" and info["inputs_ok"] == 1


def test_regaudit_store_beats_the_config_file_and_store_beats_both(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, "store: configured.db\n")
    ingest(cwd, env={"REGAUDIT_STORE": "from-env.db"})
    assert stores(cwd) == ["from-env.db"]
    ingest(cwd, "--store", "given.db", env={"REGAUDIT_STORE": "from-env.db"})
    assert stores(cwd) == ["from-env.db", "given.db"]


def test_a_config_file_named_with_config_gives_its_store(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, None)
    (cwd / "other.yaml").write_text("store: named.db\n", encoding="utf-8")
    ingest(cwd, "--config", "other.yaml")
    assert stores(cwd) == ["named.db"]


def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, "store: [not, a, string]\n")
    done = regaudit(cwd, "ingest", "dns.log")
    assert done.returncode == 2
    assert ".regaudit.yaml" in done.stderr and "`store` must be a string" in done.stderr
    assert stores(cwd) == []


def test_audit_and_propose_read_the_store_the_config_file_names(tmp_path: Path) -> None:
    cwd = make_tree(tmp_path, "store: configured.db\n")
    ingest(cwd)
    (cwd / "allow.txt").write_text("quay.io\nghcr.io\n", encoding="utf-8")
    done = regaudit(cwd, "audit", "--allowlist", "allow.txt", "--as-of", "2026-06-30", "--window", "90d",
                    "--json", "report.json", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads((cwd / "report.json").read_text(encoding="utf-8"))
    assert report["period"]["store"] == "configured.db"
    unused = [f for f in report["findings"] if f["kind"] == "unused"]
    assert [f["entries"] for f in unused] == [["ghcr.io"]]  # quay.io's use came from the store
    proposal = regaudit(cwd, "propose", "--as-of", "2026-06-30")
    assert proposal.returncode == 0, proposal.stderr
    assert "quay.io" in proposal.stdout
    # without the config file and without --store, the same audit has no evidence to read
    (cwd / ".regaudit.yaml").unlink()
    bare = regaudit(cwd, "audit", "--allowlist", "allow.txt")
    assert bare.returncode == 2 and "--store" in bare.stderr
