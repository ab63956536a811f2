"""Lines per CPU-second of the Squid log parser on generated logs: its numpy block path, the line-by-line path
with its verdict memo, and without the memo.

    python -m benchmarks.log_bench [--lines N] [--runs 3]

The Squid log has the repetition of a real proxy without TLS bumping: a few hundred clients, mostly
CONNECTs to a few dozen registry hosts, one line in eight a plain-HTTP /v2/ request over a pool of blob
digests (every such line whose client, host and digest are new is a record of its own). Each parse runs
in this process (the parser alone, no CLI start-up, numpy imported first), the fastest of --runs shown; the
figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from pathlib import Path

from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import squid
from parsers.logs.line_reader import LineStats

WORK_DIR = Path(__file__).resolve().parent / "work"


class _Forgetful(dict):
    def __setitem__(self, key: object, value: object) -> None:
        pass


class _SquidLineByLine(squid._SquidParser):
    """Every block line by line (the path before squid_fast.py), with the verdict memo."""

    fast = False


class _SquidAfresh(_SquidLineByLine):
    """Every line decided afresh (urlsplit, host-name check): the parser as it was before the memo."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.verdicts = _Forgetful()


def write_squid(path: Path, lines: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    clients = [f"10.{i // 250}.{i % 250}.7" for i in range(400)]
    hosts = [f"registry{i}.corp.example" for i in range(30)] + ["registry-1.docker.io", "ghcr.io", "quay.io"]
    digests = [f"{rng.getrandbits(256):064x}" for _ in range(300)]
    start = 1_790_000_000.0
    with path.open("w") as out:
        for index in range(lines):
            moment = start + index * 0.01
            client, host = rng.choice(clients), rng.choice(hosts)
            if index % 8:
                out.write(f"{moment:.3f}    154 {client} TCP_TUNNEL/200 3617 CONNECT {host}:443 - "
                          f"HIER_DIRECT/{host} -\n")
            else:
                out.write(f"{moment:.3f}    812 {client} TCP_MISS/200 904512 GET https://{host}/v2/app/blobs/"
                          f"sha256:{rng.choice(digests)} - HIER_DIRECT/{host} application/octet-stream\n")


def measure(parser: type, path: Path) -> tuple[float, int]:
    stats = LineStats()
    started = time.process_time()  # CPU time: the machine is shared
    records = sum(1 for _ in parser(InputFile.from_path(path), ParseContext(), stats).run())
    return time.process_time() - started, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="parses of each kind, the fastest shown (default 3)")
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / "squid_access.log"
    write_squid(path, args.lines)
    size = path.stat().st_size / 1e6
    started = time.process_time()
    import numpy  # noqa: F401  # the block path imports it on first use: not a cost of the parse measured first
    print(f"numpy imported before the clocks start ({time.process_time() - started:.2f} CPU-s)")
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    for label, cls in (("squid (block path)", squid._SquidParser), ("squid, line by line", _SquidLineByLine),
                       ("squid, no memo", _SquidAfresh)):
        seconds, records = min(measure(cls, path) for _ in range(max(args.runs, 1)))
        print(f"{label:<20} {args.lines / seconds / 1e3:8.0f} k lines/CPU-s  {size / seconds:6.1f} MB/CPU-s  "
              f"{records} records  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
              flush=True)
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
