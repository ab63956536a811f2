"""Scaling benchmark: how discover, propose and audit grow with the number of required hosts.

    python -m benchmarks.scale [--sizes 1000,10000,100000] [--observed 1000000] [--skip-observed]
                               [--commands discover,propose,audit] [--keep]

For each size N it writes a Squid access.log naming N distinct required hosts (a realistic fleet mix: half
ECR registries across accounts and regions, which all chain to their region's shared layer bucket, half
self-hosted registries seen with /v2/ requests, each under one of a few hundred company domains) and an
allowlist of a few dozen entries. Each command (`discover --format json`, `propose --format json`, `audit`
with all five reports) runs in a fresh interpreter through the real CLI; the wall time and that process's
own peak RSS and CPU time (os.wait4's rusage) are printed, then the exponent b of a least-squares fit
CPU time ~ a * N^b over the sizes (1.0 is linear; a regression shows as a larger b). Start-up (about a
second of imports) is part of every figure, so small sizes flatten the fit. The project's bytecode is written
first (benchmarks/bytecode.py), as an installed package has it: compiling ~150 modules on every run, which a
shell with PYTHONDONTWRITEBYTECODE set would do, is not what a user's runs cost.

`--captures` (on unless --skip-captures) merges the public capture corpus (/work/shared/corpora/pcaps, with
mergecap) repeated into a 1x mix and a 4x mix and runs `discover` on each: peak RSS must stay flat, not
grow with the file (a memory leak shows as a 4x mix taking more memory than the 1x one).

`--observed M` adds a resolver log of M distinct observed names (none of them registry hosts) run through
`discover`: the cost of a store full of hosts that are not required. Inputs go under benchmarks/work/scale.
The figures depend on the machine and its load: quote them with both.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bytecode import compile_project

WORK_DIR = Path(__file__).resolve().parent / "work" / "scale"
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-south-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1", "ca-central-1"]
COMMANDS = ("discover", "propose", "audit")


def required_host_names(count: int, seed: int = 18) -> list[str]:
    """COUNT distinct required hosts: ECR registries (account x region) and self-hosted /v2/ registries."""
    rng = random.Random(seed)
    hosts: list[str] = []
    ecr = count // 2
    accounts = max(1, ecr // len(REGIONS) + 1)
    for index in range(ecr):
        account = 100_000_000_000 + (index // len(REGIONS)) * 7919 % (accounts * 7919)
        hosts.append(f"{account:012d}.dkr.ecr.{REGIONS[index % len(REGIONS)]}.amazonaws.com")
    domains = [f"corp{d}.example" for d in range(max(1, min(300, count // 50)))]
    for index in range(count - ecr):
        hosts.append(f"registry{index}.team{rng.randrange(40)}.{domains[index % len(domains)]}")
    assert len(set(hosts)) == count, "generated hosts must be distinct"
    return hosts


def write_squid_log(path: Path, hosts: list[str]) -> None:
    """Two requests per host (a manifest, a blob) from a few hundred clients, one second apart."""
    start = 1_790_000_000.0
    with path.open("w") as out:
        for index, host in enumerate(hosts):
            client = f"10.{index % 7}.{index // 250 % 250}.{index % 250}"
            moment = start + index
            out.write(f"{moment:.3f}    120 {client} TCP_MISS/200 2345 GET https://{host}/v2/app/manifests/1.0 "
                      f"- HIER_DIRECT/{host} application/json\n")
            out.write(f"{moment + 0.2:.3f}    800 {client} TCP_MISS/200 904512 GET https://{host}/v2/app/blobs/"
                      f"sha256:{index:064x} - HIER_DIRECT/{host} application/octet-stream\n")


def write_allowlist(path: Path) -> None:
    """Entries an organization might start from: public registries, one over-broad shared domain (which
    covers every ECR host), a self-hosted one; the company registries are missing (grouped by fix)."""
    entries = ["docker.io", "ghcr.io", "quay.io", "amazonaws.com", "gcr.io", "mcr.microsoft.com",
               "registry.gitlab.com", "harbor.internal.test"]
    path.write_text("\n".join(entries) + "\n")


def write_resolver_log(path: Path, count: int) -> None:
    """A dnsmasq log of COUNT distinct names that no registry uses (a random-subdomain flood)."""
    with path.open("w") as out:
        for index in range(count):
            second = index % 60
            out.write(f"Dec  1 10:{index // 60 % 60:02d}:{second:02d} dnsmasq[812]: query[A] "
                      f"h{index:x}.cdn{index % 97}.example.net from 10.0.{index % 200}.{index % 250}\n")


CAPTURE_CORPUS = Path("/work/shared/corpora/pcaps")


def write_capture_mix(path: Path, repeats: int) -> bool:
    """The corpus's captures, each REPEATS times, one after another in one pcapng (mergecap -a keeps
    every link type as its own interface). False when the corpus or mergecap is missing."""
    mergecap = shutil.which("mergecap")
    captures = sorted(p for p in CAPTURE_CORPUS.rglob("*") if p.is_file() and p.suffix in {".pcap", ".pcapng", ".cap"})
    if mergecap is None or not captures:
        return False
    once = path.with_suffix(".once.pcapng")
    subprocess.run([mergecap, "-a", "-F", "pcapng", "-w", str(once), *map(str, captures)], check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run([mergecap, "-a", "-F", "pcapng", "-w", str(path), *[str(once)] * repeats], check=True,
                   stderr=subprocess.DEVNULL)
    once.unlink()
    return True


def run_measured(argv: list[str]) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS in MB, exit status, CPU seconds) of ARGV run in a fresh process. CPU time
    (user + system) is what to compare on a loaded machine: wall time also counts waiting for a core."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stderr is not None
    process.stderr.read()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime


def command_argv(command: str, log: Path, out_dir: Path) -> list[str]:
    base = [sys.executable, "-m", "auditor", command, str(log)]
    if command == "discover":
        return [*base, "--format", "json", "-o", str(out_dir / "discover.json")]
    if command == "propose":
        return [*base, "--format", "json", "-o", str(out_dir / "proposal.json")]
    return [*base, "--allowlist", str(out_dir / "allowlist.txt"), "--json", str(out_dir / "audit.json"),
            "--html", str(out_dir / "audit.html"), "--csv", str(out_dir / "audit.csv"),
            "--sarif", str(out_dir / "audit.sarif"), "--md", str(out_dir / "audit.md")]


def fitted_exponent(sizes: list[int], values: list[float]) -> float | None:
    """b of the least-squares fit VALUES ~ a * SIZES^b in log-log space (None with fewer than two points)."""
    points = [(math.log(n), math.log(max(v, 1e-6))) for n, v in zip(sizes, values, strict=True)]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else None


def _output_sizes(out_dir: Path, command: str) -> str:
    names = {"discover": ["discover.json"], "propose": ["proposal.json"],
             "audit": ["audit.json", "audit.html", "audit.csv", "audit.sarif", "audit.md"]}[command]
    parts = []
    for name in names:
        path = out_dir / name
        if path.exists():
            parts.append(f"{name.split('.')[-1]} {path.stat().st_size / 1e6:.1f} MB")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="required-host counts (default %(default)s)")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="commands to run (default %(default)s)")
    parser.add_argument("--observed", type=int, default=1_000_000,
                        help="distinct observed (not required) names for the discover run (default %(default)s)")
    parser.add_argument("--skip-observed", action="store_true", help="skip the observed-hosts run")
    parser.add_argument("--skip-captures", action="store_true", help="skip the public-capture mix at 1x and 4x")
    parser.add_argument("--capture-repeats", type=int, default=25,
                        help="copies of the capture corpus in the 1x mix (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs and reports")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    commands = [c for c in args.commands.split(",") if c]
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(compile_project())
    figures: dict[str, list[tuple[int, float, float]]] = {c: [] for c in commands}
    for size in sizes:
        out_dir = WORK_DIR / f"n{size}"
        out_dir.mkdir(parents=True, exist_ok=True)
        log = out_dir / "access.log"
        write_squid_log(log, required_host_names(size))
        write_allowlist(out_dir / "allowlist.txt")
        print(f"== {size:,} required hosts ({log.stat().st_size / 1e6:.1f} MB Squid log)")
        for command in commands:
            seconds, peak, status, cpu = run_measured(command_argv(command, log, out_dir))
            figures[command].append((size, cpu, peak))
            print(f"  {command:<9} {seconds:8.2f} s wall {cpu:8.2f} s CPU  {peak:8.1f} MB peak RSS  exit {status}  "
                  f"[{_output_sizes(out_dir, command)}]", flush=True)
    print("== fitted exponents (CPU time ~ N^b, peak RSS ~ N^b)")
    for command, rows in figures.items():
        time_b = fitted_exponent([r[0] for r in rows], [r[1] for r in rows])
        rss_b = fitted_exponent([r[0] for r in rows], [r[2] for r in rows])
        if time_b is not None and rss_b is not None:
            print(f"  {command:<9} time b={time_b:.2f}  RSS b={rss_b:.2f}")
    if not args.skip_observed and args.observed:
        log = WORK_DIR / "observed.log"
        write_resolver_log(log, args.observed)
        seconds, peak, status, cpu = run_measured([sys.executable, "-m", "auditor", "discover", str(log), "--format",
                                                   "json", "-o", str(WORK_DIR / "observed.json")])
        print(f"== {args.observed:,} observed hosts ({log.stat().st_size / 1e6:.1f} MB dnsmasq log)")
        print(f"  discover  {seconds:8.2f} s wall {cpu:8.2f} s CPU  {peak:8.1f} MB peak RSS  exit {status}  "
              f"[json {(WORK_DIR / 'observed.json').stat().st_size / 1e6:.1f} MB]")
    if not args.skip_captures:
        print("== public-capture mix (discover --format json)")
        for factor in (1, 4):
            mix = WORK_DIR / f"mix{factor}x.pcapng"
            if not write_capture_mix(mix, args.capture_repeats * factor):
                print(f"  skipped: no captures under {CAPTURE_CORPUS} or no mergecap")
                break
            size = mix.stat().st_size / 1e6
            seconds, peak, status, cpu = run_measured([sys.executable, "-m", "auditor", "discover", str(mix),
                                                       "--format", "json", "-o", str(WORK_DIR / f"mix{factor}x.json")])
            print(f"  {factor}x {size:7.1f} MB  {seconds:7.2f} s wall {cpu:7.2f} s CPU  {size / cpu:6.1f} MB/CPU-s  "
                  f"{peak:7.1f} MB peak RSS  "
                  f"exit {status}", flush=True)
            mix.unlink()
    if not args.keep:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
