"""The local engine on every core: independent inputs parsed by a pool of worker processes (`--jobs N`).

The parent walks the inputs (in `collect`'s order) and cuts the files into contiguous runs ("units"); each worker
folds a unit into an `EvidenceStore` exactly as `collect` folds those files, and the parent merges the parts in
input order (`auditor.core.merge.merge_stores`), so the result is the fold one process makes: the reports are
byte-identical to `--jobs 1`, input errors the same lines, exit codes the same. The exactness has the merge's
limits (docs/dask.md): no host past 10,000 distinct clients, distinct hosts under the evidence store's cap.

`--jobs 1`, or a run with a single input, is the in-process path of before. Without `--jobs`, the pool starts
only when the work is worth a process start (AUTO_MIN_BYTES of input or AUTO_MIN_FILES files); `--jobs N` asks
for N processes whatever the size. Standard input is read in the parent, in its place. A unit whose worker
dies is folded again in the parent (a parse is a pure function of its file). The progress bar is one bar for
the run, fed through a shared counter as the workers finish files.

Nothing here is imported at start-up (engine.py imports it for the local engine's collect only), and nothing
heavier than the standard library's multiprocessing is imported when the pool runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.core.evidence import EvidenceStore
from auditor.pipeline.collect import (
    CollectOptions,
    _known_registry_host,
    _open_one,
    _open_walked,
    _walk_entries,
    collect,
    fold_found,
    report_empty_directories,
)
from auditor.pipeline.fold_file import FileKey, file_key
from auditor.pipeline.progress import Progress
from auditor.pipeline.remote_inputs import is_url
from parsers import may_claim_walked, parser_named
from parsers.common.inputs import ParseContext, bulk_parsing

if TYPE_CHECKING:
    from concurrent.futures import Future

# Below these (and without an explicit --jobs), the run stays in this process: forking workers and shipping
# parts back costs more than a few small files take to parse.
AUTO_MIN_BYTES = 8 * 1024 * 1024
AUTO_MIN_FILES = 400
# A unit of small files: enough to make shipping one part back cheap against its parse, small enough that the
# workers stay evenly busy.
UNIT_FILES = 256
UNIT_BYTES = 4 * 1024 * 1024
UNITS_PER_WORKER = 4  # at least this many units per worker on a big tree (load balance)
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Item:
    """One file to fold: its path, whether it was named on the command line, the directory its walk began at."""

    path: str
    explicit: bool
    root: str | None
    size: int


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan(inputs: Iterable[str]) -> Iterator[Item | str]:
    """The files of INPUTS in `collect`'s order; `-` (standard input) is yielded as is: the parent reads it (and
    names an empty input name as `collect` does)."""
    for name in inputs:
        if name in ("-", ""):
            yield name
            continue
        path = Path(name)
        if path.is_dir():
            for file_path, regular in _walk_entries(path):
                if regular:  # a name no kind claims is not opened by the fold: no stat for its size either
                    size = _size(file_path) if may_claim_walked(file_path.name) else 0
                    yield Item(str(file_path), False, name, size)
        else:
            yield Item(name, True, None, _size(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except (OSError, ValueError):
        return 0


def units_of(items: list[Item | str], jobs: int) -> list[list[Item] | str]:
    """ITEMS cut into contiguous units: a big file alone, small ones together, standard input on its own."""
    files = [item for item in items if isinstance(item, Item)]
    total = sum(item.size for item in files)
    # a tree of many small files: units small enough that every worker gets several
    cap_files = max(1, min(UNIT_FILES, len(files) // max(1, jobs * UNITS_PER_WORKER) or 1))
    cap_bytes = max(64 * 1024, min(UNIT_BYTES, total // max(1, jobs * UNITS_PER_WORKER) or 1))
    units: list[list[Item] | str] = []
    current: list[Item] = []
    current_bytes = 0
    for item in items:
        if isinstance(item, str):
            if current:
                units.append(current)
                current, current_bytes = [], 0
            units.append(item)
            continue
        if current and (len(current) >= cap_files or current_bytes + item.size > cap_bytes):
            units.append(current)
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += item.size
    if current:
        units.append(current)
    return units


# -- in the worker --------------------------------------------------------------------------------------------

_counter: Any = None  # the shared byte counter the progress bar reads (set in each worker by _start_worker)


def _start_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _advance(nbytes: int) -> None:
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += nbytes


def fold_unit(unit: list[Item], options: CollectOptions) -> tuple[EvidenceStore, dict[str, list[int]]]:
    """The fold of UNIT's files, as `collect` folds them, and the files read and skipped per walked directory."""
    store = EvidenceStore(worth_keeping=_known_registry_host)
    quiet = replace(options, show_progress=False)  # the parent draws the bar
    ctx = ParseContext(variables=dict(options.variables), env_files=list(options.env_files))
    forced = parser_named(options.forced_kind) if options.forced_kind else None
    walked: dict[str, list[int]] = {}
    with bulk_parsing():
        for item in unit:
            path = Path(item.path)
            opened = (_open_one(path, explicit=True, root=None) if item.explicit
                      else _open_walked(path, root=Path(item.root or ".")))
            for found in opened:
                fold_found(store, found, quiet, ctx, forced, walked)
                _advance(item.size)
    store.worth_keeping = None  # a part travels back to the parent; the callable is set again there
    return store, walked


