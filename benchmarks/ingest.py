"""Ingest benchmark: packet captures (benchmarks/capture_bench.py) and DNS logs (benchmarks/dnslog_bench.py).

    python -m benchmarks.ingest [--packets N] [--lines N] [--no-tshark] [--keep]

Generated inputs go under benchmarks/work/ (git-ignored). Each parse runs in its own subprocess so the
peak RSS printed is that parse's own. The figures depend on the machine and its load: quote them with both.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from benchmarks import capture_bench

WORK_DIR = Path(__file__).resolve().parent / "work"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=capture_bench.DEFAULT_PACKETS,
                        help="frames in the generated capture (default %(default)s)")
    parser.add_argument("--lines", type=int, default=None, help="lines per generated DNS log (dnslog_bench default)")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark comparison")
    parser.add_argument("--keep", action="store_true", help="keep the generated capture for the next run")
    args = parser.parse_args(argv)

    print("== packet capture")
    figures = capture_bench.run(WORK_DIR, args.packets, not args.no_tshark)
    print(capture_bench.report(figures))
    if not args.keep:
        for scenario in ("mixed", "dns_only"):
            Path(figures[scenario]["file"]).unlink(missing_ok=True)

    if importlib.util.find_spec("benchmarks.dnslog_bench") is None:
        print("== DNS logs: benchmarks/dnslog_bench.py not present")
        return 0
    from benchmarks import dnslog_bench

    print("== DNS logs")
    if args.lines is None:
        dnslog_bench.run(WORK_DIR / "dnslog")
    else:
        dnslog_bench.run(WORK_DIR / "dnslog", args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
