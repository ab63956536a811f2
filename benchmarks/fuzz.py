"""Fuzzing campaign over every input kind, through the same entry point as the command line.

    python -m benchmarks.fuzz --minutes N [--family F ...] [--kind K ...] [--engine auto|mutation|atheris]

Seeds come from the project's own fixtures (every file under tests/fixtures that the detector assigns to the
kind; the allowlist fixtures; an audit document for `diff`). Each input runs in a worker process
(benchmarks/fuzz_target.run_input: parse, discover reports, an audit with every report) watched by this one:
an input that takes over --hang-seconds is a hang, a worker whose RSS passes --rss-mb (polled every 50 ms, with
RLIMIT_AS set to the loaded worker's mappings plus that limit as a backstop) is a memory-limit kill.
Both kill the worker, which is restarted. A crash is an exception that escaped or a parser's exception caught by
the per-file guard. Crashes are minimized and written under tests/fixtures/fuzz/<kind>/ (the regression test
tests/test_fuzz_crashes.py replays every file there); hangs and memory kills are kept under benchmarks/work/fuzz/.

The time is split evenly over the families chosen, and within a family round-robin over its kinds. The engine
is coverage-guided libFuzzer through atheris where it imports (benchmarks/fuzz_atheris.py; `pip install -e
'.[fuzz]'`), mutation-based otherwise (benchmarks/fuzz_mutate.py); `--engine` forces one. At the end a table
prints runs, crashes, hangs and memory-limit kills per kind.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from benchmarks.fuzz_mutate import mutate
from benchmarks.fuzz_target import CRASH_FIXTURES, FIXTURES, Kind, kinds

WORK = Path(__file__).resolve().parent / "work" / "fuzz"
MAX_INPUT = 1024 * 1024  # the bound: hangs counted on inputs under 1 MB


@dataclass
class Tally:
    runs: int = 0
    crashes: int = 0
    hangs: int = 0
    memkills: int = 0
    signatures: set[str] = field(default_factory=set)
    engine: str = "mutation"
    seconds: float = 0.0


# ---------------------------------------------------------------- seeds

def seeds_by_kind() -> dict[str, list[tuple[str, bytes]]]:
    """(file name, content) seeds per kind, from the fixtures the detector assigns to each kind."""
    from parsers import parser_for
    from parsers.common.inputs import InputFile

    seeds: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_INPUT:
            continue
        if CRASH_FIXTURES in path.parents:
            continue
        try:
            spec = parser_for(InputFile.from_path(path))
        except OSError:
            continue
        if spec is not None:
            seeds[spec.name].append((path.name, path.read_bytes()))
        if "allowlist" in path.parent.name or path.name.startswith("allowlist"):
            seeds["allowlist"].append((path.name, path.read_bytes()))
    from benchmarks.fuzz_target import _audit_document_text

    seeds["diff"].append(("audit.json", _audit_document_text().encode()))
    return seeds


# ---------------------------------------------------------------- the worker

def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_address_space(rss_limit: int) -> None:
    """RLIMIT_AS at what the worker maps once loaded plus the RSS limit: an allocation that would pass the
    limit between two of the parent's RSS polls fails here as a MemoryError (a memory-limit kill), rather
    than taking the machine's memory first."""
    import resource

    with contextlib.suppress(OSError, ValueError):
        limit = _vm_size() + rss_limit
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _worker(conn: Connection, scratch: str, rss_limit: int) -> None:
    from benchmarks.fuzz_target import run_input

    _cap_address_space(rss_limit)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        kind, name, data = message
        path = Path(scratch) / name
        path.write_bytes(data)
        try:
            failure = run_input(kind, path)
        except MemoryError:
            failure = "MemoryError"
        conn.send(failure)


