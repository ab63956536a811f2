"""`.env` files as docker compose reads them (compose-go's dotenv parser).

- blank lines and lines starting with `#` are skipped; a leading `export ` is dropped;
- `KEY=VALUE` (blanks around `=` allowed); `KEY` alone takes its value from the process environment, which
  regaudit never reads, so it stays unset;
- `'single'` quotes are literal and may span lines; `"double"` quotes may span lines, understand `\\n`, `\\t`,
  `\\r`, `\\"`, `\\\\`, `\\$` and expand `${VAR}` / `$VAR`; unquoted values end at ` #` (an inline comment), are
  trimmed and expand variables too. Variables expand from the keys defined earlier in the same file.
A malformed line is reported with its number and skipped; the rest of the file is still used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.common.interpolate import interpolate, mapping_lookup

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "\\$"}


@dataclass
class DotEnv:
    values: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)


def parse_dotenv(text: str) -> DotEnv:
    result = DotEnv()
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        number = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export"):].strip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not _KEY_RE.match(key):
            result.problems.append((number, f"invalid variable name {key[:40]!r}; line skipped"))
            continue
        if not sep:
            continue  # KEY alone: taken from the process environment, which is not read
        rest = rest.lstrip()
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            start = number
            while _closing_quote(body, quote) < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            close = _closing_quote(body, quote)
            if close < 0:
                result.problems.append((start, f"unterminated {quote} quoted value for {key}; line skipped"))
                continue
            value = body[:close]
            if quote == '"':
                value = _expand(_unescape(value), result.values)
        else:
            hash_at = re.search(r"\s#", rest)
            value = (rest[: hash_at.start()] if hash_at else rest).strip()
            value = _expand(value, result.values)
        result.values[key] = value
    return result


def _closing_quote(body: str, quote: str) -> int:
    i = 0
    while i < len(body):
        if quote == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return -1


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value, flags=re.DOTALL)


def _expand(value: str, known: dict[str, str]) -> str:
    if "$" not in value:
        return value
    # An escaped `\$` stays a literal dollar: shell-dialect interpolation keeps it.
    expanded = interpolate(value, mapping_lookup(known), dialect="shell")
    return expanded.text
