"""JSON read with line numbers, keeping everything before a syntax error.

The json module gives values but no positions, and nothing at all from a truncated file. This small reader
returns strings as `LineStr` and objects as `LineDict` (as `_yaml` does), and on an error keeps the part
already read: a daemon.json cut in half still names the mirrors before the cut.

Error messages name the line and the kind of problem only, never the offending text: these files hold
credentials (`auths.*.auth`), and a message must not repeat a fragment of one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.core import safe_json
from auditor.core.model import InputError
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_loader import LineDict, LineStr

MAX_DEPTH = 256

_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
        (?P<str>"(?:[^"\\\x00-\x1f]|\\.)*")
      | (?P<punct>[{}\[\]:,])
      | (?P<lit>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)
    )""",
    re.VERBOSE,
)
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


@dataclass
class JsonResult:
    value: Any
    error: str | None = None
    error_line: int | None = None


class _Stop(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts: list[int] = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line_at(self, pos: int) -> int:
        lo, hi = 0, len(self.line_starts)
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if self.line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid
        return lo + 1

    def token(self) -> tuple[str, str, int]:
        """(kind, text, start) of the next token; kind "end" at the end of the text."""
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            rest = self.text[self.pos:]
            stripped = rest.lstrip(" \t\r\n")
            start = self.pos + len(rest) - len(stripped)
            if not stripped:
                return "end", "", start
            if stripped.startswith('"'):
                raise _Stop("unterminated string or a control character inside a string", start)
            raise _Stop("unexpected character (not JSON)", start)
        self.pos = match.end()
        kind = match.lastgroup or "end"
        return kind, match.group(kind), match.start(kind)

    def string(self, raw: str, start: int) -> LineStr:
        try:
            value = LineStr(json.loads(raw))
        except ValueError:
            raise _Stop("invalid escape in a string", start) from None
        value.line = self.line_at(start)
        return value

    def value(self, kind: str, raw: str, start: int, attach: Callable[[Any], None], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Stop(f"nested deeper than {MAX_DEPTH} levels", start)
        if kind == "str":
            attach(self.string(raw, start))
        elif kind == "lit":
            if raw in _LITERALS:
                attach(_LITERALS[raw])
            else:
                try:
                    attach(safe_json.loads(raw))
                except safe_json.JsonInputError as exc:
                    raise _Stop(exc.message, start) from None
        elif raw == "{":
            mapping = LineDict()
            mapping.line = self.line_at(start)
            mapping.key_lines = {}
            attach(mapping)
            self.members(mapping, depth)
        elif raw == "[":
            items: list[Any] = []
            attach(items)
            self.elements(items, depth)
        elif kind == "end":
            raise _Stop("unexpected end of file (truncated?)", start)
        else:
            raise _Stop(f"unexpected '{raw}'", start)

    def members(self, mapping: LineDict, depth: int) -> None:
        kind, raw, start = self.token()
        if raw == "}":
            return
        while True:
            if kind == "end":
                raise _Stop("unexpected end of file inside an object (truncated?)", start)
            if kind != "str":
                raise _Stop("expected a quoted key in an object", start)
            key = self.string(raw, start)
            kind, raw, colon = self.token()
            if raw != ":":
                raise _Stop("expected ':' after a key", colon)
            mapping.key_lines[key] = key.line

            def attach(value: Any, key: str = key) -> None:
                mapping[key] = value

            self.value(*self.token(), attach, depth + 1)
            kind, raw, start = self.token()
            if raw == "}":
                return
            if raw != ",":
                raise _Stop("expected ',' or '}' in an object" if kind != "end" else
                            "unexpected end of file inside an object (truncated?)", start)
            kind, raw, start = self.token()
            if raw == "}":
                raise _Stop("trailing comma before '}'", start)

    def elements(self, items: list[Any], depth: int) -> None:
        kind, raw, start = self.token()
        if raw == "]":
            return
        while True:
            self.value(kind, raw, start, items.append, depth + 1)
            kind, raw, start = self.token()
            if raw == "]":
                return
            if raw != ",":
                raise _Stop("expected ',' or ']' in an array" if kind != "end" else
                            "unexpected end of file inside an array (truncated?)", start)
            kind, raw, start = self.token()
            if raw == "]":
                raise _Stop("trailing comma before ']'", start)


def load_json(text: str) -> JsonResult:
    """The JSON value of TEXT with positions; on a syntax error, what was read before it plus the error."""
    reader = _Reader(text)
    holder: list[Any] = []
    try:
        reader.value(*reader.token(), holder.append, 0)
        kind, _raw, start = reader.token()
        if kind != "end":
            raise _Stop("text after the end of the JSON value", start)
    except _Stop as stop:
        return JsonResult(holder[0] if holder else None, f"invalid JSON: {stop.message}", reader.line_at(stop.pos))
    return JsonResult(holder[0] if holder else None)


def read_json_object(inp: InputFile, ctx: ParseContext, parser: str, kept: str, label: str
                     ) -> tuple[dict[str, Any] | None, list[InputError]]:
    """A JSON settings file read as one object: its value (None when there is nothing to use) and the errors.

    KEPT names what survives a syntax error ("the registries"); LABEL names the file kind in messages.
    load_json's messages never quote the text, so a secret near a syntax error cannot leak into an error.
    """
    text, errors = read_config_text(inp, parser, keep_binary=True)
    if text is None:
        return None, errors
    ctx.advance(inp.size)
    result = load_json(text)
    if result.error:
        errors.append(inp.error(f"{result.error}; {kept} before it are still used", line=result.error_line,
                                parser=parser))
    if result.value is None:
        return None, errors
    if not isinstance(result.value, dict):
        errors.append(inp.error(f"not a JSON object: {label} holds one object of settings", line=1, parser=parser))
        return None, errors
    return result.value, errors
