"""Logs whose lines are read in context, cut into byte ranges by their kind's rule (parsers/logs/range_cuts.py):
dnsmasq pairs a `<CNAME>` reply with its target and a block line with its query up to 8 lines apart, Windows DNS
reads a detail record from its PACKET line on, a CI log names its runner once and an error takes its image from
a `docker pull` up to 30 lines before. Each log is generated with those spans crossing many places; a ranged
parse must find what the whole-file parse finds (counts, clients, images, CNAME pairs), and a cut placed a few
lines off the rule must not (so the rule is what makes them equal). Then the CLI's JSON on a real
distributed.LocalCluster on 127.0.0.1 equals the local engine's.

The comparison is of what the parse says, summed per key: a range folds its records apart from the ranges
before it (tests/pipeline/test_dask_ranges.py), so record boundaries differ while counts may not.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from auditor.core.model import BlockedAttempt, Evidence, Observation, RedirectEdge
from auditor.pipeline.byte_ranges import ByteRange, plan_ranges, ranged_spec
from parsers import parser_named
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import line_reader

KINDS = ["dnsmasq", "windows_dns", "docker_log"]


def _dnsmasq(path: Path, lines: int, seed: int) -> None:
    rnd = random.Random(seed)
    out: list[str] = []
    serial = 1
    while len(out) < lines:
        t = 36000 + len(out) // 40
        tag = f"May  1 {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d} dnsmasq[1234]: "
        name = f"h{rnd.randrange(3000)}.svc{rnd.randrange(7)}.example.com"
        client = f"192.168.{rnd.randrange(4)}.{rnd.randrange(1, 60)}"
        shape = rnd.randrange(10)
        others = [f"{tag}query[AAAA] other{rnd.randrange(99)}.example.org from 10.9.9.{rnd.randrange(9)}"
                  for _ in range(rnd.randrange(6))]  # interleaved queries of other clients
        if shape < 4:
            out += [f"{tag}query[A] {name} from {client}", f"{tag}forwarded {name} to 1.1.1.1",
                    f"{tag}reply {name} is 192.0.2.{rnd.randrange(250)}"]
        elif shape < 7:  # a CNAME reply, its target up to 6 lines on
            out += [f"{tag}query[A] {name} from {client}", f"{tag}reply {name} is <CNAME>", *others,
                    f"{tag}reply edge{rnd.randrange(50)}.cdn.example.net is 198.51.100.{rnd.randrange(250)}"]
        elif shape < 9:  # a block line, its query (which names the client) up to 6 lines before
            out += [f"{tag}query[A] {name} from {client}", *others, f"{tag}gravity blocked {name} is 0.0.0.0"]
        else:  # log-queries=extra: serials pair the lines
            serial += 1
            own = f"{tag}{serial} {client}/5300{serial % 10} "
            out += [f"{own}query[A] {name} from {client}", f"{own}reply {name} is <CNAME>",
                    f"{tag}{serial + 1} 10.1.1.1/4000 query[A] x{serial}.example.org from 10.1.1.1",
                    f"{own}reply edge{rnd.randrange(50)}.cdn.example.net is 203.0.113.{serial % 250}"]
    path.write_text("\n".join(out) + "\n")


def _windows_dns(path: Path, lines: int, seed: int) -> None:
    rnd = random.Random(seed)
    out = ["DNS Server log file creation at 5/1/2024 10:00:00 AM", ""]
    while len(out) < lines:
        name = f"h{rnd.randrange(3000)}"
        wire = f"({len(name)}){name}(3)svc(7)example(3)com(0)"
        client = f"10.0.{rnd.randrange(4)}.{rnd.randrange(1, 60)}"
        second = len(out) // 40
        stamp = f"5/1/2024 {1 + second // 3600 % 12}:{second // 60 % 60:02d}:{second % 60:02d} PM 0D48 PACKET  " \
                "000000000181D1C0 UDP"
        out += [f"{stamp} Rcv {client:<15} 0c6b   Q [0001   D   NOERROR] A      {wire}",
                f"{stamp} Snd {client:<15} 0c6b R Q [8081   DR  NOERROR] A      {wire}"]
        if rnd.randrange(3) == 0:  # its detail record: the answer is a CNAME
            target = f"edge{rnd.randrange(40)}"
            out += ["UDP response info at 000000000181D1C0", "  Message:", "    ANSWER SECTION:",
                    '    Name      "[C00C]"', "      TYPE   CNAME  (5)",
                    f"      DATA   ({len(target)}){target}(3)cdn(7)example(3)net(0)", ""]
    path.write_text("\n".join(out) + "\n")


def _docker_log(path: Path, lines: int, seed: int) -> None:
    rnd = random.Random(seed)
    registries = ["ghcr.io", "quay.io", "registry.example.com"]
    out: list[str] = []
    while len(out) < lines:
        n = len(out)
        stamp = f"2024-05-01T{10 + n // 36000 % 12:02d}:{n // 600 % 60:02d}:{n // 10 % 60:02d}.{n % 10}000000Z"
        shape = rnd.randrange(60)
        if shape == 0:  # a job header names its runner once
            out.append(f"{stamp} Runner name: 'runner-{rnd.randrange(9)}'")
        elif shape < 4:
            out.append(f"{stamp} docker pull {rnd.choice(registries)}/team{rnd.randrange(5)}/app{rnd.randrange(30)}"
                       f":{rnd.randrange(9)}")
        elif shape < 7:
            out.append(f"{stamp} Error response from daemon: registry access to {rnd.choice(registries)} is not "
                       "allowed")
        else:
            out.append(f"{stamp} #{rnd.randrange(20)} [build {rnd.randrange(9)}/9] RUN make step{rnd.randrange(99)}")
    path.write_text("\n".join(out) + "\n")


WRITERS = {"dnsmasq": _dnsmasq, "windows_dns": _windows_dns, "docker_log": _docker_log}


def said(records: list[Evidence]) -> dict[tuple[object, ...], object]:
    """What RECORDS say, per key: counts summed, first and last times; a CNAME edge's times seen summed."""
    out: dict[tuple[object, ...], object] = {}
    for r in records:
        if isinstance(r, RedirectEdge):
            key: tuple[object, ...] = ("edge", r.from_host, r.to_host, r.via, r.confidence, r.client)
            seen = r.detail.removeprefix("CNAME seen ").removesuffix("x")
            out[key] = int(out.get(key, 0)) + (int(seen) if seen.isdigit() else 1)  # type: ignore[call-overload]
            continue
        if isinstance(r, Observation):
            key = ("observation", r.host, r.kind, r.client, r.server, r.rcode, r.detail)
        elif isinstance(r, BlockedAttempt):
            key = ("blocked", r.host, r.reason, r.client, r.detail, r.image)
        else:
            key = ("other", type(r).__name__, repr(r))
        times = [t for t in (getattr(r, "time", None), getattr(r, "last_time", None)) if t is not None]
        count, first, last = out.get(key, (0, None, None))  # type: ignore[misc]
        out[key] = (count + getattr(r, "count", 1), min([*times, *([first] if first is not None else [])]),
                    max([*times, *([last] if last is not None else [])]))
    return out


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("context-logs")
    paths = {}
    for kind, write in WRITERS.items():
        paths[kind] = directory / f"{kind}.log"
        write(paths[kind], 120_000, seed=len(kind))
    return paths


