"""docker_log's scan (signature matches remembered per message, runs of one attempt folded before the Batch) gives
exactly the records and stats of the line-by-line scan it replaced, kept here as the reference: every line's
signature searched afresh, every attempt given to the Batch on its own."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import docker_log as dl
from parsers.logs.line_reader import Batch, Clock, LineStats, LogReader
from tests.conftest import FIXTURES


def reference_scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    """The scan before issue 18's second pass, line by line."""
    reader = LogReader(inp, ctx, dl.NAME, stats)
    clock = Clock.for_input(inp)
    batch = Batch(inp, dl.NAME)
    runner: str | None = None
    last_pull: tuple[int, str, str] | None = None
    messages: dict[str, object] = {}
    for text, first_line in reader.blocks():
        lines_in_block = text.count("\n") + 1
        used, counted_upto, line_no = 0, 0, first_line
        for start in dl._candidate_lines(text):
            line_no += text.count("\n", counted_upto, start)
            counted_upto = start
            end = text.find("\n", start)
            line = text[start:end if end >= 0 else len(text)]
            match = dl._SIGNATURES.search(line)
            if match is None:
                continue
            if match["runner"] is not None:
                runner = match["runner"] or None
                continue
            if match["pulled"] is not None or match["wanted"] is not None:
                pulled = dl._pulled(match["pulled"] or match["wanted"], line_no)
                last_pull = pulled or last_pull
                continue
            used += 1
            recent = last_pull if last_pull and line_no - last_pull[0] <= dl.PULL_CONTEXT_LINES else None
            leading = dl._LEADING_ISO.match(line)
            message = line[leading.end():] if leading else line
            known = messages.get(message)
            if known is None:
                known = messages[message] = dl._judge(match, line)
                if len(messages) > 10_000:
                    messages.clear()
            if isinstance(known, str):
                reader.malformed(line_no, known)
                continue
            host, reason, detail, image = known  # type: ignore[misc]
            if image is None and recent is not None and recent[2] == dl.endpoint_host(host):
                image = recent[1]
            reader.stats.parsed += 1
            time, client = dl._time_and_client(line, clock, dl._LEADING_ISO.match(line))
            batch.block(host, reason, line_no, time, client or runner, detail, image)
        stats.ignore("no blocked-attempt signature", lines_in_block - used)
        yield from batch.flush_if_full()
        yield from reader.take_errors()
    yield from batch.flush()
    yield from reader.summary()


def _same(path: Path) -> list[Evidence]:
    fast_stats, slow_stats = LineStats(), LineStats()
    fast = list(dl.scan(InputFile.from_path(path), ParseContext(), fast_stats))
    slow = list(reference_scan(InputFile.from_path(path), ParseContext(), slow_stats))
    assert fast == slow
    assert (fast_stats.total, fast_stats.parsed, fast_stats.errors, dict(fast_stats.ignored)) == \
        (slow_stats.total, slow_stats.parsed, slow_stats.errors, dict(slow_stats.ignored))
    return fast


@pytest.mark.parametrize("name", ["gha-job.log", "dockerd-journal.log"])
def test_the_fixtures_give_the_reference_records(name: str) -> None:
    assert len(_same(FIXTURES / "logs" / "blocked" / name)) >= 2


_HOSTS = ("ghcr.io", "registry-1.docker.io", "quay.io", "bad..host", "Mixed.Example.COM:5000", "10.9.9.9")


def _line(rng: random.Random, index: int) -> str:
    second = index // 50
    stamp = f"2024-05-01T{10 + second // 3600 % 10:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    stamp += rng.choice([f".{rng.randrange(10**7):07d}Z", "Z", f".{rng.randrange(1000):03d}+02:00", ".5Z"])
    host = rng.choice(_HOSTS)
    roll = rng.random()
    if roll < 0.4:  # runs of one attempt, broken by others
        return f"{stamp} Error response from daemon: registry access to {host} is not allowed"
    if roll < 0.5:
        return (f'May  1 10:{index % 60:02d}:{index % 59:02d} runner-{index % 3} dockerd[12]: time="{stamp}" '
                f'level=error msg="registry access to {host} is not allowed"')
    if roll < 0.55:
        return f"{stamp} Access to docker.io has been restricted by your administrators."
    if roll < 0.58:
        return f"{stamp} image access denied: community images not allowed"
    if roll < 0.62:
        return f"{stamp} docker pull {host}/team/app:{index % 4}"
    if roll < 0.64:
        return f"Runner name: 'runner-{index % 5}'"
    if roll < 0.66:
        return f"Error response from daemon: registry access to {host} is not allowed"  # no stamp
    if roll < 0.68:
        return f"{stamp} failed to resolve source metadata for {host}/a/b:1: registry access to {host} is not allowed"
    return f"{stamp} Retrying in {index % 7} seconds"


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_logs_of_several_blocks_give_the_reference_records(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "ci-job.log"
    path.write_text("\n".join(_line(rng, index) for index in range(120_000)) + "\n")
    assert path.stat().st_size > 4 * 1024 * 1024  # more than one block
    os.utime(path, (1_714_600_000, 1_714_600_000))
    records = _same(path)
    assert sum(getattr(record, "count", 0) for record in records) > 40_000
    assert any(type(record).__name__ == "InputError" for record in records)  # bad..host


def test_a_retry_storm_gives_the_reference_records(tmp_path: Path) -> None:
    path = tmp_path / "storm.log"
    path.write_text("".join(f"2024-05-01T10:00:{index // 1000 % 60:02d}.{index:07d}Z Error response from daemon: "
                            f"registry access to ghcr.io is not allowed\n" for index in range(100_000)))
    [record] = _same(path)
    assert record.count == 100_000  # type: ignore[attr-defined]
