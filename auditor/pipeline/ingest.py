"""`regaudit ingest`: fold inputs into the store, each byte once.

Logs and captures ("stream" inputs) are known by their decompressed content: the same content again (the
same file, or a rotated, compressed copy of it such as dns.log.1.gz) is a no-op; content whose start is an
input already ingested (a log that grew, or a rotated copy of a log ingested while it was growing) is read
from where that ingest stopped. Repository and machine files ("snapshot" inputs) are folded per root: a
tree ingested again replaces that tree's previous snapshot.

Each input is parsed into an `InputAggregate` outside any transaction, then written in one transaction
under SQLite's write lock (`BEGIN IMMEDIATE`): a second ingest running at the same time waits for it (up to
BUSY_TIMEOUT_MS, then fails cleanly), and a run killed mid-file leaves the store as it was before that file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from auditor.core.allowlist import read_allowlist
from auditor.core.model import InputError
from auditor.pipeline.store_roles import HostRoles, fill_pending_roles
from auditor.store.aggregate import InputAggregate
from auditor.store.schema import StoreError, describe
from auditor.store.writer import InputRow, write_input
from parsers import ParserSpec, parser_for
from parsers.common.inputs import InputFile, ParseContext, bulk_parsing

STREAM_FAMILIES = ("parsers.logs", "parsers.traffic")
LINE_FAMILIES = ("parsers.logs",)  # read from an offset only where records are lines
HASH_BLOCK = 1024 * 1024


@dataclass
class Outcome:
    """What happened to one input: ingested | already | continued | failed | unchanged | allowlist."""

    display: str
    status: str
    message: str = ""


@dataclass
class IngestOptions:
    variables: dict[str, str] = field(default_factory=dict)
    after_batch: Callable[[int], None] = lambda _n: None  # inside the write transaction (tests kill here)
    # how a file becomes its aggregate: `aggregate_input` here, or a result a Dask worker made (issue 15, dask_engine)
    parse: Callable[..., tuple[InputAggregate | None, str]] | None = None  # aggregate_input's signature
    roles: HostRoles = field(default_factory=lambda: HostRoles())


@dataclass
class _Content:
    sha256: str
    length: int
    base_id: int | None = None  # the ingested input this content continues
    base_length: int = 0


def family_of(spec: ParserSpec) -> str:
    return "stream" if spec.parse.__module__.startswith(STREAM_FAMILIES) else "snapshot"


def ingest(conn: sqlite3.Connection, inputs: Iterable[str], options: IngestOptions | None = None,
           report: Callable[[Outcome], None] = lambda _o: None) -> list[Outcome]:
    """Ingest every file named or found under INPUTS; the outcome of each, in order."""
    from auditor.pipeline.collect import iter_inputs

    options = options or IngestOptions()
    outcomes: list[Outcome] = []
    fill_pending_roles(conn, options.roles)

    def note(outcome: Outcome) -> None:
        outcomes.append(outcome)
        report(outcome)

    ctx = ParseContext(variables=dict(options.variables))
    with bulk_parsing():
        for name in inputs:
            snapshot = _Snapshot(Path(name))
            for inp, explicit, error in iter_inputs([name]):
                if error is not None:
                    note(Outcome(error.source.path, "failed", error.message))
                    continue
                assert inp is not None
                spec = parser_for(inp)
                if spec is None:
                    if explicit:
                        note(_record_failure(conn, inp, "unknown", "unrecognized input kind"))
                    continue
                if family_of(spec) == "stream":
                    note(_ingest_stream(conn, inp, spec, ctx, options))
                else:
                    note(snapshot.ingest(conn, inp, spec, ctx, options))
            if snapshot.id is not None:
                note(snapshot.close(conn))
    return outcomes


def _now() -> str:
    """Now, or SOURCE_DATE_EPOCH when set (as audit reports do): the time an input or allowlist was ingested."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _absolute(inp: InputFile) -> str:
    return str(inp.path.resolve()) if inp.display != "<stdin>" else "<stdin>"


def aggregate_input(inp: InputFile, spec: ParserSpec, ctx: ParseContext, line_shift: int = 0
                    ) -> tuple[InputAggregate | None, str]:
    """The aggregate of INP, or None and why it failed (a parser exception, or nothing but errors). A worker
    of the fleet engine (issue 15) runs this per file or byte range and merges the results."""
    from auditor.pipeline.store_timing import Timeline, add_timing_edges

    agg = InputAggregate(line_shift=line_shift)
    timeline = Timeline()  # the store keeps no timeline: this input's timing edges are inferred here
    try:
        for record in spec.parse(inp, ctx):
            agg.add(record)
            timeline.add(record)
    except Exception as exc:  # one bad file must not stop the ingest: it is recorded as failed
        return None, f"{spec.name} parser failed: {type(exc).__name__}: {exc}"
    if agg.errors and agg.errors == agg.records:
        return None, "; ".join(sorted(agg.error_samples)) or "no records"
    add_timing_edges(timeline, agg)
    return agg, ""


