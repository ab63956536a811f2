"""The dask engine against the local one: 8 generated Zeek dns.logs, read by `collect` and by `collect_on_dask`.

Prints the local time, the dask time on a LocalCluster of --workers processes (started before the clock runs;
its start-up is printed apart), the speed-up, the scheduling overhead per task (empty tasks through the same
scheduler), the per-line parse cost and the cost of one merge of two parts, and from those a paper estimate of
a 10^10-line month on a 32-worker cluster (the month as files of --lines lines each, one task per file).

    python -m benchmarks.dask_bench [--files 8] [--lines 1000000] [--workers 2] [--work-dir DIR]

On a shared 2-core machine the figures move with the other load; run it when the machine is otherwise idle.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from auditor.core.merge import Part
from auditor.pipeline.collect import CollectOptions, collect
from auditor.pipeline.dask_engine import collect_on_dask, local_cluster
from benchmarks.dnslog_bench import write_zeek

MONTH_LINES = 10**10
CLUSTER_WORKERS = 32


def _noop(i: int) -> int:
    return i


def run(work_dir: Path, files: int, lines: int, workers: int) -> dict[str, float]:
    paths = [work_dir / f"dns-{i}.log" for i in range(files)]
    for i, path in enumerate(paths):
        if not path.exists():
            write_zeek(path, lines, seed=100 + i)
    names = [str(p) for p in paths]
    options = CollectOptions(variables={})
    collect([names[0]], options)  # imports and first-use caches out of the clock
    started = time.perf_counter()
    local = collect(names, options)
    local_s = time.perf_counter() - started

    started = time.perf_counter()
    halves = [collect([name], options) for name in names[:2]]
    two_files_s = time.perf_counter() - started
    started = time.perf_counter()
    Part(0, 1, halves[0]).merge(Part(1, 2, halves[1]))
    merge_s = time.perf_counter() - started

    started = time.perf_counter()
    cluster = local_cluster(workers)
    startup_s = time.perf_counter() - started
    try:
        from distributed import Client

        with Client(cluster, set_as_default=False) as client:
            client.gather(client.map(_noop, range(50), pure=False))  # warm the workers up
            tasks = 500
            started = time.perf_counter()
            client.gather(client.map(_noop, range(1000, 1000 + tasks), pure=False))
            overhead_s = (time.perf_counter() - started) / tasks
        started = time.perf_counter()
        dask = collect_on_dask(names, options, scheduler=cluster.scheduler_address)
        dask_s = time.perf_counter() - started
    finally:
        cluster.close()
    assert sorted(dask.activity) == sorted(local.activity)
    assert sum(a.count for a in dask.activity.values()) == sum(a.count for a in local.activity.values())
    return {"files": files, "lines": lines, "workers": workers, "local_s": local_s, "dask_s": dask_s,
            "startup_s": startup_s, "overhead_s": overhead_s, "per_line_s": two_files_s / (2 * lines),
            "merge_s": merge_s}


def estimate(f: dict[str, float]) -> dict[str, float]:
    """A 10^10-line month on CLUSTER_WORKERS workers, one task per file of f['lines'] lines."""
    tasks = math.ceil(MONTH_LINES / f["lines"])
    parse = MONTH_LINES * f["per_line_s"] / CLUSTER_WORKERS
    scheduling = tasks * f["overhead_s"]  # the scheduler is one process: its per-task cost does not divide
    merges = (tasks - 1) * f["merge_s"] / CLUSTER_WORKERS + math.ceil(math.log2(tasks)) * f["merge_s"]
    return {"tasks": tasks, "parse_s": parse, "scheduling_s": scheduling, "merge_s": merges,
            "total_s": parse + max(scheduling - parse, 0) + merges}


def report(f: dict[str, float]) -> str:
    total = f["files"] * f["lines"]
    e = estimate(f)
    rows = [
        f"{f['files']} Zeek dns.logs x {f['lines']:,} lines = {total:,} lines",
        f"local (1 process)            {f['local_s']:8.2f} s   {total / f['local_s']:>12,.0f} lines/s",
        f"dask --workers {f['workers']} (running)   {f['dask_s']:8.2f} s   {total / f['dask_s']:>12,.0f} lines/s",
        f"speed-up                     {f['local_s'] / f['dask_s']:8.2f} x   (with the cluster's start-up, "
        f"{f['startup_s']:.1f} s: {f['local_s'] / (f['dask_s'] + f['startup_s']):.2f} x)",
        f"scheduling overhead per task {f['overhead_s'] * 1000:8.2f} ms  (empty tasks, same scheduler)",
        f"parse cost per line          {f['per_line_s'] * 1e6:8.3f} us  (one process, fold included)",
        f"one merge of two parts       {f['merge_s'] * 1000:8.2f} ms  (two files' folds)",
        "",
        f"paper estimate: 10^10 lines on {CLUSTER_WORKERS} workers, {e['tasks']:,} tasks of {f['lines']:,} lines",
        f"  parse   {e['parse_s'] / 3600:7.2f} h   (lines x per-line cost / {CLUSTER_WORKERS})",
        f"  schedule{e['scheduling_s'] / 60:7.2f} min (tasks x overhead, overlaps the parse)",
        f"  merge   {e['merge_s'] / 60:7.2f} min (merges / {CLUSTER_WORKERS} + tree depth x merge)",
        f"  total   {e['total_s'] / 3600:7.2f} h",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args(argv)
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        figures = run(args.work_dir, args.files, args.lines, args.workers)
    else:
        with tempfile.TemporaryDirectory(prefix="regaudit-daskbench-") as tmp:
            figures = run(Path(tmp), args.files, args.lines, args.workers)
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