# -- in the parent --------------------------------------------------------------------------------------------


def should_pool(items: list[Item | str], jobs: int | None) -> bool:
    """Whether the run uses a pool: --jobs N > 1 with two inputs or more, or (no --jobs) enough work for it."""
    count = sum(1 for item in items if isinstance(item, Item))
    if count < 2:
        return False
    if jobs is not None:
        return jobs > 1
    if default_jobs() < 2:
        return False
    return count >= AUTO_MIN_FILES or sum(item.size for item in items if isinstance(item, Item)) >= AUTO_MIN_BYTES


def collect_parallel(inputs: Iterable[str], options: CollectOptions, jobs: int | None = None) -> EvidenceStore:
    """The evidence of INPUTS, parsed by JOBS worker processes (None: one per core, when worth it); the same
    EvidenceStore `collect` gives."""
    inputs = list(inputs)
    if any(is_url(name) for name in inputs):
        return collect(inputs, options)  # a URL is copied down where it is read: one process (remote_inputs)
    items = list(plan(inputs))
    if not should_pool(items, jobs):
        return collect(inputs, options)
    from auditor.core.merge import merge_stores  # only when the pool runs (a one-Dockerfile run: start-up)

    workers = jobs or default_jobs()
    units = units_of(items, workers)
    store = EvidenceStore()
    walked: dict[str, list[int]] = {}
    total = sum(item.size for item in items if isinstance(item, Item))
    with Progress(label=f"{len(items)} inputs, {workers} jobs", total=total, enabled=options.show_progress) as bar:
        for part, part_walked in _run_units(units, options, min(workers, len(units)), bar.advance):
            merge_stores(store, part)
            for root, (read, skipped) in part_walked.items():
                tally = walked.setdefault(root, [0, 0])
                tally[0] += read
                tally[1] += skipped
    store.worth_keeping = _known_registry_host
    report_empty_directories(store, inputs, walked)
    return store


