"""Opening a store: SQLite through the standard library, WAL mode, a schema version with migrations.

A store is recognized by its SQLite `application_id` and a `meta` row; anything else (another SQLite
database, a file that is not a database, a damaged one, a store written by a newer regaudit) is refused
with one `StoreError` naming the file, never half-read or overwritten.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from auditor.store.codec import ROLES_PENDING

APPLICATION_ID = 0x52474144  # "RGAD"
STORE_FORMAT = "regaudit-store"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 30_000  # a second ingest waits this long for the first one's transaction, then fails cleanly
WAIT_VARIABLE = "REGAUDIT_STORE_WAIT"  # seconds to wait instead (0: fail at once when another run writes)


class StoreError(Exception):
    """The store cannot be used: one line that names the file and why."""


_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inputs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,            -- absolute path as ingested
    display TEXT NOT NULL,
    kind TEXT NOT NULL,            -- the parser
    family TEXT NOT NULL,          -- stream (logs, captures: each byte once) | snapshot (repository, machine)
    size INTEGER NOT NULL,         -- bytes on disk
    content_sha256 TEXT NOT NULL,  -- of the decompressed content covered so far (whole, not only what this read)
    content_length INTEGER NOT NULL,
    start_offset INTEGER NOT NULL, -- where this ingest started reading (a grown log: where the last one stopped)
    continues INTEGER REFERENCES inputs(id),
    snapshot_id INTEGER REFERENCES snapshots(id),
    status TEXT NOT NULL,          -- ok | failed
    message TEXT NOT NULL DEFAULT '',
    ingested_at TEXT NOT NULL,
    first_time REAL, last_time REAL,
    records INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    contributed TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX inputs_content ON inputs(content_sha256, status);
CREATE INDEX inputs_path ON inputs(path, status);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL, git_commit TEXT, started_at TEXT NOT NULL, complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE host_days (
    day TEXT NOT NULL, host TEXT NOT NULL, kind TEXT NOT NULL, input_id INTEGER NOT NULL,
    count INTEGER NOT NULL, api_calls INTEGER NOT NULL, first REAL, last REAL,
    clients TEXT NOT NULL,  -- one name a line (the CLIENT_CAP smallest), clients_overflow: there were more
    clients_overflow INTEGER NOT NULL, sample TEXT
);
CREATE INDEX host_days_day ON host_days(day, host);
CREATE INDEX host_days_host ON host_days(host, day);
CREATE TABLE blocked_days (
    day TEXT NOT NULL, host TEXT NOT NULL, reason TEXT NOT NULL, input_id INTEGER NOT NULL,
    count INTEGER NOT NULL, first REAL, last REAL, clients TEXT NOT NULL, clients_overflow INTEGER NOT NULL,
    images TEXT NOT NULL, details TEXT NOT NULL, samples TEXT NOT NULL
);
CREATE INDEX blocked_days_day ON blocked_days(day, host);
CREATE TABLE edges (
    day TEXT NOT NULL, from_host TEXT NOT NULL, to_host TEXT NOT NULL, via TEXT NOT NULL, input_id INTEGER NOT NULL,
    confidence TEXT NOT NULL, count INTEGER NOT NULL, first REAL, last REAL,
    clients TEXT NOT NULL, details TEXT NOT NULL, samples TEXT NOT NULL
);
CREATE INDEX edges_day ON edges(day);
CREATE TABLE static_records (  -- image references, host references, unresolved items
    input_id INTEGER NOT NULL, snapshot_id INTEGER, kind TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX static_snapshot ON static_records(snapshot_id);
CREATE TABLE allowlists (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT NOT NULL, first_ingested TEXT NOT NULL,
    entries TEXT NOT NULL, text TEXT NOT NULL
);
"""

# Version 2: the role each host plays (registry, auth, cdn, blob, ...: ROLES_PENDING until ingest fills the rows
# a version-1 store holds), and the daily tables keyed by their primary key WITHOUT ROWID. A version-1 row
# costs its table row plus two index entries that repeat day and host; keyed by (day, host, ...) the table is
# its own day index, and the host index holds only the key.
# ROLES_PENDING ("?"): the role of a row migrated from version 1, filled in by the next command that opens the store

