"""Load check: 5,000 mixed small files audited with every report, and a 1 GB capture, each run by the CLI in its own
process; time and that process's peak RSS printed.

    python -m benchmarks.load_bench [--files 5000] [--capture-mb 1024] [--keep]

The small files are copies of the project's fixtures (Dockerfiles, compose, Kubernetes, CI, DNS logs, daemon
configs ...) under distinct directories; the capture is benchmarks/capture_bench.write_capture grown to size.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import capture_bench

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / "work" / "load"
FIXTURE_DIRS = ["repo", "logs", "machine"]
ALLOWLIST = ROOT / "tests" / "fixtures" / "audit" / "clean" / "allowlist.txt"


def small_tree(target: Path, count: int) -> int:
    seeds = [p for d in FIXTURE_DIRS for p in sorted((ROOT / "tests" / "fixtures" / d).rglob("*"))
             if p.is_file() and p.stat().st_size < 64 * 1024]
    for n in range(count):
        seed = seeds[n % len(seeds)]
        folder = target / f"d{n // 100:03d}" / f"f{n:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, folder / seed.name)
    return len(seeds)


def timed_cli(args: list[str], out: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS KiB of the CLI process (VmHWM), exit code)."""
    probe = ("import runpy,sys,atexit\n"
             "def peak():\n"
             "    hwm=next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
             f"    open({str(out)!r},'w').write(hwm)\n"
             "atexit.register(peak)\n"
             "sys.argv=['regaudit',*sys.argv[1:]]\n"
             "runpy.run_module('auditor.cli', run_name='__main__')\n")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    return seconds, int(out.read_text() or 0) if out.exists() else 0, result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--capture-mb", type=int, default=1024)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    tree, reports = WORK / "tree", WORK / "reports"
    shutil.rmtree(tree, ignore_errors=True)
    seeds = small_tree(tree, args.files)
    reports.mkdir(exist_ok=True)
    outputs = [w for name in ("html", "json", "csv", "sarif", "md") for w in (f"--{name}", str(reports / f"r.{name}"))]
    seconds, peak, code = timed_cli(["audit", str(tree), "--allowlist", str(ALLOWLIST), *outputs], WORK / "peak1")
    print(f"{args.files:,} small files ({seeds} distinct fixtures), audit with every report: {seconds:.1f} s, "
          f"peak RSS {peak / 1024:.0f} MiB, exit {code}")
    capture = WORK / "big.pcap"
    if not capture.exists() or capture.stat().st_size < args.capture_mb * 1024 * 1024:
        capture_bench.write_capture(capture, 1_000_000)
        unit = capture.read_bytes()[24:]  # one generated capture's packets, repeated to size (header once)
        with capture.open("ab") as out:
            while capture.stat().st_size < args.capture_mb * 1024 * 1024:
                out.write(unit)
    size_mb = capture.stat().st_size / 1024 / 1024
    seconds, peak, code = timed_cli(["audit", str(capture), "--allowlist", str(ALLOWLIST), *outputs], WORK / "peak2")
    print(f"capture of {size_mb:,.0f} MiB, audit with every report: {seconds:.1f} s, peak RSS {peak / 1024:.0f} MiB, "
          f"exit {code}")
    if not args.keep:
        shutil.rmtree(tree, ignore_errors=True)
        capture.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
