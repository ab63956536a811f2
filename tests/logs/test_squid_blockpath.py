"""Squid's numpy block path (squid_fast.py) gives exactly the records, counts, stats and errors (with their
line numbers) of the line-by-line path, on generated proxy logs and on hostile ones."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import squid
from parsers.logs.line_reader import LineStats
from tests.logs.test_squid_fastpath import _log


class _LineByLine(squid._SquidParser):
    fast = False


def _run(parser: type, path: Path) -> tuple[list[object], LineStats]:
    stats = LineStats()
    return list(parser(InputFile.from_path(path), ParseContext(), stats).run()), stats


def _same(path: Path) -> list[object]:
    fast, fast_stats = _run(squid._SquidParser, path)
    slow, slow_stats = _run(_LineByLine, path)
    assert fast == slow
    assert (fast_stats.total, fast_stats.parsed, fast_stats.errors, dict(fast_stats.ignored)) == \
        (slow_stats.total, slow_stats.parsed, slow_stats.errors, dict(slow_stats.ignored))
    return fast


def _hostile_line(rng: random.Random, index: int) -> str:
    moment = f"{1790000000 + index}.{rng.randrange(1000):03d}"
    return rng.choice([
        f"{moment}  12 10.0.0.1 TCP_MISS/200 -5 GET http://ghcr.io/v2/ - HIER_DIRECT/x -",
        f"{moment}  12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/v2/",  # nothing after the URL
        f"{moment}  12  10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/v2/ -",  # two spaces: not native
        f"{moment}\t12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/v2/ -",  # a tab
        "1.2.3 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",  # two dots in the stamp
        ".5 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",
        "5. 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",
        f"{'9' * 16}.5 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",  # too many digits for the window
        f"{'1' * 30} 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",
        f"{moment} 12 10.0.0.1 TCP_MISS/2000 5 GET http://ghcr.io/ -",
        f"{moment} 12 10.0.0.1 tcp_miss/200 5 GET http://ghcr.io/ -",
        f"{moment} 12 10.0.0.1 TCP_MISS/200 - GET http://ghcr.io/ -",
        f"{moment} -- 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",
        f"{moment} 1{'2' * 20} 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",
        f"{moment} 12 10.0.0.1 TCP_DENIED/403 5 CONNECT bad..host:443 - HIER_NONE/- -",
        f"{moment} 12 10.0.0.1 TCP_DENIED/403 5 CONNECT Ünïcode.example:443 - HIER_NONE/- -",
        f"{moment} 12 10.0.0.1 TCP_DENIED/403 5 CONNECT ghcr.io:443 - HIER_NONE/- caf\u00e9",
        f"{moment} 12 10.0.0.1 TCP_MISS/200 5 GET http://[::1:bad/ -",
        f"   {moment} 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -",  # leading spaces
        "   ",
        "",
        f"{moment} 12 10.0.0.1 TCP_MISS/200 5\x1f GET http://ghcr.io/ -",
        f"{moment} 12 10.0.0.1 TCP_MISS/200 5 GET http://ghcr.io/ -\x7f",
        f"{moment} 12 10.0.0.1 TCP_MISS/200",
        f"{moment} 12 10.0.0.1 TCP_DENIED/403 5 CONNECT registry-1.docker.io:443 - HIER_NONE/- -",
        # around the cut a request's key makes four bytes into the path (squid_fast._request_ends)
        *(f"{moment} 12 10.0.0.{index % 3} TCP_MISS/200 5 {url} - HIER_DIRECT/x -" for url in (
            "GET https://ghcr.io?x/v2/a", "GET https://ghcr.io/v2?x=1", "GET http://ghcr.io/v2",
            "GET http://ghcr.io/v2x/a", "GET https://ghcr.io/v", "CONNECT https://ghcr.io/v2/x",
            "GET HTTPS://GHCR.IO/v2/a", "GET https://u@ghcr.io/v2/a", "GET https://ghcr.io:5000/v2/",
            "GET https://ghcr.io#f/v2/", "GET http://", "GET https:///v2/", "GET https://ghcr.io/v2/" + "d" * 200,
            "GET ftp://ghcr.io/v2/a", "GET https://[::1]/v2/a", "CONNECT ghcr.io/v2/a")),
    ])


def test_block_path_equals_line_by_line_on_generated_logs(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(_log(random.Random(11), 60_000))
    assert path.stat().st_size > 4 * squid.squid_fast.MIN_BYTES
    records = _same(path)
    assert len(records) > 100


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_path_equals_line_by_line_on_hostile_lines(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    normal = _log(rng, 20_000).split("\n")
    lines = [_hostile_line(rng, index) if rng.random() < 0.2 else normal[index] for index in range(20_000)]
    path = tmp_path / "access.log"
    path.write_bytes(("\n".join(lines) + rng.choice(["", "\n", "\r\n"])).encode("utf-8")
                     + (b"\xff\xfe broken" if seed == 2 else b""))
    records = _same(path)
    errors = [record for record in records if type(record).__name__ == "InputError"]
    assert errors and all(error.source.line for error in errors[:-1])


def test_block_path_reads_a_grown_log_block_by_block(tmp_path: Path) -> None:
    """More than one 4 MiB block, requests repeated across blocks: the memo is shared, the sums stay right."""
    rng = random.Random(5)
    hosts = ["ghcr.io", "quay.io", "registry-1.docker.io"]
    rows = [f"{1790000000 + i * 0.001:.3f} {rng.randrange(999)} 10.0.{i % 3}.1 TCP_TUNNEL/200 {rng.randrange(10**6)} "
            f"CONNECT {rng.choice(hosts)}:443 - HIER_DIRECT/1.2.3.4 -" for i in range(120_000)]
    path = tmp_path / "access.log"
    path.write_text("\n".join(rows) + "\n")
    records = _same(path)
    assert sum(record.count for record in records) == 120_000
    assert len(records) <= 9 * 3  # 9 requests, folded per batch flush at most a few times


def _mixed_width_log(rng: random.Random, lines: int) -> str:
    """Keys of every width: IPv6 clients, URLs past the 128-byte window (blob digests), short CONNECTs."""
    clients = ["10.0.0.1", "2001:db8:ffff:ffff:ffff:ffff:ffff:1", "fe80::1"]
    digests = [f"{rng.getrandbits(256):064x}" for _ in range(20)]
    out = []
    for index in range(lines):
        moment = f"{1790000000 + index // 5}.{rng.randrange(1000):03d}"
        client = rng.choice(clients)
        if index % 3:
            out.append(f"{moment}    154 {client} TCP_TUNNEL/200 5120 CONNECT ghcr.io:443 - HIER_DIRECT/1.2.3.4 -")
        else:
            url = f"http://registry.corp.example/v2/team/app/blobs/sha256:{rng.choice(digests)}" + "x" * (index % 40)
            out.append(f"{moment} 812 {client} TCP_MISS/200 904512 GET {url} - HIER_DIRECT/1.2.3.4 application/x")
    return "\n".join(out) + "\n"


def test_block_path_numbers_wide_keys_and_hash_collisions_exactly(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys wider than the comparison windows are cut out one by one; a hash that groups different keys (here
    every key: all multipliers zero) is caught by the byte comparison. Both give the line-by-line records."""
    path = tmp_path / "access.log"
    path.write_text(_mixed_width_log(random.Random(8), 40_000))
    assert path.stat().st_size > 4 * squid.squid_fast.MIN_BYTES
    records = _same(path)
    assert len({record.host for record in records if hasattr(record, "host")}) == 2
    import numpy as np

    monkeypatch.setattr(squid.squid_fast, "_hash_factors", lambda: np.zeros(16, np.uint64))
    assert _same(path) == records