_V2 = f"""
CREATE TABLE host_days_v2 (
    day TEXT NOT NULL, host TEXT NOT NULL, kind TEXT NOT NULL, input_id INTEGER NOT NULL,
    role TEXT NOT NULL,    -- registry | auth | cdn | blob | ... (the knowledge base's, at ingest) | '' (other)
    count INTEGER NOT NULL, api_calls INTEGER NOT NULL, first REAL, last REAL,
    clients TEXT NOT NULL, clients_overflow INTEGER NOT NULL, sample TEXT,
    PRIMARY KEY (day, host, kind, input_id)
) WITHOUT ROWID;
INSERT INTO host_days_v2 SELECT day, host, kind, input_id, '{ROLES_PENDING}', count, api_calls, first, last, clients,
    clients_overflow, sample FROM host_days;
DROP TABLE host_days;
ALTER TABLE host_days_v2 RENAME TO host_days;
CREATE INDEX host_days_host ON host_days(host, day);
CREATE TABLE edges_v2 (
    day TEXT NOT NULL, from_host TEXT NOT NULL, to_host TEXT NOT NULL, via TEXT NOT NULL, input_id INTEGER NOT NULL,
    confidence TEXT NOT NULL, count INTEGER NOT NULL, first REAL, last REAL,
    clients TEXT NOT NULL, details TEXT NOT NULL, samples TEXT NOT NULL,
    PRIMARY KEY (day, from_host, to_host, via, input_id)
) WITHOUT ROWID;
INSERT INTO edges_v2 SELECT * FROM edges;
DROP TABLE edges;
ALTER TABLE edges_v2 RENAME TO edges;
INSERT INTO meta VALUES ('roles_pending', '1')
"""

# Version 3: names interned (hosts, clients and roles as integer ids into `names`), days as day numbers, a
# query's answers folded into its row, and the cells of hosts seen once a day (a resolver's long tail) kept as
# compressed column arrays, one row per day and input (`once_days`); edges keyed by ids. auditor/store/migrate_v3.py
# converts a version-2 store's rows in place.
V3_TABLES = """
CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE host_days (
    day INTEGER NOT NULL,         -- days since 1970-01-01 (UTC); codec.UNDATED_DAY for a record without a time
    host INTEGER NOT NULL,        -- names.id
    kind INTEGER NOT NULL,        -- codec.KINDS index (0: dns-query)
    input_id INTEGER NOT NULL,
    role INTEGER NOT NULL,        -- names.id of the role (registry, auth, cdn, ...), 0: none
    count INTEGER NOT NULL,
    answers INTEGER NOT NULL,     -- the day's dns-answer count of this host folded into its query row
    api_calls INTEGER NOT NULL,
    first REAL, last REAL,        -- last NULL: the same as first
    clients,                      -- NULL, one names.id (INTEGER), or uint32 names ids (BLOB): the CLIENT_CAP smallest
    clients_overflow INTEGER NOT NULL,
    sample_line INTEGER, sample_packet INTEGER, sample TEXT,  -- in the input's own file; else sample is the JSON key
    PRIMARY KEY (day, host, kind, input_id)
) WITHOUT ROWID;
CREATE INDEX host_days_host ON host_days(host, day);
CREATE TABLE once_days (         -- per day and input, the cells of hosts seen once (count 1, one time, <= 1 client)
    id INTEGER PRIMARY KEY, day INTEGER NOT NULL, input_id INTEGER NOT NULL, entries INTEGER NOT NULL,
    hosts BLOB NOT NULL,          -- codec.pack_column arrays, one value per cell: names ids sorted (delta), ...
    kinds BLOB NOT NULL, roles BLOB NOT NULL, answers BLOB NOT NULL,
    times BLOB NOT NULL,          -- milliseconds after the day's start
    clients BLOB NOT NULL,        -- names.id, 0: none
    lines BLOB NOT NULL           -- the sample's line in the input's own file + 1, 0: none
);
CREATE INDEX once_days_day ON once_days(day, input_id);
CREATE TABLE edges (
    day INTEGER NOT NULL, from_host INTEGER NOT NULL, to_host INTEGER NOT NULL, via TEXT NOT NULL,
    input_id INTEGER NOT NULL, confidence TEXT NOT NULL, count INTEGER NOT NULL, first REAL, last REAL,
    clients, details TEXT NOT NULL, samples TEXT NOT NULL,  -- samples: [line,packet] in the input's own file
    PRIMARY KEY (day, from_host, to_host, via, input_id)
) WITHOUT ROWID;
CREATE VIEW edge_rows AS   -- the edges with their names and dates, for a person reading the store with sqlite3
    SELECT CASE WHEN e.day = -2147483648 THEN '' ELSE date(e.day * 86400, 'unixepoch') END AS day,
        f.name AS from_host, t.name AS to_host, e.via, e.input_id, e.confidence, e.count, e.first,
        coalesce(e.last, e.first) AS last, e.details, e.samples
    FROM edges e JOIN names f ON f.id = e.from_host JOIN names t ON t.id = e.to_host;
CREATE VIEW host_day_rows AS  -- the host_days rows likewise (the once-seen cells are in once_days' arrays)
    SELECT CASE WHEN d.day = -2147483648 THEN '' ELSE date(d.day * 86400, 'unixepoch') END AS day,
        h.name AS host, d.kind, d.input_id, coalesce(r.name, '') AS role, d.count, d.answers, d.api_calls, d.first,
        coalesce(d.last, d.first) AS last, d.clients_overflow, d.sample_line, d.sample_packet, d.sample
    FROM host_days d JOIN names h ON h.id = d.host LEFT JOIN names r ON r.id = d.role
"""


