"""Variable interpolation for Dockerfiles, compose files and CI files.

One scanner serves all three; the dialects differ only in how `$` is escaped:
- `dockerfile`: the escape character (`\\` or the `# escape=` one) before `$` keeps it literal (BuildKit);
- `compose`: `$$` is a literal `$` (compose spec, "Interpolation");
- `shell`: `\\$` is a literal `$` (CI files that hand the text to a shell).
Supported forms: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
`${VAR:?error}`, `${VAR?error}`; defaults may nest further expansions.
A variable with no value and no default is reported in `missing`, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Dialect = Literal["dockerfile", "compose", "shell"]
Lookup = Callable[[str], str | None]

_NAME_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | set("0123456789")


@dataclass
class Interpolated:
    text: str
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors


class _Scanner:
    def __init__(self, text: str, lookup: Lookup, dialect: Dialect, escape: str) -> None:
        self.text = text
        self.pos = 0
        self.lookup = lookup
        self.dialect = dialect
        self.escape = escape
        self.result = Interpolated("")

    def run(self, stop: str | None = None) -> str:
        """Expand until STOP (an unnested `}`) or the end; returns the expanded text."""
        out: list[str] = []
        text = self.text
        depth = 0
        while self.pos < len(text):
            ch = text[self.pos]
            if stop is not None and ch == stop and depth == 0:
                return "".join(out)
            if ch == "{" and stop is not None:
                depth += 1
            elif ch == "}" and stop is not None:
                depth -= 1
            if self.dialect == "dockerfile" and ch == self.escape and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                if nxt == "$":
                    out.append("$")
                    self.pos += 2
                    continue
            if self.dialect == "shell" and ch == "\\" and text.startswith("$", self.pos + 1):
                out.append("$")
                self.pos += 2
                continue
            if ch == "$":
                out.append(self._dollar())
                continue
            out.append(ch)
            self.pos += 1
        return "".join(out)

    def _dollar(self) -> str:
        text = self.text
        start = self.pos
        self.pos += 1
        if self.pos >= len(text):
            return "$"
        ch = text[self.pos]
        if self.dialect == "compose" and ch == "$":
            self.pos += 1
            return "$"
        if ch == "{":
            return self._braced(start)
        if ch in _NAME_START:
            end = self.pos
            while end < len(text) and text[end] in _NAME_CHARS:
                end += 1
            name = text[self.pos:end]
            self.pos = end
            return self._value(name)
        return "$"

    def _value(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            self.result.missing.append(name)
            return ""
        return value

    def _braced(self, start: int) -> str:
        text = self.text
        self.pos += 1  # past "{"
        end = self.pos
        while end < len(text) and text[end] in _NAME_CHARS:
            end += 1
        name = text[self.pos:end]
        self.pos = end
        if not name or self.pos >= len(text):
            self.result.errors.append(f"bad substitution: {text[start:]}")
            self.pos = len(text)
            return ""
        if text[self.pos] == "}":
            self.pos += 1
            return self._value(name)
        colon = text[self.pos] == ":"
        if colon:
            self.pos += 1
        op = text[self.pos] if self.pos < len(text) else ""
        if op not in ("-", "+", "?"):
            self.result.errors.append(f"bad substitution: {text[start:self.pos + 1]}")
            self._skip_to_brace()
            return ""
        self.pos += 1
        # The word is expanded only when used, so a missing variable inside an unused word is no gap.
        word_start = self.pos
        probe = _Scanner(text, self.lookup, self.dialect, self.escape)
        probe.pos = word_start
        word = probe.run(stop="}")
        self.pos = probe.pos + 1 if probe.pos < len(text) else len(text)
        value = self.lookup(name)
        unset = value is None
        empty_or_unset = unset or value == ""
        use_word = False
        if op == "-":
            use_word = empty_or_unset if colon else unset
            if not use_word:
                return value or ""
        elif op == "+":
            if empty_or_unset if colon else unset:
                return ""
            use_word = True
        else:  # "?"
            if empty_or_unset if colon else unset:
                self.result.errors.append(f"{name}: {word or 'required variable is missing a value'}")
                return ""
            return value or ""
        if use_word:
            self.result.missing.extend(probe.result.missing)
            self.result.errors.extend(probe.result.errors)
        return word

    def _skip_to_brace(self) -> None:
        close = self.text.find("}", self.pos)
        self.pos = len(self.text) if close < 0 else close + 1


def interpolate(text: str, lookup: Lookup, dialect: Dialect = "shell", escape: str = "\\") -> Interpolated:
    """Expand variables in TEXT; `lookup(name)` returns the value, or None when the variable is unset."""
    scanner = _Scanner(text, lookup, dialect, escape)
    scanner.result.text = scanner.run()
    return scanner.result


def mapping_lookup(*layers: dict[str, str]) -> Lookup:
    """A lookup over several mappings, the first holding a name winning."""

    def lookup(name: str) -> str | None:
        for layer in layers:
            if name in layer:
                return layer[name]
        return None

    return lookup
