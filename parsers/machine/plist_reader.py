"""Reading a macOS preference file in either form an administrator collects it: the plist itself (XML or binary,
via plistlib) or the text `defaults read FILE` prints (the old NeXTSTEP property-list syntax).

`defaults read` text (desktop.md §2.1, H [S1]):
    { allowedOrgs = "first_org;second_org"; }        a string
    { allowedOrgs = ( myorg1, myorg2 ); }            an array
Only the type survives in that text (a string in quotes or bare, an array in parentheses, a dictionary in braces),
and the type is what the enforced-sign-in rules check. The reader is a small recursive-descent parser over a
linear-time tokenizer, with a nesting limit.
"""

from __future__ import annotations

import bisect
import plistlib
import re
import xml.parsers.expat
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[{}()=;,])|(?P<word>[^\s{}()=;,"]+)|(?P<bad>"))',
                    re.DOTALL)


class _Lines:
    """Line numbers of text positions, by bisection (a count per lookup would be quadratic in hostile input)."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def __call__(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos)


class PlistError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Plist:
    """A preference file's top-level dictionary, with the line of each key where the form shows it."""

    values: dict[str, Any]
    lines: dict[str, int]
    form: str  # "xml", "binary" or "defaults"


def looks_like_plist(text: str, head: bytes) -> bool:
    return head.startswith(b"bplist") or "<plist" in text[:2048] or "<!DOCTYPE plist" in text[:2048]


def looks_like_defaults(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith("{") and bool(re.search(r"^\s*\"?[A-Za-z][\w.]*\"?\s*=", stripped[1:4096], re.M))


def read_plist(data: bytes, text: str) -> Plist:
    """DATA (raw bytes) or TEXT (the same, decoded) as a Plist; PlistError says why not."""
    if data.startswith(b"bplist") or "<plist" in text[:2048]:
        return _plistlib(data, text)
    return _defaults(text)


def _plistlib(data: bytes, text: str) -> Plist:
    try:
        value = plistlib.loads(data)
    # LookupError: an XML declaration naming an encoding Python does not know (found by the fuzz campaign)
    except (plistlib.InvalidFileException, xml.parsers.expat.ExpatError, ValueError, TypeError, KeyError,
            IndexError, OverflowError, RecursionError, LookupError) as exc:
        line = getattr(exc, "lineno", None)
        raise PlistError(f"invalid property list ({exc.__class__.__name__})", line) from None
    if not isinstance(value, dict):
        raise PlistError("the property list's top level is not a dictionary", 1)
    form = "binary" if data.startswith(b"bplist") else "xml"
    lines: dict[str, int] = {}
    if form == "xml":
        line_at = _Lines(text)
        for match in re.finditer(r"<key>([^<]{1,200})</key>", text):
            lines.setdefault(match.group(1), line_at(match.start()))
    return Plist(value, lines, form)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[str, int] = {}
        self.line = _Lines(text)

    def token(self) -> tuple[str, str, int]:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or not match.group(0).strip():
            return "end", "", len(self.text)
        if match.lastgroup == "bad":
            raise PlistError("unterminated quoted string", self.line(match.start("bad")))
        self.pos = match.end()
        kind = match.lastgroup or "end"
        return kind, match.group(kind), match.start(kind)

    def value(self, kind: str, raw: str, start: int, depth: int, top: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise PlistError(f"nested deeper than {MAX_DEPTH} levels", self.line(start))
        if kind == "str":
            return _unquote(raw)
        if kind == "word":
            return raw
        if raw == "{":
            return self.dictionary(depth, top)
        if raw == "(":
            return self.array(depth)
        raise PlistError("unexpected end of text (truncated?)" if kind == "end" else f"unexpected '{raw}'",
                         self.line(start))

    def dictionary(self, depth: int, top: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            kind, raw, start = self.token()
            if raw == "}":
                return result
            if kind not in ("str", "word"):
                raise PlistError("expected a key or '}'" if kind != "end" else "unexpected end of text inside "
                                 "a dictionary (truncated?)", self.line(start))
            key = _unquote(raw) if kind == "str" else raw
            kind, raw, eq = self.token()
            if raw != "=":
                raise PlistError(f"expected '=' after the key {key!r}", self.line(eq))
            result[key] = self.value(*self.token(), depth + 1)
            if top:
                self.lines.setdefault(key, self.line(start))
            kind, raw, semi = self.token()
            if raw != ";":
                raise PlistError(f"expected ';' after the value of {key!r}", self.line(semi))

    def array(self, depth: int) -> list[Any]:
        items: list[Any] = []
        kind, raw, start = self.token()
        if raw == ")":
            return items
        while True:
            items.append(self.value(kind, raw, start, depth + 1))
            kind, raw, start = self.token()
            if raw == ")":
                return items
            if raw != ",":
                raise PlistError("expected ',' or ')' in an array", self.line(start))
            kind, raw, start = self.token()


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _defaults(text: str) -> Plist:
    reader = _Reader(text)
    kind, raw, start = reader.token()
    if raw != "{":
        raise PlistError("not `defaults read` output: it starts with '{'", reader.line(start))
    values = reader.dictionary(0, True)
    kind, raw, start = reader.token()
    if kind != "end":
        raise PlistError("text after the closing '}'", reader.line(start))
    return Plist(values, reader.lines, "defaults")


def value_type(value: Any) -> str:
    """The type `defaults read-type` would print for VALUE."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "dictionary"
    return type(value).__name__
