"""The store's commands (`ingest`, `history`, `store info|prune|vacuum`) and the window options that
`audit` and `propose` take (`--store`, `--window`, `--since`, `--until`, `--as-of`).

Where the store is: `--store PATH`, else `$REGAUDIT_STORE`, else the config file's `store` (`.regaudit.yaml`,
or `--config FILE`), else `./regaudit.db` (`ingest`, `history`, `store`). `audit` and `propose` read a store
only when one is named, by `--store` or by the config file's `store` (`$REGAUDIT_STORE` then still decides
which file): an audit of its inputs alone does not start reading a store because a cron job's variable is set.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from auditor.pipeline.engine import engine_options

if TYPE_CHECKING:  # cli.py imports this module at start-up: sqlite3 and the store only when a command runs
    import sqlite3

    from auditor.core.evidence import EvidenceStore
    from auditor.pipeline.audit_run import AuditResult
    from auditor.store.reader import Window

DEFAULT_STORE = "regaudit.db"
EXIT_STORE = 2
_WINDOW = re.compile(r"(\d{1,5})d")


def default_store_path(configured: str | None = None) -> Path:
    """REGAUDIT_STORE, else CONFIGURED (the config file's default), else ./regaudit.db."""
    return Path(os.environ.get("REGAUDIT_STORE") or configured or DEFAULT_STORE)


def resolve_store_path(given: Path | None, configured: str | None = None) -> Path:
    return given if given is not None else default_store_path(configured)


def configured_store(config_path: Path | None) -> str | None:
    """The config file's `store` (the file named, else `.regaudit.yaml` here); a bad config file is exit 2."""
    from auditor.pipeline.config import ConfigError, find_config, load_config

    try:
        value = load_config(find_config(config_path)).option("store")
    except ConfigError as exc:
        _fail(str(exc))
    return str(value) if value else None


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="The config file whose `store` is the default store (default: .regaudit.yaml "
                             "in the current directory, if there).")(func)


def _fail(message: str) -> NoReturn:
    click.echo(f"regaudit: error: {message}", err=True)
    sys.exit(EXIT_STORE)


@contextmanager
def _store(path: Path, create: bool = False, check: bool = False) -> Iterator[sqlite3.Connection]:
    """The open store; any store error (refused, damaged, busy, full) is one line and exit 2."""
    import sqlite3

    from auditor.pipeline.store_roles import HostRoles, fill_pending_roles
    from auditor.store.schema import StoreError, describe, open_store

    try:
        conn = open_store(path, create=create, check=check)
        fill_pending_roles(conn, HostRoles())  # a store migrated from version 1: its rows get their roles
    except StoreError as exc:
        _fail(str(exc))
    except sqlite3.Error as exc:
        _fail(f"{path}: {describe(exc)}")
    try:
        yield conn
    except StoreError as exc:
        _fail(f"{path}: {exc}")
    except sqlite3.Error as exc:
        _fail(f"{path}: {describe(exc)}")
    finally:
        conn.close()


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}", param_hint=option) from None


# -- ingest ---------------------------------------------------------------------------------------


@click.command("ingest")
@click.argument("inputs", nargs=-1)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
              help=f"The store (default: $REGAUDIT_STORE, else the config file's `store`, else ./{DEFAULT_STORE}).")
