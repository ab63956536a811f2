"""Start-up cost: what `python -X importtime` says the commands spend importing.

    python -m benchmarks.startup_imports [--runs 7]

For `regaudit --version` and for `regaudit discover` of one Dockerfile it prints the total import time
(the sum of the top-level modules' cumulative times, as `-X importtime` reports them on stderr), the share
that `python -c pass` already spends (site, encodings), and the heaviest top-level imports. The best of
RUNS is shown (a shared machine's noise only adds time). The issue's target is under 150 ms in total.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(argv: list[str], cwd: Path) -> tuple[int, dict[str, int]]:
    """(total µs, top-level module -> cumulative µs) of one run of ARGV under -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    top: dict[str, int] = {}
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match and len(match.group(3)) == 1:  # one space: imported by the program itself
            top[match.group(4)] = top.get(match.group(4), 0) + int(match.group(2))
        elif match:
            top.setdefault(f"({match.group(4)})", 0)  # nested: counted in its importer's time, named for the check
    return sum(top.values()), top


def best(argv: list[str], cwd: Path, runs: int) -> tuple[int, dict[str, int]]:
    return min((import_times(argv, cwd) for _ in range(runs)), key=lambda result: result[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "Dockerfile").write_text("FROM ghcr.io/acme/base:1.2\nRUN true\n")
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores (timings on a busy machine are inflated; the "
              "module counts are not)")
        baseline, _ = best(["-c", "pass"], work, args.runs)
        print(f"python -c pass: {baseline / 1000:.1f} ms importing (interpreter start-up, included below)")
        for label, argv in (("regaudit --version", ["-m", "auditor", "--version"]),
                            ("regaudit discover Dockerfile", ["-m", "auditor", "discover", "Dockerfile"])):
            total, top = best(argv, work, args.runs)
            heaviest = sorted(((n, t) for n, t in top.items() if t), key=lambda item: -item[1])[:6]
            verdict = "under" if total < 150_000 else "OVER"
            print(f"{label}: {total / 1000:.1f} ms importing ({verdict} the 150 ms target; "
                  f"{(total - baseline) / 1000:.1f} ms beyond python -c pass)")
            imported = len(top)
            print(f"    modules imported: {imported}")
            print("    heaviest: " + ", ".join(f"{name} {micros / 1000:.1f} ms" for name, micros in heaviest))
            loaded = [name for name in ("pandas", "polars", "numpy", "jinja2", "scapy", "dpkt")
                      if any(module.strip("()") == name or module.strip("()").startswith(name + ".")
                             for module in top)]
            print(f"    heavy modules loaded: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
