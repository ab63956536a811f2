"""Multi-document YAML read one document at a time, so one broken document does not hide the others.

libyaml stops at the first error in a stream; splitting at `---` lines first (a document marker at column 0
always starts a new document, even after a block scalar) lets every other document still be read. Line
numbers of the loaded values are shifted back to lines of the whole file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from parsers.common.yaml_loader import LineDict, LineStr, YamlBomb, load_documents, yaml_error_line, yaml_error_text

_DOC_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


@dataclass(frozen=True)
class YamlDocument:
    value: Any
    line: int  # the 1-based line the document's text starts on
    partial: bool = False  # recovered from the lines before a syntax error
    number: int = 1  # 1-based position of the document in the file


@dataclass(frozen=True)
class YamlProblem:
    message: str
    line: int | None
    start: int  # the 1-based line the failing document's text starts on
    text: str = ""  # the failing document's text, for a line-based fallback
    number: int = 1  # 1-based position of the failing document in the file


def _chunks(text: str) -> Iterator[tuple[str, int]]:
    """(chunk text, 0-based line offset of its first line) for each `---`-separated chunk."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    line = 0
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        yield chunk, line
        line += chunk.count("\n")


def _shift(value: Any, offset: int, seen: set[int]) -> None:
    """Add OFFSET to the line of every LineStr/LineDict under VALUE (aliases shared: shift once)."""
    if offset == 0 or id(value) in seen:
        return
    if isinstance(value, LineStr):
        seen.add(id(value))
        value.line += offset
    elif isinstance(value, LineDict):
        seen.add(id(value))
        value.line += offset
        value.key_lines = {key: line + offset for key, line in value.key_lines.items()}
        for key, item in value.items():
            _shift(key, offset, seen)
            _shift(item, offset, seen)
    elif isinstance(value, list):
        seen.add(id(value))
        for item in value:
            _shift(item, offset, seen)


def iter_documents(text: str) -> Iterator[YamlDocument | YamlProblem]:
    """Each document of TEXT, or a YamlProblem for a chunk that cannot be loaded (then the next chunk).

    After a syntax error, the lines before the broken construct are read on their own (a truncated file
    keeps what it has); documents recovered so are marked `partial`.
    """
    number = 0
    for chunk, offset in _chunks(text):
        loaded = 0
        number += 1
        try:
            for value in load_documents(chunk):
                loaded += 1
                if value is not None:
                    _shift(value, offset, set())
                    yield YamlDocument(value, getattr(value, "line", offset + 1), number=number + loaded - 1)
        except YamlBomb as exc:
            yield YamlProblem(str(exc), offset + 1, offset + 1, chunk, number + loaded)
        except yaml.YAMLError as exc:
            line = yaml_error_line(exc)
            yield YamlProblem(yaml_error_text(exc), None if line is None else line + offset, offset + 1, chunk,
                              number + loaded)
            yield from _recover(chunk, offset, exc, loaded, number)
        except (ValueError, TypeError, RecursionError) as exc:  # constructor failures on hostile input
            yield YamlProblem(f"invalid YAML: {exc.__class__.__name__}: {exc}", offset + 1, offset + 1, chunk,
                              number + loaded)
        number += max(loaded - 1, 0)


def _recover(chunk: str, offset: int, error: yaml.YAMLError, already: int, number: int) -> Iterator[YamlDocument]:
    """The documents in CHUNK's lines before the broken construct (the earlier of its context and problem)."""
    marks = [m.line for m in (getattr(error, "context_mark", None), getattr(error, "problem_mark", None)) if m]
    if not marks:
        return
    prefix = "".join(chunk.splitlines(keepends=True)[: min(marks)])
    if not prefix.strip():
        return
    try:
        values = list(load_documents(prefix))
    except (yaml.YAMLError, YamlBomb, ValueError, TypeError, RecursionError):
        return
    for position, value in enumerate(values[already:]):
        if value is not None:
            _shift(value, offset, set())
            yield YamlDocument(value, getattr(value, "line", offset + 1), partial=True,
                               number=number + already + position)
