"""The compiled JSON path writes exactly what json.dumps(indent=2) writes, including where orjson would not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from reports.json_text import dumps_indented

_TEXTS = ["", "plain", "quote \" and backslash \\", "tab\tnewline\nreturn\r", "\x00\x01\x1f\x7f", "em — dash",
          "snow ☃", "emoji 😀 astral", "</script>", "1e16 in a string", "ümlaut", "\u2028\u2029"]
_NUMBERS = [0, -1, 7, 2**63 - 1, -(2**63), 0.1, 2.5, -0.0, 1790000000.123, 123456.789, 1e15, 1e16, 1.5e16, 1e-4,
            1e-5, 3.2e-7, 5e-324, 1.7976931348623157e308, 2**64, 10**30, True, False, None]


def _document(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice(_TEXTS + _NUMBERS)
    if roll < 0.65:
        return [_document(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_TEXTS) + str(i): _document(rng, depth + 1) for i in range(rng.randrange(4))}


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_random_documents_are_byte_identical(ensure_ascii: bool) -> None:
    rng = random.Random(5)
    for _ in range(3000):
        document = _document(rng)
        assert dumps_indented(document, ensure_ascii) == json.dumps(document, indent=2, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("value", [1e16, 1e-5, 2**64, {"a": [1e22]}, {1: "int key", "b": None}, ("a", 1)])
def test_values_orjson_spells_differently_take_the_slow_path(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


def test_a_big_document_goes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"hosts": [{"host": f"h{i}.example", "count": i, "share": i / 7, "tags": ["a", "—"]}
                          for i in range(20_000)]}
    called = []
    monkeypatch.setattr(json, "dumps", lambda *a, **k: called.append(1) or "")
    text = dumps_indented(document, ensure_ascii=True)
    assert not called  # no fall-back to the pure-Python encoder
    monkeypatch.undo()
    assert text == json.dumps(document, indent=2)


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_streamed_lists_give_the_whole_documents_text(ensure_ascii: bool) -> None:
    from reports.json_text import iter_indented_pieces, settled

    rng = random.Random(18)
    for round_ in range(600):
        items = [_document(rng) for _ in range(rng.randrange(12))]
        head = {"schema": rng.choice(_TEXTS), "before": _document(rng), "required": [], "after": _document(rng)}
        if round_ % 5 == 0:
            del head["after"]  # the list as the document's last key
        if round_ % 7 == 0:
            head["required_too"] = []  # another key that starts alike must not be mistaken for the list's place
        if round_ % 3 == 0:
            head = {"required": [], **{k: v for k, v in head.items() if k != "required"}}  # the list first
        whole = json.dumps({**head, "required": [{"item": i} for i in items]}, indent=2, ensure_ascii=ensure_ascii)
        for chunk in (1, 2, 5, 100):
            streamed = "".join(settled(iter_indented_pieces(head, "required", iter(items), lambda i: {"item": i},
                                                            ensure_ascii, chunk=chunk)))
            assert streamed == whole, (round_, chunk)
            pieces = settled(iter_indented_pieces(head, "required", items, lambda i: {"item": i}, ensure_ascii,
                                                  chunk=chunk))
            assert "".join(pieces) == whole, (round_, chunk)


def test_streaming_renders_each_item_once_on_the_fast_path() -> None:
    from reports.json_text import iter_indented_pieces, settled

    rendered: list[int] = []

    def render(item: int) -> dict[str, int]:
        rendered.append(item)
        return {"n": item}

    text = "".join(settled(iter_indented_pieces({"required": [], "notes": ["x"]}, "required", range(10), render,
                                                chunk=3)))
    assert json.loads(text) == {"required": [{"n": n} for n in range(10)], "notes": ["x"]}
    assert rendered == list(range(10))


def test_a_report_written_in_pieces_is_the_report_written_whole(tmp_path: Path) -> None:
    from auditor.pipeline.outputs import write_output
    from reports.json_report import render_json, render_json_pieces

    document = {"schema": "regaudit/audit", "required": [{"host": f"h{i}.example", "note": "ümlaut — dash"}
                                                         for i in range(5_000)], "findings": [{"id": "F1"}]}
    pieces = list(render_json_pieces(document))
    assert len(pieces) > 3 and "".join(pieces) == render_json(document)
    write_output(pieces, tmp_path / "deep" / "audit.json")
    assert (tmp_path / "deep" / "audit.json").read_text(encoding="utf-8") == render_json(document)


def test_a_head_member_the_fast_path_cannot_encode_after_the_list_restarts_the_text() -> None:
    """The head is encoded a member at a time, the members after the list last: one of them with a number orjson
    spells differently (met after the list's pieces were given) makes the whole text a Restart."""
    from reports.json_text import Restart, dumps_indented, iter_indented_pieces, settled

    head = {"schema": "x", "observed_hosts": [], "after": {"v": 1e16}}
    items = [{"n": i} for i in range(6)]
    pieces = list(iter_indented_pieces(head, "observed_hosts", items, lambda i: i, chunk=2))
    assert not isinstance(pieces[0], Restart) and isinstance(pieces[-1], Restart)
    assert "".join(settled(pieces)) == dumps_indented({**head, "observed_hosts": items}) == \
        json.dumps({**head, "observed_hosts": items}, indent=2)


@pytest.mark.parametrize("risky_at", [None, 0, 3, 9])
def test_pieces_written_as_they_are_made_start_the_file_over_at_the_slow_path(tmp_path: Path,
                                                                               risky_at: int | None) -> None:
    """write_output writes an iterator's pieces one by one; an item the fast path cannot encode (a number orjson
    spells differently) met after pieces were written makes the slow path's text a Restart: the file is started
    over and holds exactly the whole document's text, as standard output's collected pieces do."""
    from auditor.pipeline.outputs import write_output
    from reports.json_text import Restart, dumps_indented, iter_indented_pieces, settled

    items = [{"n": i, "v": 1e16 if i == risky_at else i} for i in range(10)]
    head = {"schema": "x", "observed_hosts": [], "after": [1]}
    whole = dumps_indented({**head, "observed_hosts": items})
    pieces = list(iter_indented_pieces(head, "observed_hosts", items, lambda i: i, chunk=2))
    assert any(isinstance(p, Restart) for p in pieces) is (risky_at is not None)
    if risky_at == 9:
        assert not isinstance(pieces[0], Restart)  # written before the risky item was met
    assert "".join(settled(pieces)) == whole
    write_output(iter_indented_pieces(head, "observed_hosts", items, lambda i: i, chunk=2), tmp_path / "out.json")
    assert (tmp_path / "out.json").read_text(encoding="utf-8") == whole


_WRITE_TO_STDOUT = """
import os, sys
from auditor.pipeline.outputs import write_output
from reports.json_text import iter_indented_pieces
risky_at = None if sys.argv[1] == "none" else int(sys.argv[1])
items = [{"n": i, "v": 1e16 if i == risky_at else i} for i in range(10)]
start = os.fstat(1).st_size if os.path.isfile("/proc/self/fd/1") else 0
def pieces():
    for number, piece in enumerate(iter_indented_pieces({"schema": "x", "observed_hosts": [], "after": [1]},
                                                        "observed_hosts", items, lambda i: i, chunk=2)):
        if number == 3:  # how much of the text had reached the file while it was still being made
            print(os.fstat(1).st_size - start if os.path.isfile("/proc/self/fd/1") else 0, file=sys.stderr)
        yield piece
write_output(pieces(), "-")
"""


@pytest.mark.parametrize("risky_at", [None, 9])
@pytest.mark.parametrize("how", ["file", "append", "pipe"])
def test_standard_output_redirected_to_a_file_is_written_as_made_and_started_over_in_place(
        tmp_path: Path, risky_at: int | None, how: str) -> None:
    """`regaudit propose --format json > proposal.json` writes its pieces as they are made, as `-o` does (the whole
    text is not collected first); a Restart starts the text over where it began. An appending redirection (`>>`,
    whose earlier content must stay) and a pipe get the collected text."""
    import subprocess
    import sys

    from reports.json_text import dumps_indented

    items = [{"n": i, "v": 1e16 if i == risky_at else i} for i in range(10)]
    whole = dumps_indented({"schema": "x", "observed_hosts": items, "after": [1]})
    argv = [sys.executable, "-c", _WRITE_TO_STDOUT, str(risky_at).lower()]
    root = Path(__file__).resolve().parents[2]
    if how == "pipe":
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=True)
        assert done.stdout == whole
        return
    out = tmp_path / "out.json"
    out.write_text("earlier line\n", encoding="utf-8")
    with out.open("a" if how == "append" else "w", encoding="utf-8") as handle:
        if how == "file":
            handle.write("before\n")  # written by the shell's other commands: where the text starts is kept
            handle.flush()
        done = subprocess.run(argv, cwd=root, stdout=handle, stderr=subprocess.PIPE, text=True, check=True)
    prefix = "earlier line\n" if how == "append" else "before\n"
    assert out.read_text(encoding="utf-8") == prefix + whole
    written_while_made = int(done.stderr.split()[-1])
    assert (written_while_made > 0) is (how == "file"), done.stderr