def _v3(conn: sqlite3.Connection) -> None:
    from auditor.store.migrate_v3 import migrate_v2_rows

    migrate_v2_rows(conn, _statements(V3_TABLES))


# Version 4: each name's verdict on what the knowledge base cannot say from its patterns alone (a lookalike of a
# well-known registry host, a self-hosted registry's look), decided once per name rather than by every audit of a
# window that holds a million of them; only the names with a verdict have a row (store/verdicts.py). `meta` says
# through which names id and by which judge (the knowledge base's and the rules' hash) the verdicts were made: a
# migrated store, or one whose judge changed, is judged again by the next command that opens it.
_V4 = """
CREATE TABLE name_verdicts (id INTEGER PRIMARY KEY, verdict TEXT NOT NULL);
INSERT INTO meta VALUES ('verdicts_judge', '');
INSERT INTO meta VALUES ('verdicts_through', '0')
"""

# version reached -> what gets there from the one before (SQL, or a function for a conversion SQL cannot do);
# a new version appends one entry
MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {1: _V1, 2: _V2, 3: _v3, 4: _V4}


def open_store(path: Path, create: bool = False, check: bool = False) -> sqlite3.Connection:
    """The store at PATH, migrated to SCHEMA_VERSION; with CREATE, a new one when PATH does not exist. With
    CHECK, SQLite's quick_check reads every page first (ingest does: it must not add to a damaged store; a
    reader meets damage as an error where it reads it)."""
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no such store (create one with `regaudit ingest`)")
        if path.parent and not path.parent.exists():
            raise StoreError(f"{path}: the directory {path.parent} does not exist")
    elif not path.is_file():
        raise StoreError(f"{path}: not a regular file")
    wait_ms = _wait_ms()
    try:
        conn = sqlite3.connect(path, timeout=wait_ms / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open: {exc}") from None
    try:
        _prepare(conn, path, wait_ms, check, create)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path}: {describe(exc)}") from None
    except StoreError:
        conn.close()
        raise
    return conn


def describe(exc: sqlite3.Error) -> str:
    text = " ".join(str(exc).split())
    if "not a database" in text or "malformed" in text:
        return f"not a regaudit store or damaged ({text})"
    if _is_busy(text):
        return f"the store is busy: another regaudit is writing it and did not finish in time ({text})"
    if "full" in text or "disk I/O" in text:
        return (f"cannot write the store ({text}: a full disk or a file size limit); nothing of this input "
                "was written, the store is as it was before it")
    return text


def _is_busy(message: str) -> bool:
    """Whether an SQLite error MESSAGE says another connection holds the store (locked, busy)."""
    return "locked" in message or "busy" in message


def _wait_ms() -> int:
    text = os.environ.get(WAIT_VARIABLE, "")
    try:
        return max(0, int(float(text) * 1000)) if text else BUSY_TIMEOUT_MS
    except ValueError:
        return BUSY_TIMEOUT_MS


def _prepare(conn: sqlite3.Connection, path: Path, wait_ms: int, check: bool, create: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
    # one read transaction: read apart, a store another ingest creates meanwhile shows its tables without its id
    conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        conn.execute("COMMIT")
    if app_id != APPLICATION_ID and tables:
        raise StoreError(f"{path}: not a regaudit store (an SQLite database of something else); refused")
    if not tables and not create:  # a reader never turns an empty file into a store
        raise StoreError(f"{path}: an empty file, not a regaudit store (create one with `regaudit ingest`)")
    _switch_to_wal(conn, wait_ms)
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses at most the last commit, never consistency
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, path)
    if not check:
        return
    found = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if found != "ok":
        raise StoreError(f"{path}: the store is damaged ({' '.join(str(found).split())})")


WAL_RETRY_PAUSE = 0.02  # seconds between two tries of the switch to WAL


def _switch_to_wal(conn: sqlite3.Connection, wait_ms: int) -> None:
    """The store in WAL mode, retried within the wait setting. Two ingests creating one store at the same moment
    both switch it: the switch reads the file and then needs it alone, and of two connections holding a read
    lock and asking for more, SQLite fails one with SQLITE_BUSY at once (its deadlock avoidance) rather than
    calling the busy handler. The one that lost tries again once the other has switched."""
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(str(exc)) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_PAUSE)


def migrate(conn: sqlite3.Connection, path: Path, log: Callable[[str], None] = lambda _t: None) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: written by a newer regaudit (store schema {version}; this version reads "
                             f"up to {SCHEMA_VERSION}); upgrade regaudit")
        if version and conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() != (STORE_FORMAT,):
            raise StoreError(f"{path}: not a regaudit store (no format mark); refused")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS[target]
            if callable(step):
                step(conn)
            else:
                for statement in _statements(step):
                    conn.execute(statement)
            if target == 1:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("INSERT INTO meta VALUES ('format', ?)", (STORE_FORMAT,))
            conn.execute(f"PRAGMA user_version = {target}")
            log(f"store schema migrated to version {target}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """SCRIPT split into statements: executescript() would commit the migration's transaction first."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
