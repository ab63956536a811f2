"""The Dask engine: one task per input file on a distributed cluster, the results tree-reduced in input order.

The client walks the inputs (directories are listed here, in the same order `collect` walks them); each
file becomes a task that detects its kind, parses it and folds it into an `EvidenceStore` on a worker;
adjacent results merge pairwise (`auditor.core.merge.Part`) until one is left, so the answer is the fold
one process would have made. A worker that dies mid-task has its task rerun by the scheduler (up to
`distributed.scheduler.allowed-failures` times); a parse is a pure function of its file, so a rerun gives
the same part. Paths must be readable on the workers: the same path on every machine (a shared file
system), or an fsspec URL (file://, s3://, gs://...), which the worker copies to a local temporary file.
A large line-oriented log (a resolver, proxy or Zeek log; not a capture, not a compressed file) is read as
byte ranges, one task each, the same ranges the local engine reads one after the other; one more task puts their
record streams together and folds them into the file's part (auditor/pipeline/byte_ranges.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from auditor.core.evidence import EvidenceStore
from auditor.core.merge import Part
from auditor.core.model import InputError, Source
from auditor.pipeline.byte_ranges import (
    DEFAULT_RANGE_BYTES,
    ByteRange,
    RangeRecords,
    file_records,
    parse_range,
    plan_ranges,
)
from auditor.pipeline.collect import (
    CollectOptions,
    _display,
    _known_registry_host,
    _open_one,
    _walk,
    collect,
    parse_context,
)
from auditor.pipeline.fold_file import FileKey, _parse_one, _unusable, file_key, fold_input
from auditor.pipeline.progress import Progress
from auditor.pipeline.remote_inputs import is_url, open_url
from parsers import ParserSpec, parser_for, parser_named
from parsers.common.inputs import InputFile, ParseContext, bulk_parsing


class DaskUnavailable(RuntimeError):
    """`--engine dask` without the dask extra installed, or a scheduler that cannot be reached."""


@dataclass(frozen=True)
class Item:
    """One file to read: a path or fsspec URL, whether it was named on the command line, its walk root."""

    name: str
    explicit: bool
    root: str | None = None
    data: bytes | None = None  # the content, read by the client: a process-local URL (memory://)


PROCESS_LOCAL = ("memory://",)  # filesystems that live in one process: the workers cannot see them


def _shipped(item: Item) -> Item:
    """ITEM with its content when only the client can read it (a memory:// URL)."""
    if not item.name.startswith(PROCESS_LOCAL):
        return item
    import fsspec

    try:
        with fsspec.open(item.name, "rb") as src:
            return Item(item.name, item.explicit, item.root, src.read())
    except (OSError, ValueError):
        return item  # the worker reports it as unreadable


def plan(inputs: list[str]) -> Iterator[Item | str]:
    """The files of INPUTS in `collect`'s order; `-` (standard input) is yielded as is: it is read here."""
    for name in inputs:
        if name in ("-", "") or is_url(name):  # an empty name is `collect`'s input error, made on the client
            yield name if name in ("-", "") else Item(name, explicit=True)
            continue
        path = Path(name)
        if path.is_dir():
            for file_path in _walk(path):
                if file_path.is_symlink() and not file_path.exists():
                    continue
                yield Item(str(file_path), explicit=False, root=name)
        else:
            yield Item(name, explicit=True)


def fold_item(item: Item, options: CollectOptions) -> EvidenceStore:
    """The evidence of one file, folded as `collect` folds it (runs on a worker)."""
    store = EvidenceStore(worth_keeping=_known_registry_host)
    options = _on_worker(options)
    ctx = parse_context(options)
    forced = parser_named(options.forced_kind) if options.forced_kind else None
    with bulk_parsing():
        for inp, explicit, error in _opened(item):
            fold_input(store, inp, explicit, error, ctx, options, forced)
    store.worth_keeping = None  # a part travels back to the client; the callable is set again there
    return store


def _on_worker(options: CollectOptions) -> CollectOptions:
    return replace(options, show_progress=False)  # the client draws the bar, fed by task completions


def _opened(item: Item) -> Iterator[tuple[InputFile | None, bool, InputError | None]]:
    if is_url(item.name):
        return open_url(item.name, item.data)
    return _open_one(Path(item.name), item.explicit, Path(item.root) if item.root else None)


def fold_split_file(item: Item, kind: str, options: CollectOptions,
                    fold: Callable[[Item, CollectOptions], EvidenceStore], *ranges: RangeRecords) -> EvidenceStore:
    """The evidence of a file read as byte ranges (runs on a worker): the ranges' record streams put together
    (`file_records`, as the local engine puts them together), then folded as `collect` folds a file."""
    store = EvidenceStore(worth_keeping=_known_registry_host)
    options = _on_worker(options)
    ctx = parse_context(options)
    replay = ParserSpec(kind, lambda _inp: True, lambda _inp, _ctx: file_records(ranges))
    with bulk_parsing():
        for inp, _explicit, error in _opened(item):
            if error is not None or inp is None:  # gone since the ranges were read: as a fresh read says
                return fold(item, options)
            _parse_one(inp, replay, ctx, options, store)
    store.worth_keeping = None
    return store


def split_plan(item: Item, options: CollectOptions) -> tuple[str, list[ByteRange]] | None:
    """(kind, ranges) when ITEM is a large line-oriented log to read as byte ranges (decided here, on the
    client, from the file's head), else None: one task reads it (a URL's copy is cut there, and its ranges read
    in turn, as the local engine reads them)."""
    range_bytes = options.range_bytes
    if range_bytes is None or is_url(item.name) or _size_of(item) < 2 * range_bytes:
        return None
    opened = list(_opened(item))
    inp = opened[0][0] if len(opened) == 1 else None
    if inp is None:
        return None
    forced = parser_named(options.forced_kind) if options.forced_kind and item.explicit else None
    spec = forced or parser_for(inp, explicit=item.explicit)
    ranges = plan_ranges(inp, spec.name, range_bytes) if spec is not None else None
    return (spec.name, ranges) if spec is not None and ranges else None


def fold_part(position: int, item: Item, options: CollectOptions,
              fold: Callable[[Item, CollectOptions], EvidenceStore] = fold_item) -> Part:
    return Part(position, position + 1, fold(item, options))


def merge_parts(a: Part, b: Part) -> Part:
    return a.merge(b)


def _client(scheduler: str | None, workers: int | None) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable("--engine dask needs the dask extra: pip install 'regaudit[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s", set_as_default=False), None
        except (OSError, TimeoutError) as exc:
            raise DaskUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = local_cluster(workers or os.cpu_count() or 1)
    return Client(cluster, set_as_default=False), cluster


# One thread per worker process for the native libraries the parsers call (polars, numpy's BLAS): the cluster
# already runs one worker per core, and idle thread pools spinning beside the other workers cost CPU. The
# worker's statistical profiler (a stack sample of the task thread every 10 ms) is off: the tasks are
# CPU-bound parses, and nobody looks at the dashboard of a cluster started for one run.
WORKER_ENV = {"POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def local_cluster(workers: int, silence: int = logging.ERROR) -> Any:
    """A LocalCluster of WORKERS single-threaded processes, every socket on 127.0.0.1, no dashboard. (The
    scheduler's small HTTP server of health and metrics routes still runs: it gets a free loopback port, not
    8787, which another cluster may hold.)"""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        silence_logs=silence, env=dict(WORKER_ENV))


def collect_on_dask(inputs: list[str], options: CollectOptions, scheduler: str | None = None,
                    workers: int | None = None,
                    fold: Callable[[Item, CollectOptions], EvidenceStore] = fold_item,
                    range_bytes: int | None = DEFAULT_RANGE_BYTES) -> EvidenceStore:
    """The evidence of INPUTS, each file read by a task on the cluster (a large line-oriented log by one
    task per byte range of about RANGE_BYTES; None: never split); identical to `collect`'s with the same
    range size (OPTIONS' own is replaced by RANGE_BYTES)."""
    options = replace(options, range_bytes=range_bytes)
    client, cluster = _client(scheduler, workers)
    walked: dict[str, list[str]] = {}  # named directory -> the display names of its files
    try:
        parts: list[Any] = []  # futures, or parts made here (standard input is read on the client)
        sizes: dict[Any, int] = {}  # each file or range task and its bytes: the bar advances as tasks finish
        for position, item in enumerate(plan(inputs)):
            if isinstance(item, str):
                parts.append(Part(position, position + 1, collect([item], options)))
                continue
            if item.root is not None:
                walked.setdefault(item.root, []).append(_display(Path(item.name)))
            split = split_plan(item, options)
            if split is None:
                parts.append(client.submit(fold_part, position, _shipped(item), options, fold, pure=False))
                sizes[parts[-1]] = _size_of(item)
                continue
            kind, ranges = split
            display = _display(Path(item.name))
            ranged = [client.submit(parse_range, r, display, options.variables, pure=False) for r in ranges]
            sizes.update((future, r.end - r.start) for future, r in zip(ranged, ranges, strict=True))
            parts.append(client.submit(fold_split_part, position, item, kind, options, fold, *ranged, pure=False))
        leaves = list(sizes)
        while len(parts) > 1:  # a tree: adjacent pairs merge, level by level
            paired = [client.submit(merge_parts, parts[i], parts[i + 1], pure=False)
                      for i in range(0, len(parts) - 1, 2)]
            parts = paired + ([parts[-1]] if len(parts) % 2 else [])
        with client.as_current():
            _show_progress(leaves, sizes, options.show_progress)
        if not parts:
            store = EvidenceStore()
        else:
            last = parts[0]
            store = (last if isinstance(last, Part) else last.result()).store
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    store.worth_keeping = _known_registry_host
    _note_empty_directories(store, inputs, walked)
    return store


def fold_split_part(position: int, item: Item, kind: str, options: CollectOptions,
                    fold: Callable[[Item, CollectOptions], EvidenceStore], *ranges: RangeRecords) -> Part:
    return Part(position, position + 1, fold_split_file(item, kind, options, fold, *ranges))


def _note_empty_directories(store: EvidenceStore, inputs: list[str], walked: dict[str, list[str]]) -> None:
    """A named directory none of whose files was of a known kind fails the run, as in `collect`: a file was
    read when the store holds its input record; skipped when it has neither a record nor an error."""
    read = {record.path for record in store.inputs}
    failed = {error.source.path for error in store.errors}
    for name in inputs:
        if name in ("-", "") or is_url(name) or not Path(name).is_dir():
            continue
        files = walked.get(name, [])
        if not any(display in read for display in files):
            skipped = sum(1 for display in files if display not in failed)
            _unusable(store, InputError(f"no input of a known kind in this directory ({skipped} files skipped)",
                                        Source(_display(Path(name)))))


def _size_of(item: Item) -> int:
    if item.data is not None:
        return len(item.data)
    try:
        return 0 if is_url(item.name) else Path(item.name).stat().st_size
    except OSError:
        return 0


def _show_progress(leaves: list[Any], sizes: dict[Any, int], enabled: bool | None) -> None:
    """One bar for the run, redrawn as each file or range task completes (in bytes of input, as the local bar
    counts), in the order they complete."""
    from distributed import as_completed

    with Progress(label="dask tasks", total=sum(sizes.values()), enabled=enabled) as progress:
        if not progress.enabled:
            return
        for done in as_completed(leaves):
            progress.step(sizes[done])


# -- ingest: the workers parse, the client writes ---------------------------------------------------------

def aggregate_item(item: Item, variables: dict[str, str]) -> tuple[FileKey | None, str, Any, str]:
    """(file key, kind, aggregate or None, failure) of one file, parsed as `ingest` parses it (on a worker)."""
    from auditor.pipeline.ingest import aggregate_input

    path = Path(item.name)
    with bulk_parsing():
        for inp, _explicit, error in _open_one(path, item.explicit, Path(item.root) if item.root else None):
            if error is not None or inp is None:
                break
            spec = parser_for(inp)
            if spec is None:
                break
            agg, failure = aggregate_input(inp, spec, ParseContext(variables=dict(variables)))
            return file_key(path), spec.name, agg, failure
    return None, "", None, ""


def ingest_parser_on_dask(inputs: list[str], variables: dict[str, str], scheduler: str | None = None,
                          workers: int | None = None) -> Callable[..., tuple[Any, str]]:
    """A `parse` for IngestOptions: every file of INPUTS is parsed by a task on the cluster first (in parallel);
    the ingest then takes a file's aggregate from there when the file is unchanged since, and parses here what
    it must read from an offset (a grown log: the part not yet ingested) or what changed meanwhile. The
    store itself is written only here, one transaction per input, as the local ingest writes it."""
    from auditor.pipeline.ingest import aggregate_input

    client, cluster = _client(scheduler, workers)
    try:
        items = [item for item in plan(inputs) if isinstance(item, Item) and not is_url(item.name)]
        futures = [client.submit(aggregate_item, item, variables, pure=False) for item in items]
        done = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    parsed = {key: (kind, agg, failure) for key, kind, agg, failure in done if key is not None}

    def parse(inp: InputFile, spec: ParserSpec, ctx: ParseContext, line_shift: int = 0) -> tuple[Any, str]:
        whole = line_shift == 0 and inp.display != "<stdin>"  # a grown log's new part is parsed here
        found = parsed.pop(file_key(inp.path), None) if whole else None
        if found is not None and found[0] == spec.name:
            return found[1], found[2]
        return aggregate_input(inp, spec, ctx, line_shift)

    return parse
