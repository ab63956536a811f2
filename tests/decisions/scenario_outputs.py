"""The discover, propose and audit outputs of one audit scenario, as text with run-specific parts removed.

Shared by the equivalence test (tests/decisions/test_store_equivalence.py) and the script that wrote its golden
files from the code before the compact evidence store (`python -m tests.decisions.scenario_outputs`). Each
command runs through the real CLI from inside the scenario's directory (inputs named `.`), so paths in the
outputs are relative and the same on every checkout; what changes from run to run (the version, the date, the
command line, the temporary report paths) is blanked.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main

AUDIT = Path(__file__).parents[1] / "fixtures" / "audit"
GOLDEN = Path(__file__).parents[1] / "fixtures" / "equivalence"
REPO_ROOT = Path(__file__).parents[2]
# scenario -> (directory to run from, inputs, allowlist): the audit fixtures, plus the shipped example and the
# traffic and log fixtures (captures, redirect edges, timing, resolver logs) that those do not exercise
RUNS = {p.name: (p, ["."], "allowlist.txt") for p in AUDIT.iterdir() if (p / "allowlist.txt").is_file()}
RUNS["example"] = (REPO_ROOT, ["examples/repo", "examples/logs", "sample_pcaps"], "examples/allowlist.txt")
RUNS["traffic-and-logs"] = (REPO_ROOT / "tests" / "fixtures", ["traffic", "logs"], "audit/clean/allowlist.txt")
# a fleet (benchmarks/scale.py's generator): ECR registries whose region buckets collect more needs than a record
# keeps (MAX_NEEDS_KEPT), self-hosted /v2/ registries; written into the scratch directory, run from there
RUNS["fleet"] = (Path("{out}"), ["access.log"], "allowlist.txt")
FLEET_HOSTS = 1250
GZIP_OVER = 100_000  # golden files past this size are stored compressed
SCENARIOS = sorted(RUNS)
# report file -> the command line that writes it (REPORTS_DIR is replaced by a temporary directory)
COMMANDS = {
    "discover.json": ["discover", "{inputs}", "--format", "json", "-o", "{out}/discover.json"],
    "proposal.json": ["propose", "{inputs}", "--format", "json", "-o", "{out}/proposal.json"],
    "proposal.txt": ["propose", "{inputs}", "-o", "{out}/proposal.txt"],
    "audit.json": ["audit", "{inputs}", "--allowlist", "{allowlist}", "--json", "{out}/audit.json",
                   "--csv", "{out}/audit.csv", "--sarif", "{out}/audit.sarif", "--md", "{out}/audit.md"],
}
REPORTS = {"discover.json": ["discover.json"], "proposal.json": ["proposal.json"], "proposal.txt": ["proposal.txt"],
           "audit.json": ["audit.json", "audit.csv", "audit.sarif", "audit.md"]}
_VERSION = re.compile(r'("(?:regaudit_)?version": )"\d+\.\d+[^"]*"|regaudit \d+\.\d+\S*')


@contextmanager
def _inside(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _blank(name: str, text: str, out: Path) -> str:
    text = text.replace(str(out), "OUT")
    if name.endswith((".json", ".sarif")):
        document = json.loads(text)
        _blank_document(document)
        return json.dumps(document, indent=2, sort_keys=False) + "\n"
    return _VERSION.sub("VERSION", text)


def _blank_document(node: object) -> None:
    """Versions, dates and timings blanked in place, wherever they sit."""
    if isinstance(node, dict):
        for key in list(node):
            if key in {"regaudit_version", "generated", "generated_at", "started", "finished", "elapsed",
                       "command_line", "commandLine", "startTimeUtc", "endTimeUtc"} or (
                    key == "version" and isinstance(node[key], str) and node[key][:1].isdigit()
                    and node.get("name") == "regaudit"):
                node[key] = "BLANK"
            else:
                _blank_document(node[key])
    elif isinstance(node, list):
        for item in node:
            _blank_document(item)


def scenario_outputs(scenario: str, out: Path) -> dict[str, str]:
    """Report name -> blanked text, for every report of every command, run on SCENARIO; OUT a scratch directory."""
    texts: dict[str, str] = {}
    where, inputs, allowlist = RUNS[scenario]
    if str(where) == "{out}":
        from benchmarks.scale import required_host_names, write_allowlist, write_squid_log

        where = out / "fleet"
        where.mkdir()
        write_squid_log(where / "access.log", required_host_names(FLEET_HOSTS))
        write_allowlist(where / "allowlist.txt")
    with _inside(where):
        for key, argv in COMMANDS.items():
            words = [w for a in argv for w in (inputs if a == "{inputs}" else [a])]
            result = CliRunner().invoke(main, [w.replace("{out}", str(out)).replace("{allowlist}", allowlist)
                                               for w in words])
            assert result.exception is None or isinstance(result.exception, SystemExit), result.output
            for name in REPORTS[key]:
                texts[name] = _blank(name, (out / name).read_text(encoding="utf-8"), out)
                texts[f"{key}.exit"] = str(result.exit_code)
    return texts


def write_golden() -> None:
    import tempfile

    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory() as scratch:
            for name, text in scenario_outputs(scenario, Path(scratch)).items():
                target = GOLDEN / scenario / name
                target.parent.mkdir(parents=True, exist_ok=True)
                data = text.encode()
                if len(data) > GZIP_OVER:
                    target = target.with_name(name + ".gz")
                    data = gzip.compress(data, mtime=0)
                target.write_bytes(data)


def read_golden(scenario: str) -> dict[str, str]:
    """Report name -> the golden text write_golden stored for SCENARIO."""
    texts = {}
    for path in sorted((GOLDEN / scenario).iterdir()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            texts[path.name[:-3]] = gzip.decompress(data).decode()
        else:
            texts[path.name] = data.decode()
    return texts


if __name__ == "__main__":
    write_golden()
    sys.exit(0)