class Runner:
    """A worker process and the watch over it (time and RSS)."""

    def __init__(self, hang_seconds: float, rss_mb: int) -> None:
        self.hang_seconds = hang_seconds
        self.rss_limit = rss_mb * 1024 * 1024
        self.scratch = tempfile.mkdtemp(prefix="regaudit-fuzz-")
        self.context = multiprocessing.get_context("fork")
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def _start(self) -> None:
        parent, child = self.context.Pipe()
        self.process = self.context.Process(target=_worker, args=(child, self.scratch, self.rss_limit),
                                            daemon=True)
        self.process.start()
        self.conn = parent

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
        self.process = None
        self.conn = None

    def _rss(self) -> int:
        assert self.process is not None
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self, kind: str, name: str, data: bytes) -> tuple[str, str | None]:
        """('ok'|'crash'|'hang'|'memkill', signature)."""
        if self.process is None or not self.process.is_alive():
            self._start()
        assert self.conn is not None
        self.conn.send((kind, name, data))
        deadline = time.monotonic() + self.hang_seconds
        while not self.conn.poll(0.05):
            if self._rss() > self.rss_limit:
                self._kill()
                return "memkill", None
            if time.monotonic() > deadline:
                self._kill()
                return "hang", None
            if not self.process.is_alive():
                self._kill()
                return "crash", "worker died"
        try:
            failure = self.conn.recv()
        except EOFError:
            self._kill()
            return "crash", "worker died"
        if failure == "MemoryError":
            self._kill()
            return "memkill", None
        return ("crash", failure) if failure else ("ok", None)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self._kill()


# ---------------------------------------------------------------- minimizing and keeping