def test_blob_pulls_of_many_digests_fold_into_one_record_per_client_and_host(tmp_path: Path) -> None:
    """A request's key ends four bytes into its path: a new digest on every line is the same request, so the
    block path judges it once and the records count every line, with each /v2/ call kept as such."""
    rows = [f"{1790000000 + i * 0.01:.3f} 812 10.0.0.{i % 2} TCP_MISS/200 904512 GET https://ghcr.io/v2/app/blobs/"
            f"sha256:{i:064x} - HIER_DIRECT/1.2.3.4 application/octet-stream" for i in range(60_000)]
    path = tmp_path / "access.log"
    path.write_text("\n".join(rows) + "\n")
    assert path.stat().st_size > 4 * squid.squid_fast.MIN_BYTES
    records = _same(path)
    assert {(r.host, r.client, r.detail) for r in records} == {("ghcr.io", "10.0.0.0", "/v2/"),
                                                                ("ghcr.io", "10.0.0.1", "/v2/")}
    assert sum(r.count for r in records) == 60_000


def test_a_finished_run_leaves_no_cycle_holding_the_parser_and_its_memos(tmp_path: Path) -> None:
    """The batch's before_flush hook holds the parser (and its memos: 100 MB on a log of 10^5 distinct requests);
    the run cuts it when it ends, so reference counting frees the parser at once instead of a late full
    collection under the parsers' relaxed threshold."""
    import gc

    path = tmp_path / "access.log"
    path.write_text(_log(random.Random(7), 30_000))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        records = list(squid._SquidParser(InputFile.from_path(path), ParseContext(), LineStats()).run())
        gc.collect()
        held = squid._SquidParser | squid.squid_fast.RequestMemo
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, held)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert records and left == []


def test_a_request_met_again_in_a_later_block_is_found_by_its_windows_not_cut_out_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Across blocks a request is found by its windows' hash and checked word for word: after the first block only
    a key longer than the remembered words (here a 99-byte host) is cut out as bytes again. Records and stats are
    the line-by-line path's."""
    long_host = "a" * 60 + "." + "b" * 30 + ".example"  # a 99-byte name: the key outgrows the remembered words
    hosts = ["ghcr.io", "quay.io", "registry-1.docker.io", long_host]
    rows = [f"{1790000000 + i * 0.01:.3f} 154 10.0.0.{i % 3} TCP_TUNNEL/200 3617 CONNECT {hosts[i % 4]}:443 - "
            f"HIER_DIRECT/{hosts[i % 4]} -" for i in range(200_000)]
    path = tmp_path / "access.log"
    path.write_text("\n".join(rows) + "\n")
    assert path.stat().st_size > 4 * 4 * 1024 * 1024  # several blocks
    cut: list[list[tuple[bytes, bytes]]] = []
    number = squid.squid_fast.RequestMemo.number

    def counting(self: object, keys: list[tuple[bytes, bytes]], parser: object) -> object:
        cut.append(list(keys))
        return number(self, keys, parser)  # type: ignore[arg-type]

    monkeypatch.setattr(squid.squid_fast.RequestMemo, "number", counting)
    records = _same(path)
    assert sum(r.count for r in records) == 200_000 and len(records) == 12
    assert len(cut) > 3 and len(set(cut[0])) == 12
    long_key = f"CONNECT {long_host}:443".encode()
    for later in cut[1:]:
        assert long_key in {key[1] for key in later}
        # besides the long key only a line whose window would run past the block's end (one or two) is cut out
        assert len({key for key in later if key[1] != long_key}) <= 2, later
