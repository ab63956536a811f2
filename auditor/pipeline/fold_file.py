"""Folding one opened input into an evidence store: the per-file step both engines run.

`collect` (the local engine) and the Dask engine's file tasks walk inputs differently, but every file they
open goes through `fold_input`: an open error is recorded (a named input that gives nothing fails the run),
the kind is detected (or forced with --kind), an unknown kind is skipped (or fails a named input) and a known
one is parsed into the store by `_parse_one`. One function, so the engines cannot drift apart. A large
line-oriented log is parsed as byte ranges, one after the other (auditor/pipeline/byte_ranges.py: the same
ranges the Dask engine parses in parallel, so both give the same records). A parser's failure on one file
becomes an InputError naming the file; the run goes on with the rest.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Protocol

from auditor.core.evidence import EvidenceStore
from auditor.core.model import BlockedAttempt, InputError, InputRecord, Observation, Source
from auditor.core.timestamps import TimestampGate
from auditor.pipeline.byte_ranges import plan_ranges, ranged_spec
from auditor.pipeline.progress import Progress
from parsers import ParserSpec, parser_for
from parsers.common.inputs import InputFile, ParseContext, sha256_of

UNRECOGNIZED = "unrecognized input kind (not a known file, capture or log format; name it with --kind)"


class FoldOptions(Protocol):
    """What of collect's options a file's fold reads (collect.CollectOptions)."""

    hash_inputs: bool
    show_progress: bool | None
    range_bytes: int | None  # a line-oriented log of twice this or more is read as ranges of about this size


class Folded(Enum):
    """What became of one opened input."""

    READ = "read"  # a known kind, parsed
    SKIPPED = "skipped"  # found under a directory, of no known kind
    FAILED = "failed"  # unreadable, or named on the command line and of no known kind


def fold_input(store: EvidenceStore, inp: InputFile | None, explicit: bool, error: InputError | None,
               ctx: ParseContext, options: FoldOptions, forced: ParserSpec | None) -> Folded:
    """Fold INP (or its open ERROR) into STORE as `collect` always has."""
    if error is not None:
        if explicit:
            _unusable(store, error)
        else:  # one unreadable file of a walked tree: the rest of the tree still counts
            store.add(error)
        return Folded.FAILED
    assert inp is not None
    spec = forced if (forced is not None and explicit) else parser_for(inp, explicit=explicit)
    if spec is None:
        if explicit:
            _unusable(store, inp.error(UNRECOGNIZED))
            return Folded.FAILED
        store.skipped_files += 1
        return Folded.SKIPPED
    ranges = plan_ranges(inp, spec.name, options.range_bytes)
    _parse_one(inp, ranged_spec(spec, ranges) if ranges else spec, ctx, options, store)
    return Folded.READ


def _unusable(store: EvidenceStore, error: InputError) -> None:
    store.add(error)
    store.unusable.append(error)



def _parse_one(inp: InputFile, spec: ParserSpec, ctx: ParseContext, options: FoldOptions,
               store: EvidenceStore) -> None:
    record = InputRecord(path=inp.display, kind=spec.name, size=inp.size, sha256="")
    if options.hash_inputs:
        try:
            record.sha256 = sha256_of(inp.path)
        except OSError as exc:
            store.add(inp.error(f"cannot hash: {exc.strerror or exc}"))
    with Progress(label=inp.display, total=inp.size, enabled=options.show_progress) as progress:
        ctx.advance = progress.advance
        gate = TimestampGate(inp.display, spec.name)
        where: Source | None = None  # the last record's place: where a parser that fails was
        try:
            for item in spec.parse(inp, ctx):
                item, bad_time = gate.check(item)
                if bad_time is not None:
                    record.errors += 1
                    store.add(bad_time)
                where = _place_of(item) or where
                record.records += 1
                if isinstance(item, InputError):
                    record.errors += 1
                elif isinstance(item, Observation | BlockedAttempt) and item.time is not None:
                    end = item.last_time if item.last_time is not None else item.time
                    record.first_time = item.time if record.first_time is None else min(record.first_time, item.time)
                    record.last_time = end if record.last_time is None else max(record.last_time, end)
                store.add(item)
        except Exception as exc:  # one bad file must not lose the rest of the run (records so far are kept)
            record.errors += 1
            store.add(_failure(inp, spec.name, exc, where))
        finally:
            if (more := gate.summary()) is not None:
                store.add(more)
            ctx.advance = lambda _n: None
    store.inputs.append(record)


def _place_of(item: object) -> Source | None:
    source = getattr(item, "source", None)
    if source is None and getattr(item, "evidence", None):
        source = item.evidence[0]  # type: ignore[attr-defined]
    return source if isinstance(source, Source) and (source.line or source.packet) else None


def _failure(inp: InputFile, parser: str, exc: Exception, where: Source | None) -> InputError:
    """A parser's bug, named by where it stopped: after the last line or packet it yielded a record for."""
    text = " ".join(str(exc).split())[:200]
    if where is None:
        place, line, packet = "before its first record", None, None
    else:
        line, packet = where.line, where.packet
        place = f"after line {line}" if line else f"after packet {packet}"
    return inp.error(f"{parser} parser failed {place} ({type(exc).__name__}: {text}); "
                     "the records before it are kept, the rest of the file is not read",
                     line=line, packet=packet, parser=parser)


FileKey = tuple[str, int, int]  # (resolved path, size, mtime in ns): the file a worker parsed, unchanged since


def file_key(path: Path) -> FileKey | None:
    """What shows a worker's parse of PATH is of the file the writer opens (ingest parses ahead in workers)."""
    try:
        stat = path.stat()
        return str(path.resolve()), stat.st_size, stat.st_mtime_ns
    except OSError:
        return None
