"""The Zeek dns.log fast path (polars and numpy) reads the same records, counts and errors as the
regular-expression path, on a generated log large enough to take it, with the oddities that the fast path
must judge itself (names to normalize or refuse, unset query columns, CNAME chains, times out of order) and
lines that send a block back to the regular path (wrong column count, unreadable time, an empty column)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.dnslog_bench import write_zeek
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import line_reader as _common
from parsers.logs.dns import zeek
from parsers.logs.dns import zeek_fast as _zeek_fast
from parsers.logs.line_reader import LineStats


def _oddities(source: Path, target: Path, seed: int, fallback_lines: bool) -> None:
    rng = random.Random(seed)
    lines = source.read_text().split("\n")
    out = lines[:8]
    for line in lines[8:]:
        if not line or line.startswith("#"):
            out.append(line)
            continue
        fields = line.split("\t")
        roll = rng.random()
        if roll < 0.003:
            fields[9] = fields[9].upper()  # folded with the lowercase name
        elif roll < 0.005:
            fields[9] = "bad_name!.example"  # malformed, reported with its count
        elif roll < 0.007:
            fields[9] = rng.choice(["-", "(empty)"])
        elif roll < 0.02:
            fields[0] = f"{float(fields[0]) - rng.random() * 100:.6f}"  # out of order
        elif roll < 0.025:
            fields[21] = f"alias.{fields[9]},{fields[9]},txt data,198.51.100.7"  # chain with a loop and junk
        elif roll < 0.027:
            fields[2] = "-"
        elif fallback_lines and roll < 0.02705:
            fields = fields[:-1] if rng.random() < 0.5 else [*fields, "extra"]  # a line of 23 or 25 columns
        elif fallback_lines and roll < 0.0271:
            fields[0] = rng.choice(["-", "nan", "2024-05-01T10:00:00Z"])  # time the fast path leaves alone
        elif fallback_lines and roll < 0.02715:
            fields[9] = ""  # an empty column (Zeek writes "(empty)"): the regular path calls it an empty line
        out.append("\t".join(fields))
    target.write_text("\n".join(out))


def _count_fast_path(monkeypatch: pytest.MonkeyPatch) -> dict[bool, int]:
    """How many segments the fast path took (True) and handed back (False), counted as they come."""
    taken = {True: 0, False: 0}
    fold = _zeek_fast.DnsFolder.fold

    def counted(self: _zeek_fast.DnsFolder, *args: object) -> bool:
        result = fold(self, *args)  # type: ignore[arg-type]
        taken[result] += 1
        return result

    monkeypatch.setattr(_zeek_fast.DnsFolder, "fold", counted)
    return taken


def _parse(path: Path) -> tuple[list[str], tuple[object, ...]]:
    stats = LineStats()
    records = list(zeek.scan(InputFile.from_path(path), ParseContext(), stats))
    # repr: NaN times compare unequal to themselves
    return [repr(record) for record in records], (stats.total, stats.parsed, stats.errors, dict(stats.ignored))


@pytest.mark.parametrize(("fallback_lines", "fold_limit"), [(False, 100_000), (True, 100_000), (False, 3_000)])
def test_zeek_fast_path_gives_the_records_of_the_regular_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              fallback_lines: bool, fold_limit: int) -> None:
    plain = tmp_path / "plain.log"
    write_zeek(plain, 60_000)
    path = tmp_path / "dns.log"
    _oddities(plain, path, seed=7, fallback_lines=fallback_lines)
    monkeypatch.setattr(_common, "BLOCK_BYTES", 1024 * 1024)  # several blocks, some of each path
    monkeypatch.setattr(_common, "FOLD_LIMIT", fold_limit)  # 3,000: the Batch is flushed between fast blocks
    taken = _count_fast_path(monkeypatch)
    fast = _parse(path)
    assert taken[True] >= 3
    if fallback_lines:
        assert taken[False] >= 1
    monkeypatch.setattr(zeek, "MIN_CHARS", 1 << 62)  # regular path only
    regular = _parse(path)
    assert fast[1] == regular[1]
    assert fast[0] == regular[0]
    total, parsed, malformed, ignored = fast[1]
    assert total == parsed + malformed + sum(ignored.values())  # type: ignore[operator]
    assert malformed > 0 and "DNS record without a query name" in ignored  # type: ignore[operator]
    assert any("bad_name!.example" in record for record in fast[0])
    if fallback_lines:
        assert ignored["empty line"] > 0  # type: ignore[index]


def test_key_table_numbers_keys_once_and_refuses_a_first_hash_collision() -> None:
    import numpy as np
    import polars as pl

    table = _zeek_fast._KeyTable()
    keys = pl.DataFrame({"client": ["10.0.0.1", "10.0.0.2", "10.0.0.1"], "query": ["ghcr.io", "ghcr.io", "quay.io"]})
    numbered = table.number(keys, np.array([5, 0, 9]))
    assert numbered is not None
    ids, fresh = numbered
    assert fresh == [1, 0, 2]  # new keys numbered in the order of their first line
    assert ids.tolist() == [1, 0, 2]
    assert table.keys == [("10.0.0.2", "ghcr.io"), ("10.0.0.1", "ghcr.io"), ("10.0.0.1", "quay.io")]
    again = table.number(keys[[2, 0]], np.array([0, 1]))
    assert again is not None and again[0].tolist() == [2, 1] and again[1] == []
    # a different key with the same first hash would meet a second hash that differs: refused, nothing added
    table.checks[1] ^= np.uint64(1)
    assert table.number(keys[[0]], np.array([0])) is None
    assert len(table) == 3


_JUNK = b"\t\n-,.#\"'\\\x00\x0b\r ()abcXYZ0123456789:"


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_equals_the_regular_path_on_damaged_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           seed: int) -> None:
    """Bytes overwritten, cut out and put in at random (tabs, newlines, quotes, NUL, CR, digits): whatever
    the fast path takes, it must read as the regular path does, and every line is accounted for."""
    plain = tmp_path / "plain.log"
    write_zeek(plain, 6_000, seed=seed)
    rng = random.Random(seed)
    data = bytearray(plain.read_bytes())
    damage = (5, 30, 300)[seed % 3]
    for _ in range(damage):
        at = rng.randrange(len(data))
        roll = rng.random()
        if roll < 0.5:
            data[at] = rng.choice(_JUNK)
        elif roll < 0.75:
            del data[at:at + rng.randrange(1, 40)]
        else:
            data[at:at] = bytes(rng.choice(_JUNK) for _ in range(rng.randrange(1, 40)))
    path = tmp_path / "dns.log"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(_common, "BLOCK_BYTES", 64 * 1024)  # many blocks, so most are taken by the fast path
    monkeypatch.setattr(_common, "MAX_ERRORS_PER_FILE", 10_000)  # every malformed line named, to compare
    monkeypatch.setattr(zeek, "MIN_CHARS", 1024)
    taken = _count_fast_path(monkeypatch)
    fast = _parse(path)
    monkeypatch.setattr(zeek, "MIN_CHARS", 1 << 62)
    regular = _parse(path)
    if damage < 300:  # past that, hardly a block is left whole
        assert taken[True] >= 1
    assert fast == regular
    total, parsed, malformed, ignored = fast[1]
    assert total == parsed + malformed + sum(ignored.values())  # type: ignore[operator]


def test_a_polars_panic_sends_the_block_to_the_regular_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Rust panic inside polars surfaces as PanicException, a BaseException that the collector's guard
    would not catch; the fast path declines the block instead, and the regular path reads it."""
    import polars as pl

    path = tmp_path / "dns.log"
    write_zeek(path, 3_000)
    expected = _parse(path)

    def panicking(*_args: object, **_kwargs: object) -> object:
        raise pl.exceptions.PanicException("index out of bounds")

    monkeypatch.setattr(_zeek_fast, "_read", panicking)
    taken = _count_fast_path(monkeypatch)
    assert _parse(path) == expected
    assert taken[True] == 0 and taken[False] >= 1
