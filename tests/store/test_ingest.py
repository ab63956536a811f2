"""Each byte once, for real: repeats, rotated and compressed copies, grown logs, failed inputs, two ingests at
once, a run killed mid-file, stores that are not stores, a full disk."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.store.logs import write_zeek, zeek_lines


def regaudit(*args: str, env: dict[str, str] | None = None, preexec: str = "") -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (PREEXEC: Python run first in that process)."""
    code = f"{preexec}\nimport sys\nfrom auditor.cli import main\nsys.argv = ['regaudit', *sys.argv[1:]]\nmain()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)


def info(store: Path) -> dict:
    done = regaudit("store", "info", "--store", str(store), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def uses(store: Path, host: str) -> int:
    done = regaudit("history", host, "--store", str(store), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]["total_uses"]


def queries(day: str, host: str, n: int, client: str = "10.0.0.1") -> list[tuple[str, str, str]]:
    return [(f"{day}T10:{i // 60:02d}:{i % 60:02d}", client, host) for i in range(n)]


def test_a_rotated_copy_of_a_log_that_grew_after_its_last_ingest_adds_only_the_new_lines(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    log = write_zeek(tmp_path / "dns.log", queries("2026-10-01", "ghcr.io", 3))
    assert regaudit("ingest", str(log), "--store", str(store)).stdout.startswith("ingested")
    with open(log, "a", encoding="utf-8") as out:
        out.write(zeek_lines(queries("2026-10-02", "ghcr.io", 2)))
    rotated = tmp_path / "dns.log.1.gz"  # rotated before the next ingest saw the growth
    with open(log, "rb") as src, gzip.open(rotated, "wb") as dst:
        shutil.copyfileobj(src, dst)
    log.unlink()
    done = regaudit("ingest", str(rotated), "--store", str(store))
    assert done.stdout.startswith("continued"), done.stdout
    assert uses(store, "ghcr.io") == 5
    again = regaudit("ingest", str(rotated), "--store", str(store))
    assert again.stdout.startswith("already") and uses(store, "ghcr.io") == 5


def test_a_different_log_that_merely_starts_like_another_is_not_mistaken_for_growth(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    first = write_zeek(tmp_path / "a.log", queries("2026-10-01", "ghcr.io", 2))
    regaudit("ingest", str(first), "--store", str(store))
    same_start = queries("2026-10-01", "ghcr.io", 1)
    other = write_zeek(tmp_path / "b.log", same_start + queries("2026-10-05", "quay.io", 1))
    assert regaudit("ingest", str(other), "--store", str(store)).stdout.startswith("ingested")
    assert uses(store, "ghcr.io") == 3 and uses(store, "quay.io") == 1


def test_an_input_that_fails_is_recorded_and_can_be_ingested_once_fixed(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    good = write_zeek(tmp_path / "plain.log", queries("2026-10-01", "quay.io", 40))
    broken = tmp_path / "dns.log.gz"
    whole = gzip.compress(good.read_bytes())
    broken.write_bytes(whole[: len(whole) // 2])  # an interrupted copy: the gzip stream ends early
    done = regaudit("ingest", str(broken), "--store", str(store))
    assert done.returncode == 0 and "recorded as failed" in done.stderr and str(broken) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert info(store)["inputs_failed"] == 1 and uses(store, "quay.io") == 0
    assert regaudit("ingest", str(broken), "--store", str(store), "--strict").returncode == 2
    broken.write_bytes(whole)
    assert regaudit("ingest", str(broken), "--store", str(store)).stdout.startswith("ingested")
    assert uses(store, "quay.io") == 40


# -- two at once, and a run killed mid-file ---------------------------------------------------------------


def many_hosts(path: Path, n: int, day: str = "2026-10-01") -> Path:
    return write_zeek(path, [(f"{day}T10:00:00", "10.0.0.1", f"h{i}.example.com") for i in range(n)])


def test_two_ingests_at_once_both_finish_and_count_each_file_once(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    logs = [many_hosts(tmp_path / f"dns{i}.log", 8000, f"2026-10-0{i + 1}") for i in range(2)]
    runs = [subprocess.Popen([sys.executable, "-m", "auditor", "ingest", *map(str, order), "--store", str(store)],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for order in (logs, logs[::-1])]
    results = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    assert [r[2] for r in results] == [0, 0], results
    words = sorted(line.split()[0] for out, _err, _rc in results for line in out.splitlines())
    assert words == ["already", "already", "ingested", "ingested"]
    facts = info(store)
    assert facts["inputs_ok"] == 2 and facts["host_day_rows"] == 2 * 8000 * 2  # query + answer per host per day


def hold_write_lock(store: Path, then: str = "") -> subprocess.Popen[str]:
    """Another process that holds STORE's write lock (BEGIN IMMEDIATE, then THEN) until let_go."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(store)!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        {then}
        print("locked", flush=True)
        sys.stdin.readline()
        conn.execute("ROLLBACK")
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def let_go(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    holder.wait(timeout=30)


def test_an_ingest_creating_a_store_waits_while_another_holds_the_new_file_before_its_switch_to_wal(
        tmp_path: Path) -> None:
    """The flaky race of two ingests creating one store, made certain: another process holds the write lock of
    the brand-new file while it is still in rollback mode. SQLite fails the switch to WAL at once there (its
    deadlock avoidance, whatever the busy timeout), so the store layer retries it within the wait setting: the
    ingest finishes once the other lets go, instead of exiting 2 with "the store is busy"."""
    store = tmp_path / "s.db"
    holder = hold_write_lock(store, 'conn.execute("CREATE TABLE holder_scratch (x)")')
    try:
        log = write_zeek(tmp_path / "dns.log", queries("2026-10-01", "ghcr.io", 3))
        waiting = subprocess.Popen([sys.executable, "-m", "auditor", "ingest", str(log), "--store", str(store)],
                                   cwd=REPO_ROOT, env={**os.environ, "REGAUDIT_STORE_WAIT": "60"},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        assert waiting.poll() is None, waiting.communicate()  # waiting, not failed at once
    finally:
        let_go(holder)
    out, err, code = (*waiting.communicate(timeout=120), waiting.returncode)
    assert code == 0 and out.startswith("ingested"), (out, err)
    assert info(store)["inputs_ok"] == 1


def test_a_second_ingest_waits_for_the_lock_or_fails_cleanly_when_it_stays_taken(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    log = write_zeek(tmp_path / "dns.log", queries("2026-10-01", "ghcr.io", 3))
    assert regaudit("ingest", str(log), "--store", str(store)).returncode == 0
    holder = hold_write_lock(store)
    try:
        other = write_zeek(tmp_path / "other.log", queries("2026-10-02", "quay.io", 2))
        refused = regaudit("ingest", str(other), "--store", str(store), env={"REGAUDIT_STORE_WAIT": "0.5"})
        assert refused.returncode == 2, refused.stdout
        assert len(refused.stderr.splitlines()) == 1 and "the store is busy" in refused.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "auditor", "ingest", str(other), "--store", str(store)],
                                   cwd=REPO_ROOT, env={**os.environ, "REGAUDIT_STORE_WAIT": "120"},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert waiting.poll() is None  # still waiting for the lock
    finally:
        let_go(holder)
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and out.startswith("ingested"), err
    assert uses(store, "quay.io") == 2


def test_kill_9_inside_the_transaction_leaves_the_store_as_before_that_file(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    first = write_zeek(tmp_path / "first.log", queries("2026-10-01", "ghcr.io", 3))
    assert regaudit("ingest", str(first), "--store", str(store)).returncode == 0
    before = info(store)
    big = many_hosts(tmp_path / "big.log", 12_000)
    script = textwrap.dedent(f"""
        import sys, time
        from auditor.pipeline.ingest import IngestOptions, ingest
        from auditor.store.schema import open_store

        def pause(rows):  # inside the write transaction, after the first batch of rows
            print("in-transaction", rows, flush=True)
            time.sleep(60)

        ingest(open_store(__import__("pathlib").Path({str(store)!r})), [{str(big)!r}], IngestOptions(after_batch=pause))
    """)
    victim = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert victim.stdout is not None
    line = victim.stdout.readline()
    assert line.startswith("in-transaction"), line
    probe = sqlite3.connect(store, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # the victim holds the write transaction open
        probe.execute("BEGIN IMMEDIATE")
    probe.close()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    after = info(store)
    assert {k: v for k, v in after.items() if k != "size_bytes"} == {
        k: v for k, v in before.items() if k != "size_bytes"}
    assert regaudit("ingest", str(big), "--store", str(store)).stdout.startswith("ingested")  # not "already"
    assert info(store)["host_day_rows"] == before["host_day_rows"] + 2 * 12_000


# -- stores that are not stores, and a full disk -------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _other_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()


def _newer(path: Path) -> None:
    log = write_zeek(path.parent / "x.log", queries("2026-10-01", "ghcr.io", 1))
    assert regaudit("ingest", str(log), "--store", str(path)).returncode == 0
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()


def _corrupt(path: Path) -> None:
    log = many_hosts(path.parent / "x.log", 3000)
    assert regaudit("ingest", str(log), "--store", str(path)).returncode == 0
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // 4096):  # every page but the header's: garbage
        data[page * 4096 + 100: page * 4096 + 300] = b"\xa5" * 200
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("host\nghcr.io\n", encoding="utf-8"), "not a regaudit store or damaged"),
    (_other_sqlite, "not a regaudit store (an SQLite database of something else)"),
    (_newer, "written by a newer regaudit (store schema 7"),
    (_corrupt, "damaged"),
])
def test_a_store_that_cannot_be_used_is_one_error_exit_2_and_left_untouched(tmp_path: Path, make, message) -> None:
    store = tmp_path / "store.db"
    make(store)
    digest = sha(store)
    log = write_zeek(tmp_path / "dns.log", queries("2026-10-02", "quay.io", 2))
    for args in (["ingest", str(log)], ["store", "info"], ["history", "quay.io"]):
        done = regaudit(*args, "--store", str(store))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and str(store) in lines[0], done.stderr
        assert "Traceback" not in done.stderr
    assert sha(store) == digest


def _full_disk_check(tmp_path: Path, store: Path, preexec: str = "") -> None:
    small = write_zeek(tmp_path / "small.log", queries("2026-10-01", "ghcr.io", 3))
    assert regaudit("ingest", str(small), "--store", str(store)).returncode == 0
    before = info(store)
    big = many_hosts(tmp_path / "big.log", 20_000)
    done = regaudit("ingest", str(big), "--store", str(store), preexec=preexec)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing of this input was written" in lines[0] and "Traceback" not in done.stderr
    after = info(store)
    assert {k: v for k, v in after.items() if k != "size_bytes"} == {
        k: v for k, v in before.items() if k != "size_bytes"}


def test_a_file_size_limit_during_ingest_is_one_error_and_nothing_half_written(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    limit = "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); " \
            "resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))"
    _full_disk_check(tmp_path, store, limit)


@pytest.fixture
def small_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_during_ingest_is_one_error_and_nothing_half_written(tmp_path: Path, small_tmpfs: Path) -> None:
    _full_disk_check(tmp_path, small_tmpfs / "s.db")
