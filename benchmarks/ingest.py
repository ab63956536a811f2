"""Ingest benchmark: packet captures (benchmarks/capture_bench.py) and DNS logs (benchmarks/dnslog_bench.py).

    python -m benchmarks.ingest [--packets N] [--lines N] [--no-tshark] [--keep]

Generated inputs go under benchmarks/work/ (git-ignored). Each parse runs in its own subprocess so the
peak RSS printed is that parse's own. The figures depend on the machine and its load: quote them with both.

End to end: the real command line (`python -m auditor discover CAPTURE --format json`, interpreter start-up,
imports, detection, parsing, folding and rendering included) is timed on the same capture as tshark, best of
--e2e-runs, wall and CPU (user + system of the process, from wait4), with the load average beside them. The
issue's target is 400 MB/s end to end on the 271 MB capture (the default --packets).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import capture_bench
from benchmarks.bytecode import compile_project

WORK_DIR = Path(__file__).resolve().parent / "work"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=capture_bench.DEFAULT_PACKETS,
                        help="frames in the generated capture (default %(default)s)")
    parser.add_argument("--lines", type=int, default=None, help="lines per generated DNS log (dnslog_bench default)")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark comparison")
    parser.add_argument("--keep", action="store_true", help="keep the generated capture for the next run")
    parser.add_argument("--e2e-runs", type=int, default=3, help="runs of the real CLI, best shown (default 3)")
    args = parser.parse_args(argv)

    print("== packet capture")
    figures = capture_bench.run(WORK_DIR, args.packets, not args.no_tshark)
    print(capture_bench.report(figures))
    print("== end to end: the real CLI, interpreter start-up included")
    for scenario in ("mixed", "dns_only"):
        print(end_to_end_report(figures[scenario], args.e2e_runs))
    if not args.keep:
        for scenario in ("mixed", "dns_only"):
            Path(figures[scenario]["file"]).unlink(missing_ok=True)

    if importlib.util.find_spec("benchmarks.dnslog_bench") is None:
        print("== DNS logs: benchmarks/dnslog_bench.py not present")
        return 0
    from benchmarks import dnslog_bench

    print("== DNS logs")
    if args.lines is None:
        dnslog_bench.run(WORK_DIR / "dnslog")
    else:
        dnslog_bench.run(WORK_DIR / "dnslog", args.lines)
    return 0


def run_cli(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one run of `python ARGV`, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], cwd=capture_bench.REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def end_to_end_report(figures: dict, runs: int) -> str:
    """The CLI's best of RUNS on FIGURES' capture, against the tshark run capture_bench made of the same file."""
    path = figures["file"]
    megabytes = figures["megabytes"]
    load = os.getloadavg()[0]
    compiled = compile_project()
    timings = [run_cli(["-m", "auditor", "discover", path, "--format", "json", "--no-progress"])
               for _ in range(runs)]
    wall, cpu, status = min(timings)
    baseline = min(run_cli(["-c", "pass"])[:2] for _ in range(runs))
    lines = [f"{Path(path).name} ({megabytes:.0f} MB), load average {load:.1f} on {os.cpu_count()} cores, "
             f"best of {runs}; {compiled}:",
             f"  regaudit discover (CLI): {wall:.2f} s wall, {cpu:.2f} s CPU, {megabytes / wall:.0f} MB/s end to end "
             f"({megabytes / cpu:.0f} MB per CPU second), exit {status}; python -c pass: {baseline[0] * 1000:.0f} ms"]
    if "tshark" in figures:
        theirs = figures["tshark"]
        target = "meets" if megabytes / wall >= 400 else "is UNDER"
        lines.append(f"  tshark: {theirs['seconds']:.2f} s wall, {theirs['cpu_seconds']:.2f} s CPU: regaudit end to "
                     f"end is {theirs['seconds'] / wall:.1f}x tshark (wall), {theirs['cpu_seconds'] / cpu:.1f}x (CPU); "
                     f"the 400 MB/s target: {target}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
