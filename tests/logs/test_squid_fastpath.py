"""Squid's per-request verdict memo gives exactly the records, counts and errors of deciding every line afresh."""

from __future__ import annotations

import random
from pathlib import Path

from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import squid
from parsers.logs.line_reader import LineStats


class _Forgetful(dict):
    """A memo that remembers nothing: every line is decided afresh, as before the memo."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


class _Afresh(squid._SquidParser):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.verdicts = _Forgetful()


def _log(rng: random.Random, lines: int) -> str:
    clients = [f"10.1.0.{i}" for i in range(6)]
    hosts = ["registry-1.docker.io", "ghcr.io", "quay.io", "bad..host", "Mixed.Example.COM", "10.9.9.9"]
    out = []
    for index in range(lines):
        moment = f"{1790000000 + index // 3 + rng.choice([0, -2, 5])}.{rng.randrange(1000):03d}"
        host = rng.choice(hosts)
        roll = rng.random()
        client = rng.choice(clients)
        if roll < 0.35:
            out.append(f"{moment}    154 {client} TCP_DENIED/403 3617 CONNECT {host}:443 - HIER_NONE/- text/html")
        elif roll < 0.7:
            path = rng.choice(["/v2/", "/v2/library/alpine/manifests/3", "/"])
            out.append(f"{moment}  {rng.randrange(900)} {client} TCP_MISS/200 {rng.randrange(99999)} GET "
                       f"https://{host}{path} - HIER_DIRECT/{host} application/json")
        elif roll < 0.75:
            out.append(f"{moment}     10 {client} TCP_DENIED/407 3900 CONNECT {host}:443 - HIER_NONE/- text/html")
        elif roll < 0.8:
            out.append(f"{moment}      0 {client} NONE/400 3900 GET error:invalid-request - HIER_NONE/- text/html")
        elif roll < 0.87:
            out.append(f'{client} - - [08/Oct/2026:10:31:{index % 60:02d} +0000] "CONNECT {host}:443 HTTP/1.1" '
                       "403 3617 TCP_DENIED:HIER_NONE")
        elif roll < 0.92:
            out.append("")
        elif roll < 0.96:
            out.append(f"garbage line {index} \x01 not squid")
        else:
            out.append(f"{moment}    154 {client} TCP_MISS/200 3617 CONNECT {host}:443 - HIER_DIRECT/1.2.3.4 -\r")
    return "\n".join(out) + "\n"


def _run(parser: type, path: Path) -> tuple[list[object], LineStats]:
    stats = LineStats()
    return list(parser(InputFile.from_path(path), ParseContext(), stats).run()), stats


def test_remembered_verdicts_equal_fresh_ones(tmp_path: Path) -> None:
    rng = random.Random(6)
    path = tmp_path / "access.log"
    path.write_text(_log(rng, 30_000))
    fast, fast_stats = _run(squid._SquidParser, path)
    slow, slow_stats = _run(_Afresh, path)
    assert len(fast) > 100
    assert fast == slow
    assert (fast_stats.parsed, fast_stats.errors, dict(fast_stats.ignored)) == \
        (slow_stats.parsed, slow_stats.errors, dict(slow_stats.ignored))
    assert fast_stats.errors > 0 and fast_stats.ignored  # the odd lines are there