def _run_units(units: list[list[Item] | str], options: CollectOptions, workers: int,
               advance: Callable[[int], None]) -> Iterator[tuple[EvidenceStore, dict[str, list[int]]]]:
    """Each unit's part, in unit order (standard input folded here, in its place)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork: the workers start with this process's modules already imported (a fresh interpreter per worker
    # would pay the start-up again); elsewhere the platform's default
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    counter = context.Value("q", 0)
    shown = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(counter,)) as pool:
        futures: list[Future[Any] | str] = [
            unit if isinstance(unit, str) else pool.submit(fold_unit, unit, options) for unit in units]
        try:
            for unit, future in zip(units, futures, strict=True):
                if isinstance(future, str):
                    yield collect([future], replace(options, show_progress=False)), {}
                    continue
                while not future.done():  # the bar moves while the parent waits for the unit in order
                    _wait(future)
                    shown = _show(counter, shown, advance)
                try:
                    part = future.result()
                except BrokenProcessPool:  # a worker died (killed, out of memory): this unit is folded here
                    assert not isinstance(unit, str)
                    part = fold_unit(unit, options)
                    part[0].worth_keeping = None
                shown = _show(counter, shown, advance)
                yield part
        finally:
            for future in futures:
                if not isinstance(future, str):
                    future.cancel()


def _wait(future: Future[Any]) -> None:
    from concurrent.futures import wait

    wait([future], timeout=POLL_SECONDS)


def _show(counter: Any, shown: int, advance: Callable[[int], None]) -> int:
    done = int(counter.value)
    if done > shown:
        advance(done - shown)
    return max(done, shown)


# -- ingest: the workers parse ahead, the parent writes ----------------------------------------------------------

READ_AHEAD_PER_WORKER = 2  # files parsed ahead of the writer per worker (bounds the aggregates held at once)


def aggregate_file(item: Item, variables: dict[str, str]) -> tuple[str, Any, str]:
    """(kind, aggregate or None, failure) of one file, parsed as `ingest` parses it (in a worker)."""
    from auditor.pipeline.ingest import aggregate_input
    from parsers import parser_for

    path = Path(item.path)
    with bulk_parsing():
        opened = (_open_one(path, explicit=True, root=None) if item.explicit
                  else _open_walked(path, root=Path(item.root or ".")))
        for inp, _explicit, error in opened:
            spec = parser_for(inp) if error is None and inp is not None else None
            if spec is None or inp is None:
                break
            agg, failure = aggregate_input(inp, spec, ParseContext(variables=dict(variables)))
            return spec.name, agg, failure
    return "", None, ""


class PoolParse:
    """A `parse` for IngestOptions: the files of the run are parsed by the pool a few ahead of the writer, in the
    order `ingest` asks for them; `ingest` takes a file's aggregate from there when the file is unchanged since
    and it wants the whole file (a grown log's new part, standard input, a changed file are parsed here). The
    store is written only by the parent, one transaction per input, as before."""

    def __init__(self, items: list[Item], variables: dict[str, str], workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._variables = variables
        self._waiting = [(key, item) for item in items if (key := file_key(Path(item.path))) is not None]
        self._next = 0
        self._ahead: dict[FileKey, Future[Any]] = {}
        self._window = workers * READ_AHEAD_PER_WORKER
        self._fill()

    def _fill(self) -> None:
        while len(self._ahead) < self._window and self._next < len(self._waiting):
            key, item = self._waiting[self._next]
            self._next += 1
            self._ahead[key] = self._pool.submit(aggregate_file, item, self._variables)
        if not self._ahead and self._next >= len(self._waiting):
            self._pool.shutdown(wait=False)

    def __call__(self, inp: Any, spec: Any, ctx: ParseContext, line_shift: int = 0) -> tuple[Any, str]:
        from auditor.pipeline.ingest import aggregate_input

        whole = line_shift == 0 and inp.display != "<stdin>"
        key = file_key(inp.path) if whole else None
        found = None
        if key is not None and key in self._ahead:
            # files before this one that ingest did not ask for were already ingested: their parse is dropped
            for earlier in list(self._ahead):
                if earlier == key:
                    break
                self._ahead.pop(earlier).cancel()
            try:
                found = self._ahead.pop(key).result()
            except Exception:  # a worker died: parsed here instead
                found = None
            self._fill()
        if found is not None and found[0] == spec.name:
            return found[1], found[2]
        return aggregate_input(inp, spec, ctx, line_shift)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def ingest_parser(inputs: Iterable[str], variables: dict[str, str], jobs: int | None) -> PoolParse | None:
    """For `ingest`: a parse fed by the pool, or None (parse as it goes, in this process) when not worth it."""
    items = list(plan(inputs))
    if not should_pool(items, jobs):
        return None
    files = [item for item in items if isinstance(item, Item)]
    parse = PoolParse(files, variables, jobs or default_jobs())
    import atexit

    atexit.register(parse.close)
    return parse