@config_option
@click.option("--allowlist", "allowlists", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Record this allowlist as a version in force from now; repeatable.")
@click.option("--strict", is_flag=True, help="Exit 2 if any input could not be ingested.")
@engine_options
def ingest_command(inputs: tuple[str, ...], store_path: Path | None, config_path: Path | None,
                   allowlists: tuple[Path, ...], strict: bool) -> None:
    """Fold INPUTS into the evidence store, each byte once (a repeat, a rotated copy or a grown log is
    recognized by content)."""
    from auditor.pipeline.engine import ingest_parse_with_engine
    from auditor.pipeline.ingest import IngestOptions, Outcome, ingest, ingest_allowlist

    if not inputs and not allowlists:
        raise click.UsageError("nothing to ingest: name inputs and/or --allowlist FILE")
    path = resolve_store_path(store_path, configured_store(config_path))
    failed = 0

    def show(outcome: Outcome) -> None:
        nonlocal failed
        if outcome.status == "failed":
            failed += 1
            click.echo(f"regaudit: error: {outcome.display}: {outcome.message} (recorded as failed; ingest it "
                       "again once fixed)", err=True)
        else:
            click.echo(f"{outcome.status:<10} {outcome.display}" + (f": {outcome.message}" if outcome.message else ""))

    with _store(path, create=True, check=True) as conn:
        for allowlist in allowlists:
            outcome, errors = ingest_allowlist(conn, allowlist)
            for error in errors:
                click.echo(f"regaudit: error: {error}", err=True)
            show(outcome)
        ingest(conn, inputs, IngestOptions(parse=ingest_parse_with_engine(inputs, {})), report=show)
        judge_names(conn)  # the day's new names, judged now rather than by the next audit
    sys.exit(EXIT_STORE if strict and failed else 0)


# -- history ----------------------------------------------------------------------------------------


@click.command("history")
@click.argument("names", nargs=-1, required=True)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def history_command(names: tuple[str, ...], store_path: Path | None, config_path: Path | None,
                    output_format: str) -> None:
    """Daily use, clients, blocked attempts and the allowlist versions that allowed each HOST or ENTRY
    (an entry covers its subdomains)."""
    from auditor.store.history import history, render_table

    with _store(resolve_store_path(store_path, configured_store(config_path))) as conn:
        found = [history(conn, name) for name in names]
    text = json.dumps(found, indent=2, ensure_ascii=False) + "\n" if output_format == "json" \
        else render_table(found)
    click.echo(text, nl=False)


# -- store info | prune | vacuum -------------------------------------------------------------------------


@click.group("store")
def store_group() -> None:
    """Look after the evidence store: info, prune --before DATE, vacuum."""


@store_group.command("info")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def store_info(store_path: Path | None, config_path: Path | None, output_format: str) -> None:
    """What the store holds."""
    from auditor.store.history import info

    path = resolve_store_path(store_path, configured_store(config_path))
    # quick_check first, as ingest does: info reads little of a store (schema 3 keeps a day's long tail in a few
    # pages), so damage elsewhere would not show; it reads every page once (seconds for a year's store)
    with _store(path, check=True) as conn:
        facts = info(conn, path)
    if output_format == "json":
        click.echo(json.dumps(facts, indent=2))
        return
    for key, value in facts.items():
        click.echo(f"{key:<18} {value}")


@store_group.command("prune")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--before", required=True, metavar="DATE", help="Drop daily evidence of the days before DATE.")
def store_prune(store_path: Path | None, config_path: Path | None, before: str) -> None:
    """Drop the daily evidence before DATE (the inputs stay recorded, so they are not ingested again)."""
    from auditor.store.history import prune

    day = _day(before, "--before")
    with _store(resolve_store_path(store_path, configured_store(config_path))) as conn:
        removed = prune(conn, day.isoformat())
    click.echo(f"pruned {removed:,} daily rows before {day}")


@store_group.command("vacuum")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
def store_vacuum(store_path: Path | None, config_path: Path | None) -> None:
    """Give the space of pruned evidence back to the file system."""
    path = resolve_store_path(store_path, configured_store(config_path))
    before = path.stat().st_size if path.is_file() else 0
    with _store(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    click.echo(f"vacuumed {path}: {before:,} -> {path.stat().st_size:,} bytes")


# -- the window options of audit and propose --------------------------------------------------------------


def window_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--store, --window, --since, --until, --as-of; and INPUTS become optional (the store may be the
    evidence). Put above @evidence_options."""
    for param in getattr(func, "__click_params__", []):
        if isinstance(param, click.Argument) and param.name == "inputs":
            param.required = False
    func = click.option("--as-of", "as_of", metavar="DATE", help="Take DATE as today (reproducible reports).")(func)
    func = click.option("--until", metavar="DATE", help="The window ends on DATE (default: --as-of).")(func)
    func = click.option("--since", metavar="DATE", help="The window starts on DATE.")(func)
    func = click.option("--window", "window_days", metavar="Nd",
                        help="The N days before --as-of (default with --store: 90d).")(func)
    func = click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="Read the evidence store's evidence of the window too.")(func)
    return func


@dataclass
class StoreWindow:
    path: Path
    window: Window


def parse_window(store_path: Path | None, window_days: str | None, since: str | None, until: str | None,
                 as_of: str | None, configured: str | None = None) -> StoreWindow | None:
    from auditor.store.reader import Window, window_ending

    if store_path is None and configured:  # the config file names a store: audit and propose read it
        store_path = default_store_path(configured)
    if store_path is None:
        if window_days or since or until or as_of:
            raise click.UsageError("--window/--since/--until/--as-of need --store PATH")
        return None
    today = _day(as_of, "--as-of") if as_of else datetime.now(UTC).date()
    if window_days and since:
        raise click.UsageError("give --window or --since, not both")
    if since:
        end = _day(until, "--until") if until else today
        window = Window(_day(since, "--since"), end, today)
        if window.since > window.until:
            raise click.BadParameter("--since is after --until", param_hint="--since")
    else:
        match = _WINDOW.fullmatch((window_days or "90d").strip())
        if match is None or int(match.group(1)) < 1:
            raise click.BadParameter(f"expected a number of days such as 90d, got {window_days!r}",
                                     param_hint="--window")
        window = window_ending(_day(until, "--until") if until else today, int(match.group(1)))
        window = Window(window.since, window.until, today)
    return StoreWindow(store_path, window)


def merge_store_window(evidence: EvidenceStore, store_path: Path | None, window_days: str | None,
                       since: str | None, until: str | None, as_of: str | None,
                       inputs: tuple[str, ...] = (), configured: str | None = None,
                       covered: Collection[str] = ()) -> StoreWindow | None:
    """Fold the store's evidence of the window into EVIDENCE (the store the command built from its inputs);
    the window, or None without --store (or the config file's CONFIGURED store). COVERED: the allowlist entries
    under audit (a window too large to keep whole keeps the hosts they cover)."""
    from auditor.store.reader import fold_window

    chosen = parse_window(store_path, window_days, since, until, as_of, configured)
    if chosen is None:
        if not inputs:
            raise click.UsageError("name inputs, or --store PATH to read the evidence store")
        return None
    with _store(chosen.path) as conn:
        judge_names(conn)
        fold_window(conn, chosen.window, evidence, covered)
    return chosen


def judge_names(conn: sqlite3.Connection) -> None:
    """Give the names no judge has seen their verdict (store/verdicts.py): a store migrated from schema 3, or one
    a regaudit with other knowledge judged, is judged in full once (about 30 µs a name), with a bar."""
    from auditor.pipeline.name_verdicts import name_judge
    from auditor.pipeline.progress import Progress
    from auditor.store.verdicts import pending, refresh

    judge = name_judge()
    count = pending(conn, judge)
    if not count:
        return
    # the bar counts names as if bytes: it shows from about 8 M, so only for a long first judgement of a store
    with Progress("judging the store's names", count * 16) as bar:
        refresh(conn, judge, lambda done: bar.step(done * 16))


def add_period(result: AuditResult, chosen: StoreWindow | None) -> None:
    """With a window: time on the findings and the `period` section, in RESULT's findings and document."""
    if chosen is None:
        return
    from auditor.decisions.audit import FindingKind
    from auditor.decisions.period import annotate, period_section
    from reports.json_report import finding_dict

    assert result.analysis is not None, "the period is added before the decisions are let go"
    unused = [f.entries[0] for f in result.findings if f.kind is FindingKind.UNUSED and f.entries]
    with _store(chosen.path) as conn:
        facts = period_facts(conn, chosen, unused)
        annotate(result.findings, facts, result.analysis.mode)
    result.document["findings"] = [finding_dict(f) for f in result.findings]
    result.document["period"] = period_section(facts)
    since, until = chosen.window.bounds  # the command line of the record says which evidence it read
    result.document["command_line"] += ["--store", str(chosen.path), "--since", since, "--until", until,
                                        "--as-of", chosen.window.as_of.isoformat()]


def period_facts(conn: sqlite3.Connection, chosen: StoreWindow,  # type: ignore[no-untyped-def]
                 entries: list[str] | None = None):
    """What the window's period questions need; last use only of the hosts ENTRIES could cover, when given (a
    year of a resolver's long tail holds millions of names no unused entry covers)."""
    from auditor.decisions.period import PeriodFacts
    from auditor.store import reader

    since, until = chosen.window.bounds
    return PeriodFacts(
        since=chosen.window.since, until=chosen.window.until, as_of=chosen.window.as_of,
        store_path=str(chosen.path), began=reader.store_began(conn),
        last_use=reader.last_use(conn, until, entries), blocked=reader.blocked_daily(conn, since, until),
        evidence_days=frozenset(reader.evidence_days(conn, since, until)),
        inputs=reader.covering_inputs(conn, chosen.window), versions=reader.allowlist_versions(conn),
        clients_on=lambda hosts, day: reader.clients_on(conn, hosts, day))
