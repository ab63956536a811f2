"""The fast risky-number scan of reports/json_text.py answers as the regex it replaces (_RISKY_NUMBER)."""

from __future__ import annotations

import random

import pytest

from reports.json_text import _RISKY_NUMBER, _has_risky_number, dumps_indented

ALPHABET = "0123456789e.-_ :,\"[]{}ax\n"


@pytest.mark.parametrize("text", [
    "1e16", "1e-05", "-1e+16", "0.00001", "[0.0000]", "x1e5", "a.1e5", "_1e5", ".5e3", "1.5e3", "1.2.3e4",
    "12.34", "0.0001", "10.00001", "sha256:3e4f", "\"3e4\"", "v1.0.0e", ": 2.5e-7,", "", "e", "0e", "-0e",
])
def test_fixed_cases_agree_with_the_regex(text: str) -> None:
    assert _has_risky_number(text.encode()) == bool(_RISKY_NUMBER.search(text))


def test_random_texts_agree_with_the_regex() -> None:
    rng = random.Random(18)
    for _ in range(20_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 14)))
        assert _has_risky_number(text.encode()) == bool(_RISKY_NUMBER.search(text)), text


def test_a_non_ascii_letter_before_a_number_is_at_worst_a_false_alarm() -> None:
    # the regex counts `é` as a word character (no match); the byte scan cannot tell: it takes the slow path
    assert not _RISKY_NUMBER.search("é1e5")
    assert _has_risky_number("é1e5".encode())
    assert dumps_indented({"k": "é1e5"}) == '{\n  "k": "\\u00e91e5"\n}'


def test_documents_with_risky_numbers_still_match_json_dumps() -> None:
    import json

    document = {"big": 1e16, "small": 1e-05, "hex": "3e4f", "list": [0.5, 12.25]}
    assert dumps_indented(document) == json.dumps(document, indent=2)
