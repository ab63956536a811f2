"""Property tests (hypothesis) for every parser and for the allowlist and diff readers: whatever bytes an input
holds, reading it yields records and input errors, never an exception and never a parser's failure.

Each example is one of the kind's own fixtures with hypothesis' bytes spliced in (or the bytes alone), read
through the collector with the kind forced (as `--kind` does) and rendered as the discover report. The
example count is bounded so the module runs in well under a minute; `python -m benchmarks.fuzz` is the long
campaign, and tests/test_fuzz_crashes.py replays what it found.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.core.allowlist import MatchMode, parse_allowlist_text
from auditor.decisions.audit import AUDIT_SCHEMA_ID
from auditor.decisions.diff import DiffError, diff_audits, load_audit
from auditor.pipeline.collect import CollectOptions, collect
from parsers import PARSERS, parser_for
from parsers.common.inputs import InputFile
from reports.discover import render_json
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
EXAMPLES = 12
HOSTILE = [b"1e300", b"nan", b"9" * 5000, b"[" * 600, b"{{ " * 300, b"${{" * 300, b"\n" * 600, b"\x00",
           b"\xff\xfe", b"0.0.0.0/0", b"https://u:p@h/x", b"\x1f\x8b"]


def _seeds() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 256 * 1024 \
                and FIXTURES / "fuzz" not in path.parents:
            spec = parser_for(InputFile.from_path(path))
            if spec is not None:
                found.setdefault(spec.name, []).append(path)
    return found


SEEDS = _seeds()
edits = st.lists(st.tuples(st.integers(min_value=0), st.one_of(st.binary(max_size=64), st.sampled_from(HOSTILE))),
                 max_size=4)


def _spliced(base: bytes, changes: list[tuple[int, bytes]]) -> bytes:
    for at, piece in changes:
        cut = at % (len(base) + 1)
        base = base[:cut] + piece + base[cut + len(piece) // 2:]
    return base


def test_every_kind_has_a_seed() -> None:
    assert {spec.name for spec in PARSERS} <= set(SEEDS)


@pytest.mark.parametrize("kind", sorted(spec.name for spec in PARSERS))
def test_no_input_breaks_a_parser(kind: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    seeds = SEEDS[kind]
    folder = tmp_path_factory.mktemp(kind)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(choice=st.integers(min_value=0, max_value=len(seeds) - 1), changes=edits)
    def run(choice: int, changes: list[tuple[int, bytes]]) -> None:
        seed = seeds[choice]
        path = folder / seed.name
        path.write_bytes(_spliced(seed.read_bytes(), changes))
        store = collect([str(path)], CollectOptions(variables={}, show_progress=False, forced_kind=kind))
        assert not [e for e in store.errors if " parser failed " in e.message], store.errors
        json.loads(render_json(store))

    run()


@settings(max_examples=60, deadline=None, database=None)
@given(text=st.text(max_size=300), suffix=st.sampled_from([".txt", ".csv", ".json", ""]))
def test_no_text_breaks_the_allowlist_reader(text: str, suffix: str) -> None:
    errors: list = []
    entries = list(parse_allowlist_text(text, "allowlist", suffix, errors))
    for entry in entries:
        assert entry.address and entry.address == entry.address.strip()
    from auditor.core.allowlist import Allowlist
    listed = Allowlist(entries)
    for entry in entries:
        listed.match(entry.address, MatchMode.SUFFIX)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                             lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4),
                             max_leaves=20),
       raw=st.binary(max_size=200))
def test_no_document_breaks_the_diff_reader(tmp_path: Path, document: object, raw: bytes) -> None:
    shaped = {"schema": AUDIT_SCHEMA_ID, "findings": document, "allowlist": document}
    for number, content in enumerate((json.dumps(shaped).encode(), raw, json.dumps(document).encode())):
        path = tmp_path / f"audit{number}.json"
        path.write_bytes(content)
        try:
            loaded = load_audit(path)
        except DiffError:
            continue
        diff_audits(loaded, loaded, str(path), str(path))
