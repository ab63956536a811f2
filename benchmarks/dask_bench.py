"""The dask engine against the local one: 8 generated Zeek dns.logs, read by `collect` and by `collect_on_dask`.

Prints the local time, the dask time on a LocalCluster of --workers processes (started before the clock runs;
its start-up is printed apart), the speed-up, the scheduling overhead per task (empty tasks through the same
scheduler), the per-line parse cost and the cost of one merge of two parts, and from those a paper estimate of
a 10^10-line month on a 32-worker cluster (the month as files of --lines lines each, one task per file). Then
one file of --split-lines lines as byte ranges of --range-mb: locally (the ranges one after the other) and on the
cluster (one task each); the two answers must be identical, and the local figure for the same file read whole (no
ranges, the local default below twice the range size) is printed beside them. Beside
each wall time: the CPU seconds it used (this process, plus the worker processes for dask) and the machine's
load average, since the figures move with whatever else runs.

    python -m benchmarks.dask_bench [--files 8] [--lines 1000000] [--workers 2] [--split-lines 1500000]
                                    [--range-mb 64] [--work-dir DIR]

On a shared 2-core machine the figures move with the other load; run it when the machine is otherwise idle.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.core.merge import Part
from auditor.pipeline.collect import CollectOptions, collect
from auditor.pipeline.dask_engine import collect_on_dask, local_cluster
from benchmarks.dnslog_bench import write_zeek

MONTH_LINES = 10**10
CLUSTER_WORKERS = 32


def _noop(i: int) -> int:
    return i


def _cpu(children: bool) -> float:
    """CPU seconds used so far by this process (and, with CHILDREN, by its live child processes: the
    LocalCluster's nannies and workers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    if children:
        for child in me.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                continue
    return total


def _timed(work: Callable[[], Any], children: bool = False) -> tuple[Any, float, float, float]:
    """(result, wall seconds, CPU seconds, 1-minute load average at the end) of WORK."""
    cpu, started = _cpu(children), time.perf_counter()
    result = work()
    return result, time.perf_counter() - started, _cpu(children) - cpu, os.getloadavg()[0]


def run(work_dir: Path, files: int, lines: int, workers: int, split_lines: int = 0,
        range_mb: int = 64) -> dict[str, float]:
    paths = [work_dir / f"dns-{i}.log" for i in range(files)]
    for i, path in enumerate(paths):
        if not path.exists():
            write_zeek(path, lines, seed=100 + i)
    big = work_dir / f"dns-big-{split_lines}.log"
    if split_lines and not big.exists():
        write_zeek(big, split_lines, seed=99)
    names = [str(p) for p in paths]
    options = CollectOptions(variables={})
    collect([names[0]], options)  # imports and first-use caches out of the clock
    load_before = os.getloadavg()[0]
    local, local_s, local_cpu, local_load = _timed(lambda: collect(names, options))

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
        address = cluster.scheduler_address
        warm = work_dir / "dns-warm.log"
        write_zeek(warm, 2000, seed=1)
        collect_on_dask([str(warm)], options, scheduler=address)  # the parsers' imports on the workers
        dask, dask_s, dask_cpu, dask_load = _timed(lambda: collect_on_dask(names, options, scheduler=address),
                                                   children=True)
        split: dict[str, float] = {}
        if split_lines:
            in_ranges = replace(options, range_bytes=range_mb << 20)
            _whole, split["whole_s"], split["whole_cpu"], split["whole_load"] = _timed(
                lambda: collect([str(big)], replace(options, range_bytes=None)))
            local_ranged, split["local_s"], split["local_cpu"], split["local_load"] = _timed(
                lambda: collect([str(big)], in_ranges))
            ranged, split["dask_s"], split["dask_cpu"], split["dask_load"] = _timed(
                lambda: collect_on_dask([str(big)], options, scheduler=address, range_bytes=range_mb << 20),
                children=True)
            for name in ("activity", "errors", "inputs", "timeline", "edges", "blocked_groups"):  # exact
                assert getattr(ranged, name) == getattr(local_ranged, name), name
            split.update(lines=split_lines, size=big.stat().st_size, ranges=math.ceil(big.stat().st_size /
                         (range_mb << 20)), records=local_ranged.inputs[0].records)
    finally:
        cluster.close()
    assert dask.activity == local.activity and dask.inputs == local.inputs
    return {"files": files, "lines": lines, "workers": workers, "local_s": local_s, "dask_s": dask_s,
            "local_cpu": local_cpu, "dask_cpu": dask_cpu, "load_before": load_before, "local_load": local_load,
            "dask_load": dask_load, "startup_s": startup_s, "overhead_s": overhead_s,
            "per_line_s": two_files_s / (2 * lines), "merge_s": merge_s, "split": split}


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
        f"load average (1 min)         {f['load_before']:8.2f} before, {f['local_load']:.2f} after local, "
        f"{f['dask_load']:.2f} after dask",
        f"local (1 process)            {f['local_s']:8.2f} s   {total / f['local_s']:>12,.0f} lines/s   "
        f"CPU {f['local_cpu']:.1f} s",
        f"dask --workers {f['workers']} (running)   {f['dask_s']:8.2f} s   {total / f['dask_s']:>12,.0f} lines/s   "
        f"CPU {f['dask_cpu']:.1f} s (client + workers)",
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
    if (s := f["split"]):
        rows += [
            "",
            f"one Zeek dns.log of {s['lines']:,} lines ({s['size'] / 2**20:,.0f} MiB, {s['records']:,} folded "
            f"records), "
            f"about {s['ranges']:.0f} byte ranges (identical answers on both engines)",
            f"local, read whole (no ranges){s['whole_s']:8.2f} s   CPU {s['whole_cpu']:.1f} s   "
            f"load {s['whole_load']:.2f}",
            f"local, the ranges in turn    {s['local_s']:8.2f} s   CPU {s['local_cpu']:.1f} s   "
            f"load {s['local_load']:.2f}",
            f"dask, byte ranges            {s['dask_s']:8.2f} s   CPU {s['dask_cpu']:.1f} s   "
            f"load {s['dask_load']:.2f}   speed-up {s['local_s'] / s['dask_s']:.2f} x",
        ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--split-lines", type=int, default=1_500_000, help="0: no byte-range run")
    parser.add_argument("--range-mb", type=int, default=64)
    parser.add_argument("--work-dir", type=Path)
    args = parser.parse_args(argv)
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        figures = run(args.work_dir, args.files, args.lines, args.workers, args.split_lines, args.range_mb)
    else:
        with tempfile.TemporaryDirectory(prefix="regaudit-daskbench-") as tmp:
            figures = run(Path(tmp), args.files, args.lines, args.workers, args.split_lines, args.range_mb)
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
