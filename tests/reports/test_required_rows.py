"""The audit document's required hosts held as compact rows read exactly as the dicts they were made from."""

from __future__ import annotations

import json

from reports.json_report import render_json, render_json_pieces
from reports.required_rows import Deferred, RequiredRows, required_column


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"host": f"h{i}.example", "roles": ["api"], "chains": [["r.example", f"h{i}"]],
                                      "allowed_by": None if i % 2 else "example"} for i in range(5)]
    rows[3]["registries_total"] = 70  # a capped sample adds a key: another layout
    return rows


def test_rows_read_back_as_the_dicts_in_order_with_their_own_keys() -> None:
    rows = RequiredRows(_rows())
    assert len(rows) == 5 and rows == _rows() and list(rows) == _rows()
    assert rows[3] == _rows()[3] and list(rows[3]) == ["host", "roles", "chains", "allowed_by", "registries_total"]
    assert rows[-1] == _rows()[-1] and rows[1:3] == _rows()[1:3]
    assert list(required_column(rows, "host")) == [f"h{i}.example" for i in range(5)]
    assert list(required_column(_rows(), "allowed_by")) == list(required_column(rows, "allowed_by"))
    assert rows != _rows()[:4]


def test_a_document_holding_rows_renders_the_text_of_one_holding_dicts() -> None:
    head = {"schema": "regaudit/audit", "findings": [{"id": "F1", "note": "ümlaut"}]}
    with_rows = {**head, "required": RequiredRows(_rows()), "inputs": []}
    with_dicts = {**head, "required": _rows(), "inputs": []}
    text = render_json(with_dicts)
    assert render_json(with_rows) == text == json.dumps(with_dicts, indent=2, ensure_ascii=False) + "\n"
    assert "".join(render_json_pieces(with_rows)) == text


def test_deferred_values_are_made_when_a_row_is_read_sorted_distinct_and_capped() -> None:
    made: list[str] = []

    def text(item: int) -> str:
        made.append(f"t{item}")
        return f"t{item}"

    rows = RequiredRows([{"host": "a.example", "needed_by": Deferred([3, 1, 3, 2], text, 2)},
                         {"host": "b.example", "needed_by": Deferred([7], text, 2)},
                         {"host": "c.example", "needed_by": Deferred([], text, 2)}])
    assert made == []  # nothing made while the rows are only held
    expected = [{"host": "a.example", "needed_by": ["t1", "t2"]}, {"host": "b.example", "needed_by": ["t7"]},
                {"host": "c.example", "needed_by": []}]
    assert list(rows) == expected and rows == expected and rows[1] == expected[1] and rows[0:2] == expected[:2]
    assert list(required_column(rows, "needed_by")) == [["t1", "t2"], ["t7"], []]
    assert json.loads(render_json({"required": rows})) == {"required": expected}
