"""The coverage-guided engine of the fuzz campaign: libFuzzer through atheris, one child process per turn.

    python -m benchmarks.fuzz --engine atheris ...   (or --engine auto, which picks it where atheris imports)

Each turn runs `python -m benchmarks.fuzz_atheris KIND CORPUS ARTIFACTS -- LIBFUZZER-FLAGS` in a child: the
child instruments the project's modules (atheris.instrument_all after importing the kind's parser, the
discover renderers and the audit), then feeds libFuzzer's inputs through the same entry point as the mutation
engine (benchmarks/fuzz_target.run_input). A failure signature from run_input is raised, so libFuzzer records
the input as a crash. libFuzzer's own watch does the rest: `-timeout` (a hang), `-rss_limit_mb` (a memory-limit
kill); the child stops at each (writing its artifact) and the turn starts it again until its time is up. The corpus
(seeded from the fixtures, grown by coverage) persists under benchmarks/work/fuzz/atheris/<kind>/ between turns;
crash inputs are re-run through run_input for their signature, minimized by the campaign's minimizer and kept as
fixtures like the mutation engine's.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "work" / "fuzz" / "atheris"
_RUNS = re.compile(rb"#(\d+)\s")


class FuzzFailure(Exception):
    """What run_input reported: libFuzzer sees an uncaught exception and keeps the input as a crash."""


def run_campaign(kind: str, seeds: list[tuple[str, bytes]], seconds: float, hang_seconds: float, rss_mb: int
                 ) -> tuple[int, list[bytes], int, int, str]:
    """(runs, crash inputs, hangs, memory-limit kills, file name) of one turn of SECONDS on KIND."""
    corpus = WORK / kind / "corpus"
    artifacts = WORK / kind / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    for _name, data in seeds:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    name = seeds[0][0] if seeds else "input"  # detection reads names: every input is written under a seed's
    before = {p.name for p in artifacts.iterdir()}
    runs = 0
    end = time.monotonic() + seconds
    # libFuzzer's fork mode re-executes argv[0], which a Python module is not: the child stops at its first
    # crash, hang or memory-limit kill (writing the artifact), and the turn starts it again until time is up
    while (left := end - time.monotonic()) >= 1:
        flags = [f"-max_total_time={int(left)}", f"-timeout={max(1, int(hang_seconds))}", f"-rss_limit_mb={rss_mb}",
                 "-max_len=1048576", f"-artifact_prefix={artifacts}/", "-print_final_stats=1"]
        argv = [sys.executable, "-m", "benchmarks.fuzz_atheris", kind, name, "--", *flags, str(corpus)]
        with tempfile.TemporaryFile() as log:
            try:
                subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=left + 300, check=False)
            except subprocess.TimeoutExpired:
                # libFuzzer did not stop itself (a start-up slowed by load, not an input: inputs are bounded
                # by -timeout): the child is killed and the turn ends with the runs it made
                print(f"  atheris {kind}: the turn's child overran its time and was stopped", flush=True)
                timed_out = True
            else:
                timed_out = False
            log.seek(0)
            output = log.read()
        runs += max((int(m.group(1)) for m in _RUNS.finditer(output)), default=0)
        if timed_out or b"Done " in output or b"fuzzed for" in output:
            break  # the time ran out inside the child
    new = sorted(p for p in artifacts.iterdir() if p.name not in before)
    crashes = [p.read_bytes() for p in new if p.name.startswith("crash-")]
    hangs = sum(1 for p in new if p.name.startswith(("timeout-", "slow-unit-")))
    memkills = sum(1 for p in new if p.name.startswith("oom-"))
    return runs, crashes, hangs, memkills, name


def _child(kind: str, name: str, libfuzzer_argv: list[str]) -> None:
    import atheris

    # only the project's own modules are instrumented: instrument_all() over pandas, numpy and the rest took
    # 26-35 s per turn on this machine (6 s this way), so a turn under load never reached its first input
    with atheris.instrument_imports(include=["auditor", "parsers", "reports", "benchmarks.fuzz_target"]):
        from auditor.pipeline.audit_run import renderers
        from benchmarks.fuzz_target import run_input
        from parsers import parser_named
        from reports.discover import render_json  # noqa: F401  (imported to be instrumented)

        renderers()  # the report modules load lazily: load them here, under instrumentation
        if kind not in ("allowlist", "diff"):
            parser_named(kind)  # the registry imports the kind's parser module: instrument it too
    scratch = Path(tempfile.mkdtemp(prefix="regaudit-atheris-"))
    path = scratch / name

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        failure = run_input(kind, path)
        if failure:
            raise FuzzFailure(failure)

    atheris.Setup([sys.argv[0], *libfuzzer_argv], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    split = sys.argv.index("--")
    _child(sys.argv[1], sys.argv[2], sys.argv[split + 1:])
