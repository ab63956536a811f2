"""The evidence store at a year's scale: ingest of a 1 M-lines/day resolver log, store size, 90-day audit.

    python -m benchmarks.store_bench [--days N] [--lines L] [--names K] [--uniform F] [--no-year] [--work-dir DIR]

1. Generates N daily Zeek dns.log files of L lines (K names, 3,000 by default, picked with a long tail, and F
   of the lookups spread over all K alike; 800 clients; registry hosts among them; each file's times spread
   over its own UTC day) and ingests them one a day, each in
   a fresh `regaudit ingest` process, as a daily cron job would: prints lines/s and each run's peak RSS.
2. Store size: measured after the N real days; unless --no-year the store is then brought to 365 days by
   copying the ingested days' rows to the other days of the year (SQL, dates shifted), so the size and the
   audit time are measured on a year-sized store, not extrapolated (the rows are the real ones, repeated).
3. Times `regaudit audit --store --window 90d` (a fresh process, start-up included) over it.

Running all 365 real days here takes about as many minutes as it ingests; the default is a scaled run
(7 real days, a year of rows by copying), and it says so in its output.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.dnslog_bench import _address, _names, _pick

REPO_ROOT = Path(__file__).resolve().parent.parent
FIRST_DAY = date(2026, 1, 1)
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#open\t{day}-00-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass"
    "\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount"
    "\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"
)


def write_day(path: Path, day: date, lines: int, distinct: int = 3000, uniform: float = 0.0) -> None:
    """One day's log; UNIFORM of the lookups go to any of the DISTINCT names alike (a long tail of names
    seen once or twice a day: telemetry, CDN shards), the rest mostly to a few."""
    rng = random.Random(day.toordinal())
    names = _names(random.Random(1), distinct)  # the same names every day, as in a real company
    ts = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    step = 2 * 86_000 / lines
    with open(path, "w") as out:
        out.write(HEADER.format(day=day.isoformat()))
        chunk: list[str] = []
        for i in range(lines):
            ts += rng.random() * step
            name = names[rng.randrange(len(names))] if uniform and rng.random() < uniform else _pick(rng, names)
            client = f"10.0.{rng.randrange(4)}.{rng.randrange(200)}"
            if rng.random() < 0.5:
                qtype, answers, ttls = "A", f"cdn.{name},{_address(name, rng, '192.0.2')}", "60.000000,30.000000"
            else:
                qtype, answers, ttls = "AAAA", "-", "-"
            chunk.append(f"{ts:.6f}\tC{i:017d}\t{client}\t{rng.randrange(1024, 65535)}\t10.0.0.53\t53\tudp"
                         f"\t{rng.randrange(65536)}\t0.000870\t{name}\t1\tC_INTERNET\t{1 if qtype == 'A' else 28}"
                         f"\t{qtype}\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF\n")
            if len(chunk) >= 20000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def timed_run(args: list[str]) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds, peak RSS MB, result) of one regaudit process. On a shared machine the wall
    time includes waiting for a core; the CPU time (user + system) is the work itself."""
    code = ("import resource, sys\nfrom auditor.cli import main\nsys.argv = ['regaudit', *sys.argv[1:]]\n"
            "try:\n    main()\nfinally:\n"
            "    print('peak-rss-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = next((int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak-rss-kb")), 0)
    return seconds, cpu, peak / 1024, done


def store_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in (store, Path(f"{store}-wal")) if p.exists())


def fill_year(store: Path, real_days: int) -> None:
    """Copy the real days' rows onto the rest of a 365-day year (dates shifted), as one more day's ingest
    would add them (schema 3: day numbers; the once-seen arrays hold times relative to their day)."""
    first = (FIRST_DAY - date(1970, 1, 1)).days
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("BEGIN")
    for day in range(real_days, 365):
        source, target = first + day % real_days, first + day
        shift = (target - source) * 86_400
        conn.execute("INSERT INTO host_days SELECT ?, host, kind, input_id, role, count, answers, api_calls,"
                     " first + ?, last + ?, clients, clients_overflow, sample_line, sample_packet, sample"
                     " FROM host_days WHERE day = ?", (target, shift, shift, source))
        conn.execute("INSERT INTO once_days (day, input_id, entries, hosts, kinds, roles, answers, times, clients,"
                     " lines) SELECT ?, input_id, entries, hosts, kinds, roles, answers, times, clients, lines"
                     " FROM once_days WHERE day = ?", (target, source))
        conn.execute("INSERT INTO edges SELECT ?, from_host, to_host, via, input_id, confidence, count, first + ?,"
                     " last + ?, clients, details, samples FROM edges WHERE day = ?", (target, shift, shift, source))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=7, help="real days generated and ingested")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per day")
    parser.add_argument("--names", type=int, default=3000, help="distinct names the resolver sees")
    parser.add_argument("--uniform", type=float, default=0.0, help="share of lookups spread over all names")
    parser.add_argument("--no-year", action="store_true", help="do not copy the rows to a full year")
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="regaudit-store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "regaudit.db"
    allowlist = work / "allowlist.txt"
    allowlist.write_text("ghcr.io\nquay.io\nmcr.microsoft.com\ngcr.io\nregistry-1.docker.io\n", encoding="utf-8")
    total_lines = 0
    total_seconds = 0.0
    total_cpu = 0.0
    peaks: list[float] = []
    print(f"{args.days} real day(s) of {args.lines:,} lines, {args.names:,} names ({args.uniform:.0%} of lookups "
          f"uniform over them), Zeek dns.log, in {work}")
    for n in range(args.days):
        day = FIRST_DAY + timedelta(days=n)
        log = work / f"dns.{day.isoformat()}.log"
        write_day(log, day, args.lines, args.names, args.uniform)
        seconds, cpu, peak, done = timed_run(["ingest", str(log), "--store", str(store)])
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        total_lines += args.lines
        total_seconds += seconds
        total_cpu += cpu
        peaks.append(peak)
        print(f"  {day}  {args.lines / seconds:>10,.0f} lines/s wall, {args.lines / cpu:>10,.0f} per CPU s  "
              f"peak RSS {peak:6.1f} MB  "
              f"store {store_bytes(store) / 1e6:7.1f} MB  ({done.stdout.strip()[:60]})")
        log.unlink()
    per_day = store_bytes(store) / args.days
    print(f"ingest: {total_lines / total_seconds:,.0f} lines/s wall, {total_lines / total_cpu:,.0f} lines per CPU "
          "second (whole process, start-up included); "
          f"peak RSS max {max(peaks):.1f} MB; store {store_bytes(store) / 1e6:.1f} MB after {args.days} days "
          f"({per_day / 1e6:.2f} MB/day, {per_day * 365 / 1e9:.2f} GB/year at that rate)")
    days_held = args.days
    if not args.no_year and args.days < 365:
        fill_year(store, args.days)
        days_held = 365
        print(f"store brought to 365 days by copying the {args.days} real days' rows: "
              f"{store_bytes(store) / 1e6:.1f} MB")
    as_of = (FIRST_DAY + timedelta(days=days_held - 1)).isoformat()
    seconds, cpu, peak, done = timed_run(["audit", "--store", str(store), "--allowlist", str(allowlist),
                                          "--window", "90d", "--as-of", as_of, "--json", str(work / "audit.json")])
    if done.returncode not in (0, 1):
        print(done.stderr, file=sys.stderr)
        return 1
    print(f"90-day audit over {days_held} days: {seconds:.2f} s wall, {cpu:.2f} s CPU (fresh process, start-up "
          f"included), peak RSS {peak:.1f} MB")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores here)")
    print(f"children's peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
