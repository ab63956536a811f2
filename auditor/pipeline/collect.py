"""Collecting evidence: walk the inputs, detect each file's kind, run its parser, fold the records.

A parser's failure on one file becomes an InputError naming the file; the run goes on with the rest. The
per-file step is auditor/pipeline/fold_file.py, shared with the Dask engine.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.core.evidence import EvidenceStore
from auditor.core.model import InputError, Source
from auditor.pipeline.byte_ranges import DEFAULT_RANGE_BYTES
from auditor.pipeline.fold_file import UNRECOGNIZED, Folded, _parse_one, _unusable, fold_input  # noqa: F401
from auditor.pipeline.remote_inputs import with_urls
from parsers import ParserSpec, may_claim_walked, parser_named
from parsers.common.inputs import InputFile, ParseContext, bulk_parsing

if TYPE_CHECKING:
    from auditor.knowledge import Knowledge

# Trees that hold other people's code or generated files, not the organization's own configuration.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "third_party", "third-party", "bower_components",
    ".venv", "venv", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    "site-packages", ".terraform", ".idea", ".vscode",
})


@dataclass(frozen=True)
class CollectOptions:
    variables: dict[str, str]
    env_files: tuple[Path, ...] = ()
    hash_inputs: bool = False  # SHA-256 of every input, for the compliance section of a report
    show_progress: bool | None = None  # None: only when stderr is a terminal
    forced_kind: str | None = None  # parse every explicit input as this kind (--kind)
    values_files: tuple[Path, ...] = ()  # Helm values files (--values), applied over every chart found
    range_bytes: int | None = DEFAULT_RANGE_BYTES  # --range-bytes: a large log is read as ranges (byte_ranges.py)


def _walk(root: Path) -> Iterator[Path]:
    """Files under ROOT in a stable order, skipping vendored trees; directory symlinks are not followed."""
    for path, _regular in _walk_entries(root):
        yield path


def _walk_entries(root: Path) -> Iterator[tuple[Path, bool]]:
    """(file, whether it is a regular file or a link to one) under ROOT, in os.walk's top-down order with names
    sorted. The directory listing already says what each entry is, so a walk costs no stat per file (issue 18:
    the walk was 57x slower than `find`)."""
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:  # an unreadable directory is skipped, as os.walk skips it
            continue
        files: list[tuple[str, bool]] = []
        subdirs: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name not in SKIP_DIRS and not entry.is_symlink():
                    subdirs.append(entry.name)
            else:
                files.append((entry.name, entry.is_file()))
        files.sort()
        for name, regular in files:
            yield Path(os.path.join(directory, name)), regular
        pending.extend(os.path.join(directory, name) for name in sorted(subdirs, reverse=True))


def _display(path: Path) -> str:
    text = str(path)
    return text[2:] if text.startswith("./") else text


def iter_inputs(inputs: Iterable[str]) -> Iterator[tuple[InputFile | None, bool, InputError | None]]:
    """Yield (input file, named explicitly, error) for every file named or found under a directory."""
    for name in inputs:
        if not name:  # Path("") is the working directory: an unset shell variable must not walk it
            yield None, True, InputError("an empty input name (an unset variable?): nothing read for it",
                                         Source('""'))
            continue
        if name == "-":
            try:
                yield InputFile.from_stdin(), True, None
            except OSError as exc:
                yield None, True, InputError(f"cannot read standard input: {exc}", Source("<stdin>"))
            continue
        path = Path(name)
        if path.is_dir():
            for file_path, regular in _walk_entries(path):
                if regular:  # a broken link, a socket or a FIFO found by a walk is not an input
                    yield from _open_walked(file_path, root=path)
        else:
            yield from _open_one(path, explicit=True, root=None)


def _open_walked(path: Path, root: Path) -> Iterator[tuple[InputFile | None, bool, InputError | None]]:
    """A regular file found by the walk (its listing said so: no stat before the open). One no parser claims by
    its name is not opened at all: a walk over a checkout meets mostly such files (issue 18)."""
    display = _display(path)
    if not may_claim_walked(path.name):
        yield InputFile.unopened(path, display, root), False, None
        return
    try:
        yield InputFile.from_path(path, display=display, root=root), False, None
    except OSError as exc:
        yield None, False, InputError(f"cannot read: {exc.strerror or exc}", Source(display))


def _open_one(path: Path, explicit: bool, root: Path | None
              ) -> Iterator[tuple[InputFile | None, bool, InputError | None]]:
    display = _display(path)
    try:
        if not path.exists():
            raise FileNotFoundError("no such file or directory")
        if not path.is_file():
            if explicit:
                yield None, explicit, InputError("not a regular file", Source(display))
            return
        yield InputFile.from_path(path, display=display, root=root), explicit, None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        yield None, explicit, InputError(f"cannot read: {reason}", Source(display))


def parse_context(options: CollectOptions) -> ParseContext:
    """What every parser of one run is given (made again on each Dask worker: contexts do not travel)."""
    return ParseContext(variables=dict(options.variables), env_files=list(options.env_files),
                        values_files=list(options.values_files))


def collect(inputs: Iterable[str], options: CollectOptions, store: EvidenceStore | None = None
            ) -> EvidenceStore:
    store = store or EvidenceStore()
    if store.worth_keeping is None:
        store.worth_keeping = _known_registry_host
    ctx = parse_context(options)
    forced: ParserSpec | None = parser_named(options.forced_kind) if options.forced_kind else None
    walked: dict[str, list[int]] = {}  # named directory -> [files read, files skipped]
    with bulk_parsing():
        for found in with_urls(inputs, iter_inputs):
            fold_found(store, found, options, ctx, forced, walked)
    _forget_names()
    report_empty_directories(store, inputs, walked)
    return store


def _forget_names() -> None:
    """The log parsers' name cache dropped once the inputs are read (if a log parser ran: a run of repository
    files never imports the log reader)."""
    line_reader = sys.modules.get("parsers.logs.line_reader")
    if line_reader is not None:
        line_reader.forget_names()


Found = tuple[InputFile | None, bool, InputError | None]


def fold_found(store: EvidenceStore, found: Found, options: CollectOptions, ctx: ParseContext,
               forced: ParserSpec | None, walked: dict[str, list[int]]) -> None:
    """One (input file, named explicitly, error) of `iter_inputs` folded into STORE; WALKED counts the files read
    and skipped per walked directory (the parallel engine folds ranges of inputs with this, in worker processes)."""
    inp, explicit, error = found
    folded = fold_input(store, inp, explicit, error, ctx, options, forced)
    if inp is not None and inp.root is not None and folded is not Folded.FAILED:
        walked.setdefault(str(inp.root), [0, 0])[folded is Folded.SKIPPED] += 1


def report_empty_directories(store: EvidenceStore, inputs: Iterable[str], walked: dict[str, list[int]]) -> None:
    """A named directory that held no input of a known kind fails the run, as a named file of no known kind."""
    for name in inputs:
        if name not in ("-", "") and Path(name).is_dir() and not walked.get(str(Path(name)), [0])[0]:
            skipped = walked.get(str(Path(name)), [0, 0])[1]
            _unusable(store, InputError(f"no input of a known kind in this directory ({skipped} files skipped)",
                                        Source(_display(Path(name)))))


@functools.cache
def _knowledge() -> Knowledge:
    from auditor.knowledge import load_knowledge  # the YAML knowledge base: only past the host limit

    return load_knowledge()


def _known_registry_host(host: str) -> bool:
    """Whether the knowledge base knows HOST (a registry, auth, storage or CDN host of a profile, or one
    that looks self-hosted): asked only past the evidence store's host limit, so loaded only then."""
    knowledge = _knowledge()
    # each new name of a flood is asked about once: its answer is not remembered (it would fill the memo)
    return knowledge.match(host, remember=False) is not None or knowledge.self_hosted_look(host) is not None


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