def _parse(kind: str, path: Path, ranges: list[ByteRange] | None = None) -> list[Evidence]:
    spec = parser_named(kind)
    assert spec is not None
    inp = InputFile.from_path(path)
    assert spec.detect(inp)
    return list((ranged_spec(spec, ranges) if ranges else spec).parse(inp, ParseContext()))


@pytest.mark.parametrize("kind", KINDS)
def test_ranges_cut_by_the_rule_say_what_the_whole_file_says(kind: str, logs: dict[str, Path]) -> None:
    path = logs[kind]
    data = path.read_bytes()
    whole = said(_parse(kind, path))
    if kind == "docker_log":  # the context the ranges must be given is really used
        blocked = [key for key in whole if key[0] == "blocked"]
        assert sum(1 for key in blocked if key[5]) > 50 and sum(1 for key in blocked if key[3]) > 50
    elif kind == "dnsmasq":
        assert sum(1 for key in whole if key[0] == "edge") > 500
        assert sum(1 for key in whole if key[0] == "blocked" and key[3]) > 500
    for parts in (8, 31):
        ranges = plan_ranges(InputFile.from_path(path), kind, len(data) // parts)
        assert ranges is not None and len(ranges) >= parts - 1
        assert all(data[r.start - 1:r.start] == b"\n" for r in ranges[1:])
        assert said(_parse(kind, path, ranges)) == whole, parts
    # the same ranges started two lines earlier and given no context: spans are cut, what is said changes
    off = []
    for r in ranges:
        start = r.start
        for _ in range(2 if r.start else 0):
            start = data.rfind(b"\n", 0, start - 1) + 1
        off.append(start)
    naive = [ByteRange(str(path), kind, start, end) for start, end in zip(off, [*off[1:], len(data)], strict=True)]
    assert said(_parse(kind, path, naive)) != whole


def test_docker_ranges_are_given_the_runner_and_the_pulls_before_them(logs: dict[str, Path]) -> None:
    path = logs["docker_log"]
    ranges = plan_ranges(InputFile.from_path(path), "docker_log", path.stat().st_size // 8)
    assert ranges is not None
    for r in ranges[1:]:
        lines = r.header.decode().split("\n")
        assert lines[0].split(" ", 1)[1].startswith("Runner name: '") and lines[-1] == ""
        assert all(not line or "Runner name: '" in line or " docker pull " in line for line in lines)
        assert len(lines) - 2 == 30  # the 30 lines before the cut, blanked but for runners and pulls
    assert ranges[0].header == b""


def test_dnsmasq_blocks_end_where_no_pair_is_cut(logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's blocks follow the same rule: tiny blocks (a few dozen lines each) read what one does."""
    path = logs["dnsmasq"]
    monkeypatch.setattr(line_reader, "BLOCK_BYTES", 1 << 30)
    one_block = said(_parse("dnsmasq", path))
    monkeypatch.setattr(line_reader, "BLOCK_BYTES", 4096)
    assert said(_parse("dnsmasq", path)) == one_block


def test_a_log_with_no_place_to_cut_is_read_whole(tmp_path: Path) -> None:
    """A Windows DNS log with no PACKET line past its head: no range may start anywhere, so none does."""
    path = tmp_path / "dns.log"
    _windows_dns(path, 200, seed=1)
    with open(path, "a") as out:
        out.write("".join(f"    Offset = 0x{n:04x}, RR count = 0\n" for n in range(40_000)))
    assert plan_ranges(InputFile.from_path(path), "windows_dns", path.stat().st_size // 8) is None


@pytest.mark.parametrize("kind", KINDS)
def test_context_logs_give_the_same_json_on_both_engines(kind: str, logs: dict[str, Path], scheduler: str) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from click.testing import CliRunner
    from distributed import Client, get_task_stream

    from auditor.cli import main

    path = logs[kind]
    ranges = plan_ranges(InputFile.from_path(path), kind, path.stat().st_size // 4)
    assert ranges is not None
    args = ["discover", "--format", "json", str(path), "--range-bytes", str(path.stat().st_size // 4)]
    local = CliRunner().invoke(main, [*args, "--jobs", "1"], catch_exceptions=False)
    with Client(scheduler, set_as_default=False) as client, get_task_stream(client) as stream:
        dask = CliRunner().invoke(main, [*args, "--engine", "dask", "--scheduler", scheduler],
                                  catch_exceptions=False)
    assert (dask.exit_code, dask.stdout) == (local.exit_code, local.stdout) and local.exit_code == 0
    assert sum(1 for task in stream.data if str(task["key"]).startswith("parse_range")) == len(ranges)
    assert json.loads(local.stdout)
