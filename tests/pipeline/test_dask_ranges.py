"""Large line-oriented logs read as byte ranges: both engines read the same ranges, each with its own fold, and put
their record streams together with one function, so `--engine dask` and `--engine local` give the same records and
byte-identical JSON for the same `--range-bytes`, however many distinct records the file holds (past the parsers'
FOLD_LIMIT a range hands its fold on mid-way: the case a fold-back of the ranges could not make exact).

Every splittable kind (Zeek TSV, Squid, BIND, Unbound, CoreDNS, Route 53) is generated with 105,000 distinct folded
keys that recur (2,100 names x 50 clients: few hosts, so the decisions stay cheap), CNAMEs and blocked attempts
where the format has them and a malformed line at a known place; the CLI runs go to a real distributed.LocalCluster
on 127.0.0.1.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from click.testing import CliRunner  # noqa: E402

from auditor.cli import main  # noqa: E402
from auditor.core.model import InputError, Observation, ObservationKind, Source  # noqa: E402
from auditor.pipeline.byte_ranges import (  # noqa: E402
    RangeRecords,
    file_records,
    parse_range,
    plan_ranges,
    ranged_spec,
)
from auditor.pipeline.collect import CollectOptions, collect  # noqa: E402
from auditor.pipeline.dask_engine import collect_on_dask  # noqa: E402
from benchmarks.dnslog_bench import write_squid, write_zeek  # noqa: E402
from parsers import parser_named  # noqa: E402
from parsers.common.inputs import InputFile, ParseContext  # noqa: E402
from parsers.logs.line_reader import FOLD_LIMIT  # noqa: E402

KINDS = ["zeek", "squid", "bind9", "unbound", "coredns", "route53"]
LINES = 280_000  # two ranges of 140,000 lines: each passes FOLD_LIMIT keys by a block end and hands its fold on
NAMES, CLIENTS = 2_100, 50  # 105,000 distinct (name, client) keys, each seen again 105,000 lines later
BAD_LINE = 200_001
START = 1714557600
ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#open\t2024-05-01-10-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass"
    "\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount"
    "\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n")


def _line(kind: str, n: int) -> str:
    name = "registry-1.docker.io" if n % 997 == 0 else f"h{n % NAMES}.svc{n % NAMES % 13}.example.com"
    client = f"10.0.{(n // NAMES) % CLIENTS}.7"
    ts = START + n / 100
    if kind == "zeek":
        answers = f"cdn.{name},192.0.2.{n % 250}" if n % 10 == 0 else "-"
        ttls = "60.0,30.0" if n % 10 == 0 else "-"
        return (f"{ts:.6f}\tC{n:017d}\t{client}\t4{n % 10000:04d}\t10.0.0.53\t53\tudp\t{n % 65536}\t0.000870\t{name}"
                f"\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t{ttls}\tF")
    if kind == "squid":
        status = "TCP_DENIED/403" if n % 20 == 0 else "TCP_TUNNEL/200"
        return f"{ts:.3f}    154 {client} {status} 5120 CONNECT {name}:443 - HIER_DIRECT/{name} -"
    if kind == "bind9":
        t = 36000 + n // 100
        return (f"01-May-2024 {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}.{n % 100:02d}0 queries: info: client "
                f"@0x7f3a2c0012a8 {client}#51234 ({name}): query: {name} IN A +E(0)K (10.0.0.53)")
    if kind == "unbound":
        return f"[{int(ts)}] unbound[812:0] info: {client} {name}. A IN"
    if kind == "coredns":
        return f'[INFO] {client}:42114 - {n % 65536} "A IN {name}. udp 36 false 512" NOERROR qr,rd,ra 80 0.0121s'
    assert kind == "route53"
    stamp = f"2024-05-01T{10 + n // 360000:02d}:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n % 100:02d}0Z"
    answers = (f'[{{"Rdata":"cdn.{name}.","Type":"CNAME","Class":"IN"}},{{"Rdata":"192.0.2.{n % 250}","Type":"A",'
               '"Class":"IN"}]') if n % 10 == 0 else "[]"
    block = ',"firewall_rule_action":"BLOCK","firewall_rule_group_id":"rg-1","firewall_domain_list_id":"dl-1"' \
        if n % 50 == 0 else ""
    return (f'{{"query_timestamp":'
            f'"{stamp}","query_name":"{name}.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":'
            f'{answers},"srcaddr":"{client}","srcport":"43312","transport":"UDP"{block}}}')


def _log(kind: str, directory: Path, lines: int = LINES) -> Path:
    path = directory / f"{kind}.log"
    with open(path, "w") as out:
        if kind == "zeek":
            out.write(ZEEK_HEADER)
        header = ZEEK_HEADER.count("\n") if kind == "zeek" else 0
        chunk = []
        for n in range(lines):
            chunk.append("this line is from no log at all" if n + 1 + header == BAD_LINE else _line(kind, n))
            if len(chunk) == 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        out.write("".join(line + "\n" for line in chunk))
    return path


def _two_ranges(path: Path, kind: str) -> tuple[InputFile, list, int]:
    inp = InputFile.from_path(path)
    range_bytes = path.stat().st_size // 2
    ranges = plan_ranges(inp, kind, range_bytes)
    assert ranges is not None and len(ranges) == 2
    data = path.read_bytes()
    assert all(data[r.start - 1:r.start] == b"\n" for r in ranges[1:])  # every cut is at a line start
    return inp, ranges, range_bytes


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("ranged-logs")
    return {kind: _log(kind, directory) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_the_local_and_the_task_reading_of_the_ranges_give_one_record_stream(kind: str, logs: dict[str, Path]) -> None:
    inp, ranges, _size = _two_ranges(logs[kind], kind)
    parts = [parse_range(r, inp.display, {}) for r in ranges]
    tasks = list(file_records(parts))
    local = list(ranged_spec(parser_named(kind), ranges).parse(inp, ParseContext()))
    assert tasks == local
    for part in parts:  # each range passed FOLD_LIMIT: its fold was handed on mid-range (a key recurs)
        keys = [(r.host, r.kind, r.client, r.detail) for r in part.records if isinstance(r, Observation)]
        assert len(keys) > len(set(keys)) and len(part.records) > FOLD_LIMIT
    errors = [r for r in local if isinstance(r, InputError)]
    assert [e.source.line for e in errors] == [BAD_LINE]  # named at its line in the file, not in its range
    assert len({r.source.line for r in local if isinstance(r, Observation)}) > FOLD_LIMIT


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    out = result.stdout
    if args[0] == "audit":
        document = json.loads(Path(args[args.index("--json") + 1]).read_text())
        document.pop("generated_at", None)
        out += json.dumps(document, sort_keys=True)
    return result.exit_code, out, result.stderr


def _tasks_and_runs(scheduler: str, args: list[str], size: list[str]) -> tuple[int, tuple, tuple]:
    """(range tasks the dask run made, the local run, the dask run) of one command."""
    from distributed import Client, get_task_stream

    local = _run([*args, *size, "--jobs", "1"])  # in this process: no fork beside the test's own scheduler thread
    with Client(scheduler, set_as_default=False) as client, get_task_stream(client) as stream:
        dask = _run([*args, "--engine", "dask", "--scheduler", scheduler, *size])
    return sum(1 for task in stream.data if str(task["key"]).startswith("parse_range")), local, dask


@pytest.mark.parametrize("kind", KINDS)
def test_a_split_log_gives_the_same_json_on_both_engines(kind: str, logs: dict[str, Path], scheduler: str) -> None:
    path = logs[kind]
    _inp, _ranges, range_bytes = _two_ranges(path, kind)
    tasks, local, dask = _tasks_and_runs(scheduler, ["discover", "--format", "json", str(path)],
                                         ["--range-bytes", str(range_bytes)])
    assert dask == local
    assert tasks == 2  # the file really was read by two range tasks
    assert local[0] == 0 and f"{path.name}:{BAD_LINE}" in local[1]  # the malformed line, named at its place


def test_propose_and_audit_of_split_logs_are_the_same(logs: dict[str, Path], scheduler: str, tmp_path: Path) -> None:
    kinds = ["squid", "route53"]  # blocked attempts and CNAME edges among their records
    paths = [str(logs[kind]) for kind in kinds]
    size = ["--range-bytes", str(min(logs[kind].stat().st_size for kind in kinds) // 2)]
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("registry-1.docker.io\nghcr.io\n" + "".join(f"h{n}.svc{n % 13}.example.com\n"
                                                                      for n in random.Random(3).sample(range(99), 5)))
    report = str(tmp_path / "report.json")
    for args in (["propose", "--format", "json", *paths],
                 ["audit", *paths, "--allowlist", str(allowlist), "--org", "acme", "--json", report]):
        tasks, local, dask = _tasks_and_runs(scheduler, args, size)
        assert dask == local, args
        assert local[0] in (0, 1) and local[1]
        assert tasks >= 2 * len(kinds)


def test_workers_option_with_ranges(logs: dict[str, Path]) -> None:
    path = logs["bind9"]
    _inp, _ranges, range_bytes = _two_ranges(path, "bind9")
    args = ["discover", "--format", "json", str(path), "--range-bytes", str(range_bytes)]
    assert _run([*args, "--engine", "dask", "--workers", "2"]) == _run([*args, "--jobs", "1"])


def test_the_range_size_is_part_of_the_answer_on_both_engines(logs: dict[str, Path]) -> None:
    """Read whole, the file hands its fold on at other places than as two ranges: its records differ (which is why
    --range-bytes applies to the local engine too); its counts do not."""
    path = logs["unbound"]
    _inp, _ranges, range_bytes = _two_ranges(path, "unbound")
    whole = collect([str(path)], CollectOptions(variables={}))
    ranged = collect([str(path)], CollectOptions(variables={}, range_bytes=range_bytes))
    assert whole.inputs[0].records != ranged.inputs[0].records
    assert {h: a.count for h, a in whole.activity.items()} == {h: a.count for h, a in ranged.activity.items()}
    assert [e.source.line for e in whole.errors] == [e.source.line for e in ranged.errors] == [BAD_LINE]


def test_noisy_and_concatenated_logs_are_the_same_on_both_engines(tmp_path: Path, scheduler: str) -> None:
    noisy = tmp_path / "noisy.log"  # more malformed lines than a range lists: each range has its summary
    write_squid(noisy, 12_000, seed=9)
    lines = noisy.read_text().splitlines(keepends=True)
    for n in range(100, 12_000, 150):
        lines[n - 1] = f"broken line {n}\n"
    noisy.write_text("".join(lines))
    concatenated = tmp_path / "two-zeek-logs.log"  # a second header inside: that range reads on to the end
    write_zeek(tmp_path / "a.log", 6_000, seed=1)
    write_zeek(tmp_path / "b.log", 6_000, seed=2)
    concatenated.write_bytes((tmp_path / "a.log").read_bytes() + (tmp_path / "b.log").read_bytes())
    for path, kind in ((noisy, "squid"), (concatenated, "zeek")):
        range_bytes = path.stat().st_size // 4
        assert len(plan_ranges(InputFile.from_path(path), kind, range_bytes) or []) == 4
        options = CollectOptions(variables={}, range_bytes=range_bytes)
        expected = collect([str(path)], options)
        store = collect_on_dask([str(path)], options, scheduler=scheduler, range_bytes=range_bytes)
        assert store.activity == expected.activity and list(store.activity) == list(expected.activity)
        assert store.errors == expected.errors and store.inputs == expected.inputs
        assert store.timeline == expected.timeline and store.blocked == expected.blocked
        whole = collect([str(path)], CollectOptions(variables={}))
        assert {h: a.count for h, a in whole.activity.items()} == {h: a.count for h, a in store.activity.items()}
    summaries = [e.message for e in collect([str(noisy)], CollectOptions(variables={}, range_bytes=range_bytes)).errors
                 if e.source.line is None]
    assert len(summaries) >= 2 and all(m.startswith("lines ") and "more problems not listed" in m for m in summaries)


def test_a_failure_in_a_range_ends_the_file_there() -> None:
    def query(host: str, line: int) -> Observation:
        return Observation(host, ObservationKind.DNS_QUERY, 1.0, source=Source("f", line, None, "bind9"))

    first = RangeRecords([query("a.example", 3)], 10)
    failed = RangeRecords([query("b.example", 4)], 5, failure=("KeyError", "'qname'"))
    later = RangeRecords([query("c.example", 1)], 5)
    stream = file_records([first, failed, later])
    assert next(stream).source.line == 3
    assert next(stream).source.line == 14  # 10 newlines before its range
    with pytest.raises(Exception, match="qname") as raised:
        next(stream)
    assert type(raised.value).__name__ == "KeyError"  # named as the parser's own failure is, locally


def test_compressed_and_unsplittable_kinds_stay_whole(tmp_path: Path) -> None:
    import gzip

    zeek = tmp_path / "dns.log"
    write_zeek(zeek, 12_000, seed=7)
    packed = tmp_path / "dns.log.gz"
    packed.write_bytes(gzip.compress(zeek.read_bytes()))
    assert plan_ranges(InputFile.from_path(packed), "zeek", 4096) is None
    assert plan_ranges(InputFile.from_path(zeek), "kubernetes", 4096) is None  # no line-oriented log
    assert plan_ranges(InputFile.from_path(zeek), "zeek", zeek.stat().st_size) is None  # small: one parse
    assert plan_ranges(InputFile.from_path(zeek), "zeek", None) is None
    lines = zeek.read_bytes().split(b"\n")
    lines[3000] = b"\x1f\x8b" + lines[3000]  # a line that starts like a gzip stream: no range starts there
    zeek.write_bytes(b"\n".join(lines))
    data = zeek.read_bytes()
    cut_at = data.index(b"\x1f\x8b")
    ranges = plan_ranges(InputFile.from_path(zeek), "zeek", cut_at - 10) or []
    assert ranges and all(not data[r.start:].startswith(b"\x1f\x8b") for r in ranges)
