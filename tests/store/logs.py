"""Real-shaped logs for the store tests: Zeek dns.log lines and GitHub Actions job logs with RAM blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#open\t2026-07-01-00-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\t"
    "qclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\t"
    "count\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"
)


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def zeek_lines(queries: list[tuple[str, str, str]]) -> str:
    """(ISO time, client, query name) -> dns.log lines."""
    lines = []
    for n, (stamp, client, name) in enumerate(queries):
        lines.append(f"{epoch(stamp):.6f}\tC{n:05d}\t{client}\t{40000 + n}\t10.0.0.53\t53\tudp\t{n}\t0.000900\t"
                     f"{name}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t192.0.2.{n % 250}\t60.000000\tF\n")
    return "".join(lines)


def write_zeek(path: Path, queries: list[tuple[str, str, str]]) -> Path:
    path.write_text(ZEEK_HEADER + zeek_lines(queries), encoding="utf-8")
    return path


def job_lines(blocks: list[tuple[str, str]]) -> str:
    """(ISO time, blocked registry host) -> GitHub Actions log lines of a RAM refusal."""
    return "".join(f"{stamp}.0000000Z Error response from daemon: registry access to {host} is not allowed\n"
                   for stamp, host in blocks)


def job_header(stamp: str, runner: str = "build-runner-07") -> str:
    return (f"{stamp}.0000000Z Current runner version: '2.316.0'\n"
            f"{stamp}.0100000Z Runner name: '{runner}'\n")