def _record_failure(conn: sqlite3.Connection, inp: InputFile, kind: str, message: str,
                    family: str = "stream") -> Outcome:
    row = InputRow(_absolute(inp), inp.display, kind, family, inp.size, "", 0, 0, _now(), status="failed",
                   message=message)
    _transaction(conn, lambda: write_input(conn, row, None))
    return Outcome(inp.display, "failed", message)


def _transaction(conn: sqlite3.Connection, body: Callable[[], object]) -> object:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreError(describe(exc)) from None
    try:
        result = body()
        conn.execute("COMMIT")
        return result
    except sqlite3.Error as exc:
        _rollback(conn)
        raise StoreError(describe(exc)) from None
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (a full disk ends it)
        conn.execute("ROLLBACK")


# -- stream inputs: each byte once ---------------------------------------------------------------------


def _examine(conn: sqlite3.Connection, inp: InputFile, kind: str) -> _Content:
    """The content's hash and length, and the longest ingested content of this kind that it starts with."""
    candidates = sorted(conn.execute(
        "SELECT content_length, content_sha256, id FROM inputs WHERE status = 'ok' AND family = 'stream'"
        " AND kind = ? AND content_length > 0", (kind,)).fetchall())
    digest = hashlib.sha256()
    length = 0
    best: tuple[int, int] | None = None  # (length, id)
    at = 0
    last_byte = b""
    with inp.open() as stream:
        while True:
            block = stream.read(HASH_BLOCK)
            if not block:
                break
            start = 0
            while at < len(candidates) and candidates[at][0] <= length + len(block):
                cut = candidates[at][0] - length
                digest.update(block[start:cut])
                start = cut
                prefix_end = block[cut - 1:cut] if cut else last_byte
                if digest.hexdigest() == candidates[at][1] and prefix_end == b"\n":
                    best = (candidates[at][0], candidates[at][2])
                at += 1
            digest.update(block[start:])
            length += len(block)
            last_byte = block[-1:]
    content = _Content(digest.hexdigest(), length)
    if best is not None and best[0] < length:
        content.base_length, content.base_id = best
    return content


def _already(conn: sqlite3.Connection, sha: str) -> str | None:
    row = conn.execute("SELECT display, ingested_at FROM inputs WHERE status = 'ok' AND family = 'stream'"
                       " AND content_sha256 = ? ORDER BY id LIMIT 1", (sha,)).fetchone()
    return f"same content as {row[0]}, ingested {row[1]}" if row else None


def _ingest_stream(conn: sqlite3.Connection, inp: InputFile, spec: ParserSpec, ctx: ParseContext,
                   options: IngestOptions) -> Outcome:
    try:
        content = _examine(conn, inp, spec.name)
    except (OSError, EOFError, ValueError) as exc:
        return _record_failure(conn, inp, spec.name, f"cannot read: {exc}")
    same = _already(conn, content.sha256)
    if same is not None:
        return Outcome(inp.display, "already", same)
    if content.base_id is not None and not spec.parse.__module__.startswith(LINE_FAMILIES):
        content.base_id, content.base_length = None, 0  # a capture is read whole
    tail: Path | None = None
    try:
        source, shift = inp, 0
        if content.base_id is not None:
            tail, shift = _spool_tail(inp, content.base_length)
            source = InputFile.from_path(tail, display=inp.display)
        agg, failure = (options.parse or aggregate_input)(source, spec, ctx, shift)
    except OSError as exc:  # the temporary copy of the new part could not be written (a full /tmp)
        return Outcome(inp.display, "failed", f"cannot copy the part not yet ingested: {exc.strerror or exc}")
    finally:
        if tail is not None:
            tail.unlink(missing_ok=True)
    if agg is None:
        return _record_failure(conn, inp, spec.name, failure)
    row = InputRow(_absolute(inp), inp.display, spec.name, "stream", inp.size, content.sha256, content.length,
                   content.base_length, _now(), continues=content.base_id)

    def write() -> Outcome:
        same = _already(conn, content.sha256)  # another ingest may have written it while this one parsed
        if same is not None:
            return Outcome(inp.display, "already", same)
        write_input(conn, row, agg, options.after_batch, options.roles)
        counted = agg.contributed()
        summary = f"{counted['observations']:,} observations, {counted['blocked_attempts']:,} blocked attempts"
        if agg.errors:
            summary += f"; {agg.errors} input error(s), e.g. {min(agg.error_samples)}"
        if content.base_id is not None:
            return Outcome(inp.display, "continued", f"read from byte {content.base_length:,} (the rest was "
                           f"ingested before): {summary}")
        return Outcome(inp.display, "ingested", summary)

    return _transaction(conn, write)  # type: ignore[return-value]


def _spool_tail(inp: InputFile, offset: int) -> tuple[Path, int]:
    """A temporary file with INP's decompressed content from OFFSET, after its leading `#` header lines (a
    Zeek log's #fields must still describe the columns), and how many lines its line numbers are behind the
    file's."""
    header = b""
    for line in inp.head.splitlines(keepends=True):
        if not line.startswith(b"#") or len(header) + len(line) > offset:
            break
        header += line
    handle, name = tempfile.mkstemp(prefix="regaudit-tail-")
    with os.fdopen(handle, "wb") as out, inp.open() as stream:
        out.write(header)
        remaining = offset
        skipped_lines = 0
        while remaining:
            skipped = stream.read(min(remaining, HASH_BLOCK))
            if not skipped:
                break
            remaining -= len(skipped)
            skipped_lines += skipped.count(b"\n")
        while block := stream.read(HASH_BLOCK):
            out.write(block)
    return Path(name), skipped_lines - header.count(b"\n")