def minimize(runner: Runner, kind: str, name: str, data: bytes, signature: str, budget: int = 300) -> bytes:
    """Delta debugging lite: drop chunks, halving their size, while the same failure holds."""
    chunk = max(1, len(data) // 2)
    tries = 0
    while chunk >= 1 and tries < budget:
        start, shrunk = 0, False
        while start < len(data) and tries < budget:
            candidate = data[:start] + data[start + chunk:]
            tries += 1
            outcome, sig = runner.run(kind, name, candidate)
            if outcome == "crash" and sig == signature:
                data, shrunk = candidate, True
            else:
                start += chunk
        if not shrunk:
            chunk //= 2
    return data


def keep(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = directory / f"{digest}-{name}"
    target.write_bytes(data)
    return target


# ---------------------------------------------------------------- the campaign

def campaign_mutation(kind: Kind, seeds: list[tuple[str, bytes]], seconds: float, runner: Runner,
                      tally: Tally, rng: random.Random) -> None:
    pool = list(seeds)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        name, base = rng.choice(pool)
        other = rng.choice(pool)[1]
        data = mutate(base, other, rng)[:MAX_INPUT]
        outcome, signature = runner.run(kind.name, name, data)
        tally.runs += 1
        if outcome == "ok":
            if rng.random() < 0.02 and len(pool) < 200:
                pool.append((name, data))  # keep some survivors: mutations stack up
            continue
        if outcome == "crash":
            tally.crashes += 1
            if signature not in tally.signatures:
                tally.signatures.add(signature or "?")
                small = minimize(runner, kind.name, name, data, signature or "")
                kept = keep(CRASH_FIXTURES / kind.name, name, small)
                print(f"  crash {kind.name}: {signature} -> {kept.relative_to(FIXTURES.parent.parent)}",
                      flush=True)
        elif outcome == "hang":
            tally.hangs += 1
            kept = keep(WORK / "hangs" / kind.name, name, data)
            print(f"  hang  {kind.name}: {len(data)} bytes -> {kept}", flush=True)
        else:
            tally.memkills += 1
            kept = keep(WORK / "memkills" / kind.name, name, data)
            print(f"  memory-limit kill {kind.name}: {len(data)} bytes -> {kept}", flush=True)


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def campaign_atheris(kind: Kind, seeds: list[tuple[str, bytes]], seconds: float, runner: Runner, tally: Tally,
                     args: argparse.Namespace) -> None:
    """One coverage-guided turn (benchmarks/fuzz_atheris.py); its crash inputs are signed, minimized and kept
    through the same runner as the mutation engine's."""
    from benchmarks.fuzz_atheris import run_campaign

    runs, crashes, hangs, memkills, name = run_campaign(kind.name, seeds, seconds, args.hang_seconds, args.rss_mb)
    tally.runs += runs
    tally.hangs += hangs
    tally.memkills += memkills
    for data in crashes:
        outcome, signature = runner.run(kind.name, name, data)
        if outcome != "crash":
            continue  # libFuzzer's crash did not reproduce through the campaign's runner
        tally.crashes += 1
        if signature not in tally.signatures:
            tally.signatures.add(signature or "?")
            kept = keep(CRASH_FIXTURES / kind.name, name, minimize(runner, kind.name, name, data, signature or ""))
            print(f"  crash {kind.name}: {signature} -> {kept.relative_to(FIXTURES.parent.parent)}", flush=True)


def table(tallies: dict[str, Tally], by_kind: dict[str, Kind]) -> str:
    rows = [("family", "kind", "engine", "seconds", "runs", "crashes", "hangs", "memkills")]
    for name, tally in tallies.items():
        rows.append((by_kind[name].family, name, tally.engine, f"{tally.seconds:.0f}", str(tally.runs),
                     str(tally.crashes), str(tally.hangs), str(tally.memkills)))
    total = [sum(getattr(t, a) for t in tallies.values()) for a in ("runs", "crashes", "hangs", "memkills")]
    rows.append(("all", "", "", f"{sum(t.seconds for t in tallies.values()):.0f}", *map(str, total)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="total campaign time (default %(default)s)")
    parser.add_argument("--family", action="append", help="repo, traffic, logs, machine, readers (repeatable)")
    parser.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutation"), default="auto",
                        help="auto: atheris (coverage-guided) where it imports, else mutation")
    parser.add_argument("--hang-seconds", type=float, default=10.0)
    parser.add_argument("--rss-mb", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    args = parser.parse_args(argv)

    chosen = [k for k in kinds() if (not args.family or k.family in args.family)
              and (not args.kind or k.name in args.kind)]
    if not chosen:
        parser.error("no kind matches")
    by_kind = {k.name: k for k in chosen}
    families = sorted({k.family for k in chosen})
    seeds = seeds_by_kind()
    use_atheris = args.engine == "atheris" or (args.engine == "auto" and _atheris_available())
    if use_atheris and not _atheris_available():
        parser.error("atheris does not import here: pip install -e '.[fuzz]', or --engine mutation")
    rng = random.Random(args.seed)
    tallies = {k.name: Tally(engine="atheris" if use_atheris else "mutation") for k in chosen}
    per_family = args.minutes * 60 / len(families)
    print(f"fuzz: {len(chosen)} kinds in {len(families)} families, {per_family / 60:.1f} min per family, "
          f"engine {'atheris' if use_atheris else 'mutation'}", flush=True)
    runner = Runner(args.hang_seconds, args.rss_mb)
    try:
        for family in families:
            members = [k for k in chosen if k.family == family]
            family_end = time.monotonic() + per_family
            # short turns round-robin, so every kind gets time even when the campaign is cut short; an atheris
            # turn pays an instrumented start-up (6 s and more), so its kinds get one turn each of the family's
            # time. A turn's share is what is left divided among the kinds still to go in this round: a turn that
            # overran (start-up under load) shortens the next ones instead of leaving the last kinds none
            while time.monotonic() < family_end:
                for position, kind in enumerate(members):
                    left = family_end - time.monotonic()
                    if left <= 0:
                        break
                    share = left / (len(members) - position)
                    turn = share if use_atheris else min(30.0, share)
                    started = time.monotonic()
                    kind_seeds = seeds.get(kind.name) or [("input", b"")]
                    if use_atheris:
                        campaign_atheris(kind, kind_seeds, turn, runner, tallies[kind.name], args)
                    else:
                        campaign_mutation(kind, kind_seeds, turn, runner, tallies[kind.name], rng)
                    tallies[kind.name].seconds += time.monotonic() - started
            print(f"fuzz: family {family} done", flush=True)
    except KeyboardInterrupt:
        print("fuzz: interrupted", flush=True)
    finally:
        runner.close()
    print(table(tallies, by_kind))
    crashed = sorted(s for t in tallies.values() for s in t.signatures)
    for signature in crashed:
        print(f"crash signature: {signature}")
    return 1 if any(t.crashes or t.hangs or t.memkills for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
