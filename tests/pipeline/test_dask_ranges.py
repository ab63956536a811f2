"""Large line-oriented logs read as byte ranges: the ranges' records fold back into the record stream one parse of
the whole file yields (line numbers of input errors included), and `--engine dask` with a small `--range-bytes`
gives the JSON `--engine local` gives, on a real distributed.LocalCluster (127.0.0.1 only).

The logs are generated in the shapes the parsers read (Zeek dns.log with its header, Squid access.log) or made
from the fixtures' own lines repeated (BIND, Unbound), with malformed lines put in at known places.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from click.testing import CliRunner  # noqa: E402

from auditor.cli import main  # noqa: E402
from auditor.pipeline.byte_ranges import combined_records, parse_range, plan_ranges  # noqa: E402
from auditor.pipeline.collect import CollectOptions, collect  # noqa: E402
from auditor.pipeline.dask_engine import collect_on_dask  # noqa: E402
from benchmarks.dnslog_bench import write_squid, write_zeek  # noqa: E402
from parsers import parser_named  # noqa: E402
from parsers.common.inputs import InputFile, ParseContext  # noqa: E402
from parsers.logs.line_reader import FOLD_LIMIT, MAX_ERRORS_PER_FILE  # noqa: E402
from tests.conftest import FIXTURES  # noqa: E402

DNS_FIXTURES = FIXTURES / "logs" / "dns"




def _with_bad_lines(path: Path, bad: dict[int, str]) -> None:
    """PATH with its lines at the given (1-based) numbers replaced."""
    lines = path.read_text().splitlines(keepends=True)
    for number, text in bad.items():
        lines[number - 1] = text + "\n"
    path.write_text("".join(lines))


def _repeated(fixture: Path, kind: str, path: Path, copies: int) -> None:
    """The fixture's well-formed lines, COPIES times over, with one malformed line in the middle (a fixture's
    own malformed lines repeated would pass the per-file cap of listed problems: such a file is parsed whole)."""
    bad = {e.source.line for e in parser_named(kind).parse(InputFile.from_path(fixture), ParseContext())
           if hasattr(e, "message")}
    good = [line for number, line in enumerate(fixture.read_text().splitlines(keepends=True), 1) if number not in bad]
    lines = good * copies
    lines[len(lines) // 2] = "this line is from no resolver\n"
    path.write_text("".join(lines))


def _log(kind: str, tmp: Path) -> Path:
    if kind == "zeek":
        path = tmp / "dns.log"
        write_zeek(path, 12_000, seed=7)
        _with_bad_lines(path, {4_001: "not a zeek line", 9_500: "1714557600.0\tC1\t10.0.0.1"})
    elif kind == "squid":
        path = tmp / "access.log"
        write_squid(path, 12_000, seed=8)
        _with_bad_lines(path, {7_777: "this is no access.log line"})
    elif kind == "bind9":
        path = tmp / "query.log"
        _repeated(DNS_FIXTURES / "bind9_query.log", "bind9", path, 400)
    else:
        path = tmp / "unbound.log"
        _repeated(DNS_FIXTURES / "unbound.log", "unbound", path, 400)
    return path


def _ranges(path: Path, kind: str, pieces: int) -> tuple[InputFile, list]:
    inp = InputFile.from_path(path)
    ranges = plan_ranges(inp, kind, path.stat().st_size // pieces)
    assert ranges is not None and len(ranges) >= pieces - 1
    assert ranges[0].start == 0 and ranges[-1].end == path.stat().st_size
    data = path.read_bytes()
    assert all(data[r.start - 1:r.start] == b"\n" for r in ranges[1:])  # every cut is at a line start
    return inp, ranges


@pytest.mark.parametrize("kind", ["zeek", "squid", "bind9", "unbound"])
def test_ranges_fold_back_into_the_whole_files_record_stream(kind: str, tmp_path: Path) -> None:
    path = _log(kind, tmp_path)
    inp, ranges = _ranges(path, kind, 5)
    whole = list(parser_named(kind).parse(inp, ParseContext()))
    parts = [parse_range(r, inp.display, {}) for r in ranges]
    assert all(part.exact for part in parts)
    combined = combined_records(parts, FOLD_LIMIT, MAX_ERRORS_PER_FILE)
    assert combined == whole
    assert [e for e in whole if hasattr(e, "message")]  # a malformed line, named by its line number
    assert len(whole) > 5
    assert sum(len(p.records) for p in parts) > len(whole)  # the ranges really did hold the same keys apart


def test_input_errors_keep_their_line_numbers(tmp_path: Path) -> None:
    path = _log("zeek", tmp_path)
    inp, ranges = _ranges(path, "zeek", 6)
    parts = [parse_range(r, inp.display, {}) for r in ranges]
    combined = combined_records(parts, FOLD_LIMIT, MAX_ERRORS_PER_FILE)
    assert combined is not None
    assert sorted(e.source.line for e in combined if hasattr(e, "message")) == [4_001, 9_500]
    assert ranges[1].header.startswith(b"#separator") and b"#fields\t" in ranges[1].header


def test_what_cannot_be_folded_back_exactly_is_parsed_whole(tmp_path: Path, scheduler: str) -> None:
    noisy = tmp_path / "noisy.log"  # more malformed lines than a parse lists per file: the summary is the file's
    write_squid(noisy, 12_000, seed=9)
    _with_bad_lines(noisy, {n: f"broken line {n}" for n in range(100, 12_000, 300)})
    inp, ranges = _ranges(noisy, "squid", 4)
    assert combined_records([parse_range(r, inp.display, {}) for r in ranges], FOLD_LIMIT,
                            MAX_ERRORS_PER_FILE) is None
    concatenated = tmp_path / "two-zeek-logs.log"  # a second #fields header inside: later ranges need it
    write_zeek(tmp_path / "a.log", 6_000, seed=1)
    write_zeek(tmp_path / "b.log", 6_000, seed=2)
    concatenated.write_bytes((tmp_path / "a.log").read_bytes() + (tmp_path / "b.log").read_bytes())
    inp, ranges = _ranges(concatenated, "zeek", 4)
    assert not all(parse_range(r, inp.display, {}).exact for r in ranges[:-1])
    options = CollectOptions(variables={})
    for path in (noisy, concatenated):
        expected = collect([str(path)], options)
        store = collect_on_dask([str(path)], options, scheduler=scheduler, range_bytes=path.stat().st_size // 4)
        assert store.activity == expected.activity and list(store.activity) == list(expected.activity)
        assert store.errors == expected.errors and store.inputs == expected.inputs
        assert store.timeline == expected.timeline and store.blocked == expected.blocked


def test_compressed_and_unsplittable_kinds_stay_whole(tmp_path: Path) -> None:
    import gzip

    zeek = _log("zeek", tmp_path)
    packed = tmp_path / "dns.log.gz"
    packed.write_bytes(gzip.compress(zeek.read_bytes()))
    assert plan_ranges(InputFile.from_path(packed), "zeek", 4096) is None
    assert plan_ranges(InputFile.from_path(zeek), "dnsmasq", 4096) is None  # a reply names its query's line
    assert plan_ranges(InputFile.from_path(zeek), "zeek", zeek.stat().st_size) is None  # small: one task


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    out = result.stdout
    if args[0] == "audit":
        document = json.loads(Path(args[args.index("--json") + 1]).read_text())
        document.pop("generated_at", None)
        out += json.dumps(document, sort_keys=True)
    return result.exit_code, out, result.stderr


def test_split_logs_give_the_same_json_through_the_cli(scheduler: str, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    paths = [_log(kind, logs) for kind in ("zeek", "squid", "bind9")]
    rng = random.Random(3)
    range_bytes = min(p.stat().st_size for p in paths) // 3
    assert all(len(plan_ranges(InputFile.from_path(p), k, range_bytes) or []) >= 3
               for p, k in zip(paths, ("zeek", "squid", "bind9"), strict=True))
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("registry-1.docker.io\nghcr.io\n" + "".join(f"host{rng.randrange(99)}.example\n"
                                                                      for _ in range(3)))
    report = str(tmp_path / "report.json")
    for args in (["discover", "--format", "json", str(logs)], ["propose", "--format", "json", *map(str, paths)],
                 ["audit", str(logs), "--allowlist", str(allowlist), "--org", "acme", "--json", report]):
        local = _run(args)
        dask = _run([*args, "--engine", "dask", "--scheduler", scheduler, "--range-bytes", str(range_bytes)])
        assert dask == local, args
        assert local[1]
