"""The one JSON reader for input: bounded nesting and number size, and the line of any error.

`json.loads` on hostile text fails in ways a parser does not expect: `RecursionError` for an array nested
20,000 deep, `ValueError` (the int-string limit) for a 5,000-digit number, and neither names a line. Every
JSON read from an input (parsers, the allowlist reader, `diff`'s inputs) goes through `loads`, which raises
only `JsonInputError` (a `ValueError`) with a one-line message and the line it concerns.

Both checks cost a C-speed scan: nesting is only measured when the text holds more openers than the limit,
and numbers are only parsed by hand when the text holds a run of digits longer than the limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 256  # no real document nests this deep; CPython's decoder recurses per level
MAX_NUMBER_CHARS = 40  # longer numbers are refused: nothing an input says needs more (a uint128 is 39 digits)

_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_NUMBER_CHARS + 1}}}")
# a string token, ended by its quote or, unterminated, by the end of the text (so no attempt rescans a
# string: linear time whatever the quotes and backslashes), or one bracket
_NESTING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class JsonInputError(ValueError):
    """JSON that cannot be read: malformed, nested too deep, or holding a number too long."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message if line is None else f"{message} (line {line})")
        self.message = message
        self.line = line


class _NumberTooLong(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for token in _NESTING_TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise JsonInputError(f"JSON nested deeper than {MAX_DEPTH} levels", _line_at(text, token.start()))
        elif char in "]}":
            depth -= 1


def _number(parse: type[int] | type[float]):  # type: ignore[no-untyped-def]
    def convert(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _NumberTooLong(text)
        return parse(text)
    return convert


def loads(text: str | bytes) -> Any:
    """TEXT as JSON; JsonInputError (with the line) for anything unreadable or out of bounds."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonInputError("not UTF-8 text", _line_at(bytes(text)[: exc.start].decode("utf-8", "replace"),
                                                            exc.start)) from None
    _check_depth(text)
    hooks: dict[str, Any] = {}
    if _LONG_DIGITS.search(text):
        hooks = {"parse_int": _number(int), "parse_float": _number(float)}
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"invalid JSON: {exc.msg} at column {exc.colno}", exc.lineno) from None
    except _NumberTooLong as exc:
        where = text.find(exc.text)
        raise JsonInputError(f"number of {len(exc.text)} characters, longer than {MAX_NUMBER_CHARS}",
                             _line_at(text, where) if where >= 0 else None) from None
    except RecursionError:  # a nesting our count missed (it should not): still an input error
        raise JsonInputError(f"JSON nested too deep (over {MAX_DEPTH} levels)", None) from None
    except ValueError as exc:  # any other bound of the decoder
        raise JsonInputError(f"unreadable JSON ({type(exc).__name__}: {str(exc)[:80]})", None) from None
