"""YAML 1.2 that PyYAML refuses: a reused anchor name (the later definition wins) and a plain `=` scalar."""

from __future__ import annotations

import pytest
import yaml

from parsers.common.yaml_loader import YamlBomb, load_documents

REUSED_ANCHOR = """\
defaults: &image
  image: cimg/base:2024.01
first:
  <<: *image
defaults2: &image
  image: cimg/python:3.12
second:
  <<: *image
plain: *image
"""


def test_a_reused_anchor_name_refers_to_its_latest_definition() -> None:
    [doc] = list(load_documents(REUSED_ANCHOR))
    assert doc["first"]["image"] == "cimg/base:2024.01"
    assert doc["second"]["image"] == "cimg/python:3.12"
    assert doc["plain"]["image"] == "cimg/python:3.12"
    # line numbers survive the slower composer used for this case
    assert doc["second"]["image"].line == 6
    assert doc.line_of("second") == 7


def test_a_reused_anchor_in_a_later_document_keeps_the_earlier_documents_once() -> None:
    docs = list(load_documents("a: 1\n---\nx: &n 1\ny: &n 2\nz: *n\n---\nb: 3\n"))
    assert docs == [{"a": 1}, {"x": 1, "y": 2, "z": 2}, {"b": 3}]


def test_an_undefined_alias_is_still_an_error() -> None:
    with pytest.raises(yaml.YAMLError):
        list(load_documents("a: &n 1\nb: &n 2\nc: *other\n"))


def test_the_alias_bomb_guard_applies_after_a_reused_anchor() -> None:
    lines = ["a0: &a [x, x, x, x, x, x, x, x, x, x]", "a0: &a [x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' if i == 1 else f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(YamlBomb):
        list(load_documents("\n".join(lines) + "\n"))


def test_a_plain_equals_sign_is_a_string() -> None:
    [doc] = list(load_documents("op: =\nlist: [=, '=']\n=: key\n"))
    assert doc == {"op": "=", "list": ["=", "="], "=": "key"}
    assert doc["op"].line == 1
