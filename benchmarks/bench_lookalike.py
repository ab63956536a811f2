"""Lookalike screening speed: every observed host of a resolver log is compared with ~60 registry hosts.

Prints hosts per second over synthetic random names (a resolver log's long tail) and the number flagged.
Run: python benchmarks/bench_lookalike.py [COUNT]
"""

from __future__ import annotations

import random
import string
import sys
import time

from auditor.decisions.lookalike import find_lookalike
from auditor.knowledge import load_knowledge


def random_host(rng: random.Random) -> str:
    label = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 12)))
    domain = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9)))
    return f"{label}.{domain}{rng.choice(['.com', '.net', '.io', '.co.uk', '.de'])}"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    targets = frozenset(load_knowledge().well_known_registry_hosts()) | {"docker.io"}
    rng = random.Random(1)
    hosts = [random_host(rng) for _ in range(count)]
    start = time.perf_counter()
    flagged = sum(1 for host in hosts if find_lookalike(host, targets) is not None)
    elapsed = time.perf_counter() - start
    print(f"{count} hosts against {len(targets)} targets: {elapsed:.2f} s, {count / elapsed:,.0f} hosts/s, "
          f"{flagged} flagged")


if __name__ == "__main__":
    main()
