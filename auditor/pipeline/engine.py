"""Which engine reads the inputs: `local` (this process, the default) or `dask` (a distributed cluster).

The options (`--engine`, `--scheduler`, `--workers`) are added by one decorator and kept in the click
context, so a command's signature does not change; `collect_with_engine` is the one call site switch.
Nothing here imports Dask: the local engine must start as fast as before (auditor/pipeline/dask_engine.py
is imported only for `--engine dask`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # cli.py imports this module at start-up: nothing heavy at module level
    from auditor.core.evidence import EvidenceStore
    from auditor.pipeline.collect import CollectOptions

META_KEY = "regaudit.engine"


@dataclass(frozen=True)
class EngineChoice:
    name: str = "local"  # local | dask
    scheduler: str | None = None  # the address of a running distributed scheduler
    workers: int | None = None  # or: a LocalCluster of this many worker processes, started for the run
    range_bytes: int | None = None  # a line-oriented log past twice this is read as ranges of about this size
    jobs: int | None = None  # --engine local: worker processes (None: one per core, when worth it)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(META_KEY, {})[param.name] = value
    return value


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--engine, --scheduler, --workers, --range-bytes, --jobs (not passed to the command: read by `engine_choice`)."""
    func = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, expose_value=False,
                        callback=_remember, help="--engine local: parse independent inputs in N worker processes "
                                                 "(default: one per core when the inputs are worth it; 1: in "
                                                 "this process).")(func)
    func = click.option("--range-bytes", type=click.IntRange(min=4096), default=None, expose_value=False,
                        callback=_remember, metavar="N",
                        help="read a line-oriented log of 2N bytes or more as byte ranges of about N, each "
                             "with its own fold (dask: one task each; local: one after the other, so both give "
                             "the same answer; default 128 MiB).")(func)
    func = click.option("--workers", type=click.IntRange(min=1), default=None, expose_value=False,
                        callback=_remember, help="--engine dask: start a local cluster of N worker processes "
                                                 "(127.0.0.1 only) for this run.")(func)
    func = click.option("--scheduler", metavar="ADDRESS", default=None, expose_value=False, callback=_remember,
                        help="--engine dask: the address of a running distributed scheduler "
                             "(tcp://HOST:8786).")(func)
    func = click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                        expose_value=False, callback=_remember,
                        help="local: read the inputs in this process; dask: one task per input on a Dask "
                             "cluster (pip install regaudit[dask]; see docs/dask.md).")(func)
    return func


def engine_choice() -> EngineChoice:
    """The engine the current command was given (local when no context or no option)."""
    ctx = click.get_current_context(silent=True)
    given: dict[str, Any] = ctx.meta.get(META_KEY, {}) if ctx is not None else {}  # meta is shared by nested contexts
    choice = EngineChoice(given.get("engine") or "local", given.get("scheduler"), given.get("workers"),
                          given.get("range_bytes"), given.get("jobs"))
    if choice.name == "dask" and choice.jobs is not None:
        raise click.UsageError("--jobs is for --engine local (the dask engine's processes: --workers)")
    if choice.name == "local" and (choice.scheduler or choice.workers):
        raise click.UsageError("--scheduler and --workers need --engine dask")
    if choice.name == "dask" and choice.scheduler and choice.workers:
        raise click.UsageError("give --scheduler or --workers, not both")
    return choice


def collect_with_engine(inputs: Iterable[str], options: CollectOptions) -> EvidenceStore:
    """The evidence of INPUTS, read by the engine the command was given."""
    choice = engine_choice()
    if choice.range_bytes:  # both engines: where a large log is cut decides its records (byte_ranges.py)
        options = replace(options, range_bytes=choice.range_bytes)
    if choice.name == "local":
        from auditor.pipeline.parallel import collect_parallel

        return collect_parallel(inputs, options, choice.jobs)
    from auditor.pipeline.dask_engine import DaskUnavailable, collect_on_dask

    try:
        return collect_on_dask(list(inputs), options, choice.scheduler, choice.workers,
                               range_bytes=options.range_bytes)
    except DaskUnavailable as exc:
        raise click.UsageError(str(exc)) from None


def ingest_parse_with_engine(inputs: Iterable[str], variables: dict[str, str]) -> Callable[..., Any] | None:
    """For `ingest`: a parse fed by the cluster's tasks, or by the local pool (--jobs), or None (parse as it goes)."""
    choice = engine_choice()
    if choice.name == "local":
        from auditor.pipeline.parallel import ingest_parser

        return ingest_parser(inputs, variables, choice.jobs)
    from auditor.pipeline.dask_engine import DaskUnavailable, ingest_parser_on_dask

    try:
        return ingest_parser_on_dask(list(inputs), variables, choice.scheduler, choice.workers)
    except DaskUnavailable as exc:
        raise click.UsageError(str(exc)) from None
