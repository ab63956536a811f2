"""A year of a long-tailed resolver log through the evidence store, day by day, as a daily cron job runs it.

    python -m benchmarks.store_year [--days N] [--lines-per-day M] [--tail T] [--new-per-day K] [--pool P]
                                    [--clients C] [--keep] [--work-dir DIR]

Each day is one generated Zeek dns.log of M lines (1,000,000 by default), ingested by its own `regaudit ingest`
process through the real CLI. The shape is a real resolver's, not a uniform one:

- a head of popular hosts: Docker Hub (registry, auth, its Cloudflare CDN), ghcr.io and its blob host, ECR in three
  accounts x three regions with their S3 layer buckets, quay.io and its CDNs, MCR and its regional data hosts,
  gcr.io / Artifact Registry, registry.k8s.io, public.ecr.aws, and the CDN and package hosts a fleet asks for
  (CloudFront, Fastly, Akamai edges, GitHub, PyPI, npm, Debian, Ubuntu, Microsoft login) with CNAME chains;
- a body of 3,000 recurring internal and SaaS names, picked with a Pareto skew;
- a long tail of T names a day (50,000) looked up once each (a few twice): K of them (10,000) brand new every day
  (telemetry and tracking ids), the rest drawn from a pool of P (300,000) names that come back now and then; a
  sixth of the tail answers through a CNAME to one of 500 shared CDN edges;
- C clients (600) with a skewed activity, a tail name looked up by one of them.

It prints per day: lines/s (wall and per CPU second of the ingest process), the ingest's peak RSS (getrusage of
the child), the store's size; then bytes per day and the size projected to 365 days; and a 90-day
`regaudit audit --store --window 90d` (fresh process, start-up included) and one `regaudit history HOST`, timed.
The machine is shared: CPU seconds are the work, wall seconds include waiting for a core; the load average is
printed with them.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.store_bench import HEADER, store_bytes, timed_run

FIRST_DAY = date(2026, 1, 1)
ACCOUNTS = ("123456789012", "210987654321", "555566667777")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def head_hosts() -> list[tuple[str, str]]:
    """(name, CNAME target or '') of the popular hosts, most popular first."""
    hosts = [("registry-1.docker.io", ""), ("auth.docker.io", ""),
             ("production.cloudflare.docker.com", "production.cloudflare.docker.com.cdn.cloudflare.net"),
             ("index.docker.io", ""), ("ghcr.io", ""), ("pkg-containers.githubusercontent.com", ""),
             ("github.com", ""), ("api.github.com", ""), ("objects.githubusercontent.com", "")]
    for account in ACCOUNTS:
        for region in REGIONS:
            hosts.append((f"{account}.dkr.ecr.{region}.amazonaws.com", ""))
            hosts.append((f"prod-{region}-starport-layer-bucket.s3.{region}.amazonaws.com", f"s3-r-w.{region}"
                          ".amazonaws.com"))
    hosts += [("api.ecr.us-east-1.amazonaws.com", ""), ("public.ecr.aws", ""),
              ("d2glxqk2uabbnd.cloudfront.net", ""), ("quay.io", ""), ("cdn.quay.io", "d2z4a3b9x0w8.cloudfront.net"),
              ("cdn01.quay.io", "d1p9u8c7q6r5.cloudfront.net"), ("mcr.microsoft.com", "mcr.microsoft.com.edgekey.net"),
              ("eastus.data.mcr.microsoft.com", "eastus.data.mcr.microsoft.com.edgekey.net"),
              ("westeurope.data.mcr.microsoft.com", ""), ("gcr.io", ""), ("us-docker.pkg.dev", ""),
              ("europe-docker.pkg.dev", ""), ("storage.googleapis.com", ""), ("registry.k8s.io", ""),
              ("us-west1-docker.pkg.dev", ""), ("pypi.org", "dualstack.python.map.fastly.net"),
              ("files.pythonhosted.org", "dualstack.python.map.fastly.net"), ("registry.npmjs.org", ""),
              ("deb.debian.org", "debian.map.fastly.net"), ("security.ubuntu.com", ""),
              ("archive.ubuntu.com", ""), ("login.microsoftonline.com", "login.mso.msidentity.com"),
              ("www.google.com", ""), ("update.googleapis.com", ""), ("time.cloudflare.com", ""),
              ("dl.k8s.io", ""), ("proxy.golang.org", ""), ("repo.maven.apache.org", "")]
    return hosts


def body_names(count: int = 3000) -> list[str]:
    rng = random.Random(7)
    teams = [f"team{n}" for n in range(40)]
    saas = [f"saas{n}.com" for n in range(120)]
    names = []
    for n in range(count):
        if n % 3:
            names.append(f"svc{n}.{rng.choice(teams)}.corp.example.com")
        else:
            names.append(f"api{n % 17}.tenant{n}.{rng.choice(saas)}")
    return names


def pool_name(n: int) -> str:
    return f"t{n:x}.{('metrics', 'events', 'pixel', 'cfg', 'beacon')[n % 5]}.vendor{n % 211}.net"


def new_name(rng: random.Random, day: date) -> str:
    return f"{rng.getrandbits(40):010x}.d{day.toordinal() % 1000}.track{rng.randrange(97)}.io"


def clients(count: int) -> list[str]:
    return [f"10.{20 + n // 250}.{n // 250 % 4}.{n % 250 + 2}" for n in range(count)]


def _address(name: str, rng: random.Random) -> str:
    return f"198.51.{hash(name) % 200}.{rng.randrange(1, 250)}"


def write_day(path: Path, day: date, lines: int, tail: int, new_per_day: int, pool: int, client_count: int) -> None:
    rng = random.Random(day.toordinal())
    head = head_hosts()
    body = body_names()
    who = clients(client_count)
    edges = [f"e{n}.a.akamaiedge.net" for n in range(500)]
    tail_names = [new_name(rng, day) for _ in range(new_per_day)]
    tail_names += [pool_name(rng.randrange(pool)) for _ in range(max(0, tail - new_per_day))]
    tail_names += rng.sample(tail_names, len(tail_names) // 20)  # a few looked up twice
    # (name, cname) of every line: the tail once each, the rest head (60%) and body (40%) by a skewed pick
    rest = max(0, lines - len(tail_names))
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    times = sorted(start + rng.random() * 86_399 for _ in range(lines))
    picks: list[tuple[str, str]] = []
    for name in tail_names[:lines]:
        picks.append((name, edges[rng.randrange(500)] if rng.random() < 1 / 6 else ""))
    for _ in range(rest):
        if rng.random() < 0.6:
            picks.append(head[min(int(rng.paretovariate(0.9)) - 1, len(head) - 1)])
        else:
            picks.append((body[min(int(rng.paretovariate(1.1)) - 1, len(body) - 1)], ""))
    rng.shuffle(picks)
    with open(path, "w") as out:
        out.write(HEADER.format(day=day.isoformat()))
        chunk: list[str] = []
        for i, ((name, cname), ts) in enumerate(zip(picks, times, strict=True)):
            client = who[min(int(rng.paretovariate(0.7)) - 1, client_count - 1)] if rng.random() < 0.7 \
                else who[rng.randrange(client_count)]
            if rng.random() < 0.6:
                qtype, qcode = "A", 1
                answers = f"{cname},{_address(name, rng)}" if cname else _address(name, rng)
                ttls = "300.000000,60.000000" if cname else "60.000000"
            else:
                qtype, qcode, answers, ttls = "AAAA", 28, "-", "-"
            chunk.append(f"{ts:.6f}\tC{i:017d}\t{client}\t{rng.randrange(1024, 65535)}\t10.0.0.53\t53\tudp"
                         f"\t{rng.randrange(65536)}\t0.000870\t{name}\t1\tC_INTERNET\t{qcode}\t{qtype}\t0\tNOERROR"
                         f"\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF\n")
            if len(chunk) >= 20000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


ALLOWLIST = ("docker.io\n*.docker.io\n*.docker.com\nghcr.io\npkg-containers.githubusercontent.com\n"
             "*.dkr.ecr.us-east-1.amazonaws.com\n*.dkr.ecr.eu-west-1.amazonaws.com\nquay.io\ncdn.quay.io\n"
             "mcr.microsoft.com\n*.data.mcr.microsoft.com\ngcr.io\nregistry.k8s.io\nnvcr.io\nregistry.gitlab.com\n"
             "docker.elastic.co\n")


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--lines-per-day", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=50_000, help="tail names looked up each day")
    parser.add_argument("--new-per-day", type=int, default=10_000, help="of them, names never seen before")
    parser.add_argument("--pool", type=int, default=300_000, help="the recurring tail's pool of names")
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the store (and the last log) in the work dir")
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="regaudit-store-year-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "regaudit.db"
    allowlist = work / "allowlist.txt"
    allowlist.write_text(ALLOWLIST, encoding="utf-8")
    print(f"{args.days} day(s) x {args.lines_per_day:,} Zeek dns.log lines: {len(head_hosts())} head hosts, 3,000 "
          f"body names, a tail of {args.tail:,} names a day ({args.new_per_day:,} new, the rest from a pool of "
          f"{args.pool:,}), {args.clients} clients; in {work}", flush=True)
    wall = cpu = 0.0
    peaks: list[float] = []
    sizes: list[int] = []
    generate = 0.0
    for n in range(args.days):
        day = FIRST_DAY + timedelta(days=n)
        log = work / f"dns.{day.isoformat()}.log"
        began = time.perf_counter()
        write_day(log, day, args.lines_per_day, args.tail, args.new_per_day, args.pool, args.clients)
        generate += time.perf_counter() - began
        seconds, used, peak, done = timed_run(["ingest", str(log), "--store", str(store)])
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        wall += seconds
        cpu += used
        peaks.append(peak)
        sizes.append(store_bytes(store))
        print(f"  {day}  {args.lines_per_day / seconds:>9,.0f} lines/s wall  {args.lines_per_day / used:>9,.0f} "
              f"per CPU s  peak RSS {peak:6.1f} MB  store {store_bytes(store) / 1e6:8.1f} MB  load {_load()}",
              flush=True)
        if not (args.keep and n == args.days - 1):
            log.unlink()
    total = args.lines_per_day * args.days
    size = store_bytes(store)
    per_day = size / args.days
    print(f"ingest: {total / wall:,.0f} lines/s wall, {total / cpu:,.0f} lines per CPU s (whole processes, start-up "
          f"included); peak RSS max {max(peaks):.1f} MB, min {min(peaks):.1f} MB; generating the logs took "
          f"{generate:.0f} s (not counted)")
    print(f"store: {size / 1e6:.1f} MB after {args.days} days = {per_day / 1e6:.2f} MB/day"
          + (f"; {per_day * 365 / 1e9:.2f} GB projected to 365 days at that rate" if args.days < 365 else ""))
    if 365 > args.days >= 10:  # the early days also intern the recurring pool's names: the later rate is lower
        late = (sizes[-1] - sizes[-11]) / 10
        print(f"store growth over the last 10 days: {late / 1e6:.2f} MB/day; {size / 1e9:.2f} GB + "
              f"{365 - args.days} x that = {(size + late * (365 - args.days)) / 1e9:.2f} GB projected to 365 days")
    as_of = (FIRST_DAY + timedelta(days=args.days - 1)).isoformat()
    seconds, used, peak, done = timed_run(["audit", "--store", str(store), "--allowlist", str(allowlist),
                                           "--window", "90d", "--as-of", as_of, "--json", str(work / "audit.json")])
    if done.returncode not in (0, 1):
        print(done.stderr, file=sys.stderr)
        return 1
    print(f"90-day audit as of {as_of}: {seconds:.2f} s wall, {used:.2f} s CPU (fresh process, start-up included), "
          f"peak RSS {peak:.1f} MB; load {_load()}")
    probe = pool_name(12345)
    seconds, used, _peak, done = timed_run(["history", probe, "--store", str(store), "--format", "json"])
    print(f"history {probe}: {seconds:.2f} s wall, {used:.2f} s CPU, exit {done.returncode}")
    print(timed_run(["store", "info", "--store", str(store)])[3].stdout.strip())
    print(f"load average at the end: {_load()} (2 cores here)")
    if not args.keep:
        for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
