"""Throughput of the DNS-log and blocked-attempt parsers on generated logs.

Writes logs of LINES lines each (Zeek dns.log TSV, dnsmasq/Pi-hole log, a Docker retry storm of blocked
pulls, a Squid access.log), then parses each in a fresh subprocess (so the peak RSS is that parse's
own) and prints lines/s, MB/s and peak RSS. The parsers' targets: >= 1,000,000 lines/s for Zeek TSV and
dnsmasq on one core, peak RSS < 300 MB whatever the size.

    python -m benchmarks.dnslog_bench [--lines N] [--work-dir DIR]

`run(work_dir)` does the same and returns the figures as a dict (benchmarks/ingest.py calls it).
lines/s and MB/s time the parser alone (reading, decompressing, parsing, folding); the time the
EvidenceStore spends folding the records is measured apart and shown as the end-to-end figure.
The machine's load matters: on a shared machine run it when it is otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

DEFAULT_LINES = 1_000_000
REPO_ROOT = Path(__file__).resolve().parent.parent

# Realistic shape: a few hundred clients, a few thousand names with a long tail, registry hosts among them.
_HOSTS = [
    "registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com", "ghcr.io",
    "pkg-containers.githubusercontent.com", "mcr.microsoft.com", "westus.data.mcr.microsoft.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
    "quay.io", "cdn01.quay.io", "gcr.io", "storage.googleapis.com", "www.google.com", "github.com",
    "api.github.com", "login.microsoftonline.com", "pypi.org", "files.pythonhosted.org", "deb.debian.org",
]


def _names(rng: random.Random, count: int) -> list[str]:
    names = list(_HOSTS)
    while len(names) < count:
        names.append(f"host{len(names)}.svc{rng.randrange(50)}.example.com")
    return names


def _address(name: str, rng: random.Random, prefix: str) -> str:
    # a name resolves to one of a few stable addresses, as in real traffic (round-robin over 1-4 records)
    return f"{prefix}.{(zlib.crc32(name.encode()) + rng.randrange(1 + len(name) % 4)) % 250}"


def _pick(rng: random.Random, names: list[str]) -> str:
    # a skewed choice: most lookups go to a few names, as in a real resolver
    return names[min(int(rng.paretovariate(1.2)) - 1, len(names) - 1)]


def write_zeek(path: Path, lines: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    names = _names(rng, 3000)
    header = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
        "#open\t2024-05-01-10-00-00\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass"
        "\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount"
        "\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"
    )
    ts = 1714557600.0
    with open(path, "w") as out:
        out.write(header)
        chunk: list[str] = []
        for i in range(lines - 8):
            ts += rng.random() * 0.01
            name = _pick(rng, names)
            client = f"10.0.{rng.randrange(4)}.{rng.randrange(200)}"
            if rng.random() < 0.5:
                qtype, answers, ttls = "A", f"cdn.{name},{_address(name, rng, '192.0.2')}", "60.000000,30.000000"
            else:
                qtype, answers, ttls = "AAAA", "-", "-"
            chunk.append(
                f"{ts:.6f}\tC{i:017d}\t{client}\t{rng.randrange(1024, 65535)}\t10.0.0.53\t53\tudp"
                f"\t{rng.randrange(65536)}\t0.000870\t{name}\t1\tC_INTERNET\t{1 if qtype == 'A' else 28}\t{qtype}"
                f"\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF\n")
            if len(chunk) >= 10000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
        out.write("#close\t2024-05-01-11-00-00\n")


def write_dnsmasq(path: Path, lines: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    names = _names(rng, 3000)
    written = 0
    second = 0
    with open(path, "w") as out:
        chunk: list[str] = []
        while written < lines:
            second += rng.randrange(2)
            stamp = (f"May {1 + second // 86400 % 28:2d} {second // 3600 % 24:02d}:{second // 60 % 60:02d}"
                     f":{second % 60:02d}")
            prefix = f"{stamp} dnsmasq[1234]: "
            name = _pick(rng, names)
            client = f"192.168.{rng.randrange(2)}.{rng.randrange(100)}"
            qtype = "A" if rng.random() < 0.6 else "AAAA"
            group = [f"{prefix}query[{qtype}] {name} from {client}"]
            roll = rng.random()
            if roll < 0.05:
                group.append(f"{prefix}gravity blocked {name} is 0.0.0.0")
            elif roll < 0.5:
                group.append(f"{prefix}cached {name} is {_address(name, rng, '192.0.2')}")
            else:
                group += [f"{prefix}forwarded {name} to 1.1.1.1", f"{prefix}reply {name} is <CNAME>",
                          f"{prefix}reply edge.{name} is {_address(name, rng, '198.51.100')}"]
            chunk.extend(group)
            written += len(group)
            if len(chunk) >= 10000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        out.write("\n".join(chunk) + "\n")


def write_docker_storm(path: Path, lines: int, seed: int = 3) -> None:
    """A CI job retrying a blocked pull: one blocked host, a million identical errors with time stamps."""
    rng = random.Random(seed)
    with open(path, "w") as out:
        chunk: list[str] = []
        for i in range(lines):
            seconds = i // 100
            stamp = (f"2024-05-01T{10 + seconds // 3600 % 10:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
                     f".{rng.randrange(10**7):07d}Z")
            if i % 4 == 0:
                chunk.append(f"{stamp} Error response from daemon: registry access to ghcr.io is not allowed")
            else:
                chunk.append(f"{stamp} Retrying in {i % 7} seconds")
            if len(chunk) >= 10000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        out.write("\n".join(chunk) + "\n")


def write_squid(path: Path, lines: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    names = _names(rng, 2000)
    ts = 1714557600.0
    with open(path, "w") as out:
        chunk: list[str] = []
        for _ in range(lines):
            ts += rng.random() * 0.01
            name = _pick(rng, names)
            if rng.random() < 0.2:
                chunk.append(f"{ts:.3f}     12 10.1.0.{rng.randrange(50)} TCP_DENIED/403 3617 CONNECT {name}:443 - "
                             "HIER_NONE/- text/html")
            else:
                chunk.append(f"{ts:.3f}    154 10.1.0.{rng.randrange(50)} TCP_TUNNEL/200 5120 CONNECT {name}:443 - "
                             f"HIER_DIRECT/{name} -")
            if len(chunk) >= 10000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        out.write("\n".join(chunk) + "\n")


# parser module, generator, file name
_CASES = (
    ("parsers.logs.dns.zeek", write_zeek, "dns.log"),
    ("parsers.logs.dns.dnsmasq", write_dnsmasq, "pihole.log"),
    ("parsers.logs.docker_log", write_docker_storm, "ci-job.log"),
    ("parsers.logs.squid", write_squid, "access.log"),
)


def measure(module_name: str, path: Path) -> dict[str, object]:
    """Parse PATH with MODULE in this process; the figures (run in a fresh subprocess by `run`).

    The process is pinned to one core first (the targets are per core; polars, which the Zeek fast path
    uses, sizes its thread pool from the cores it may use). Modules are imported before the clock starts,
    polars included: a fixed start-up cost, reported apart as `import_seconds`, not throughput. The parse
    runs under `bulk_parsing()`, as `regaudit discover` runs it."""

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import importlib
    import resource
    import time

    clock = time.perf_counter
    importing = clock()
    import polars  # noqa: F401  (the Zeek fast path imports it on its first segment)

    from auditor.core.evidence import EvidenceStore
    from parsers.common.inputs import InputFile, ParseContext, bulk_parsing
    from parsers.logs.line_reader import LineStats

    module = importlib.import_module(module_name)
    imported = clock() - importing
    inp = InputFile.from_path(path)
    detected = module.detect(inp)
    stats = LineStats()
    store = EvidenceStore()
    records = 0
    folding = folding_cpu = 0.0
    cpu = time.process_time  # beside wall time: the machine is shared, CPU time is what the parser costs
    with bulk_parsing():
        started, started_cpu = clock(), cpu()
        for record in module.scan(inp, ParseContext(), stats):
            records += 1
            before, before_cpu = clock(), cpu()
            store.add(record)
            folding += clock() - before
            folding_cpu += cpu() - before_cpu
        elapsed, elapsed_cpu = clock() - started, cpu() - started_cpu
    parsing = elapsed - folding
    parsing_cpu = elapsed_cpu - folding_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "parser": module.NAME, "detected": detected, "lines": stats.total, "parsed": stats.parsed,
        "ignored": sum(stats.ignored.values()), "errors": stats.errors, "accounted": stats.accounted,
        "records": records, "hosts": len(store.activity), "blocked": store.blocked_total,
        "seconds": round(parsing, 3), "lines_per_s": round(stats.total / parsing),
        "cpu_seconds": round(parsing_cpu, 3), "lines_per_cpu_s": round(stats.total / parsing_cpu),
        "mb_per_s": round(path.stat().st_size / parsing / 1e6, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
        "with_store_seconds": round(elapsed, 3), "with_store_lines_per_s": round(stats.total / elapsed),
        "bytes": path.stat().st_size, "import_seconds": round(imported, 3),
    }


def run(work_dir: Path, lines: int = DEFAULT_LINES, only: list[str] | None = None) -> dict[str, object]:
    """Generate the logs under WORK_DIR, parse each in a subprocess, print and return the figures.
    ONLY: the parsers (by NAME, e.g. squid) to run, all if None."""
    work_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    for module_name, write, file_name in _CASES:
        if only and module_name.rsplit(".", 1)[1] not in only:
            continue
        path = work_dir / file_name
        write(path, lines)
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.dnslog_bench", "--measure", module_name, str(path)],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            results[module_name] = {"error": completed.stderr.strip()[-2000:]}
            print(f"{module_name}: FAILED\n{completed.stderr}", file=sys.stderr)
            continue
        figures = json.loads(completed.stdout)
        results[figures["parser"]] = figures
        print(f"{figures['parser']:<12} {figures['lines']:>10,} lines {figures['seconds']:>7.2f} s "
              f"{figures['lines_per_s']:>12,} lines/s {figures['lines_per_cpu_s']:>12,} lines/CPU-s "
              f"{figures['mb_per_s']:>7.1f} MB/s "
              f"peak RSS {figures['peak_rss_mb']:>6.1f} MB  records {figures['records']:,} "
              f"(+EvidenceStore: {figures['with_store_lines_per_s']:,} lines/s) "
              f"(accounted {figures['accounted']:,}, errors {figures['errors']:,})")
        path.unlink()
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=DEFAULT_LINES)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--only", action="append", help="run only this parser (zeek, dnsmasq, docker_log, squid)")
    parser.add_argument("--measure", nargs=2, metavar=("MODULE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    if args.work_dir:
        run(args.work_dir, args.lines, args.only)
    else:
        with tempfile.TemporaryDirectory(prefix="regaudit-dnsbench-") as tmp:
            run(Path(tmp), args.lines, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