# -- snapshot inputs: a tree replaces its previous snapshot ----------------------------------------------


class _Snapshot:
    """The repository/machine files of one named input (a directory or a file), as one snapshot."""

    def __init__(self, root: Path) -> None:
        self.root = str(root.resolve())
        self.commit = _git_commit(root)
        self.id: int | None = None
        self.files: list[tuple[str, str]] = []

    def ingest(self, conn: sqlite3.Connection, inp: InputFile, spec: ParserSpec, ctx: ParseContext,
               options: IngestOptions) -> Outcome:
        try:
            sha = _sha256(inp)
        except (OSError, EOFError, ValueError) as exc:
            return _record_failure(conn, inp, spec.name, f"cannot read: {exc}", "snapshot")
        agg, failure = (options.parse or aggregate_input)(inp, spec, ctx)
        if agg is None:
            return _record_failure(conn, inp, spec.name, failure, "snapshot")

        def write() -> None:
            if self.id is None:
                self.id = int(conn.execute("INSERT INTO snapshots (root, git_commit, started_at) VALUES (?,?,?)",
                                           (self.root, self.commit, _now())).lastrowid or 0)
            row = InputRow(_absolute(inp), inp.display, spec.name, "snapshot", inp.size, sha, inp.size, 0, _now(),
                           snapshot_id=self.id)
            write_input(conn, row, agg, options.after_batch, options.roles)

        _transaction(conn, write)
        self.files.append((inp.display, sha))
        return Outcome(inp.display, "ingested", f"{len(agg.static)} references (snapshot of {self.root})")

    def close(self, conn: sqlite3.Connection) -> Outcome:
        def finish() -> Outcome:
            previous = conn.execute("SELECT id, git_commit FROM snapshots WHERE root = ? AND complete = 1"
                                    " ORDER BY id DESC LIMIT 1", (self.root,)).fetchone()
            if previous is not None and previous[1] == self.commit and self._files(conn, previous[0]) == sorted(
                    self.files):
                conn.execute("DELETE FROM static_records WHERE snapshot_id = ?", (self.id,))
                conn.execute("DELETE FROM inputs WHERE snapshot_id = ?", (self.id,))
                conn.execute("DELETE FROM snapshots WHERE id = ?", (self.id,))
                return Outcome(self.root, "unchanged", f"same files as the snapshot of {self.root} already held")
            conn.execute("UPDATE snapshots SET complete = 1 WHERE id = ?", (self.id,))
            conn.execute("DELETE FROM static_records WHERE snapshot_id IN (SELECT id FROM snapshots WHERE root = ?"
                         " AND id != ?)", (self.root, self.id))
            replaced = " (replaces the previous snapshot)" if previous is not None else ""
            return Outcome(self.root, "snapshot", f"{len(self.files)} file(s){replaced}")

        return _transaction(conn, finish)  # type: ignore[return-value]

    @staticmethod
    def _files(conn: sqlite3.Connection, snapshot_id: int) -> list[tuple[str, str]]:
        return sorted(conn.execute("SELECT display, content_sha256 FROM inputs WHERE snapshot_id = ?",
                                   (snapshot_id,)).fetchall())


def _sha256(inp: InputFile) -> str:
    digest = hashlib.sha256()
    with inp.open() as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _git_commit(root: Path) -> str | None:
    """HEAD's commit when ROOT is a git work tree (read from .git, no git process)."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="ascii", errors="replace").strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            if ref_file.is_file():
                return ref_file.read_text(encoding="ascii", errors="replace").strip()[:40]
            for line in (git / "packed-refs").read_text(encoding="ascii", errors="replace").splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0][:40]
            return None
        return head[:40]
    except OSError:
        return None


# -- allowlist versions -------------------------------------------------------------------------------


def ingest_allowlist(conn: sqlite3.Connection, path: Path) -> tuple[Outcome, list[InputError]]:
    """Record PATH as an allowlist version (by content hash), with the time it was first ingested."""
    allowlist, errors = read_allowlist(path)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    entries = sorted({entry.address for entry in allowlist})
    import json

    def write() -> Outcome:
        known = conn.execute("SELECT first_ingested FROM allowlists WHERE sha256 = ?", (sha,)).fetchone()
        if known:
            return Outcome(str(path), "already", f"allowlist version known since {known[0]}")
        conn.execute("INSERT INTO allowlists (sha256, path, first_ingested, entries, text) VALUES (?,?,?,?,?)",
                     (sha, str(path), _now(), json.dumps(entries), data.decode("utf-8", errors="replace")))
        return Outcome(str(path), "allowlist", f"new allowlist version, {len(entries)} entries, sha256 {sha[:12]}")

    return _transaction(conn, write), errors  # type: ignore[return-value]
