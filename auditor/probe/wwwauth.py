"""`WWW-Authenticate` parsing (RFC 7235 section 4.1, RFC 9110 section 11.6.1).

    challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param  = token BWS "=" BWS ( token / quoted-string )

One header value may hold several challenges separated by commas (`Bearer realm="a,b", Basic realm="x"`);
a comma inside a quoted string is not a separator. Scheme and parameter names are case-insensitive: both come
back lowercased. Malformed parts are skipped, never raised on: the header comes from a remote server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
_PARAM_START_RE = re.compile(rf"[ \t]*({_TOKEN})[ \t]*=(?!=)")
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))")
_SPACE_RE = re.compile(r"[ \t]*")
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def parse_www_authenticate(value: str) -> list[Challenge]:
    challenges: list[Challenge] = []
    pos, end = 0, len(value)
    while pos < end:
        while pos < end and value[pos] in " \t,":
            pos += 1
        scheme_match = _TOKEN_RE.match(value, pos)
        if not scheme_match:
            # Unparseable text: skip to the next comma and try again there.
            comma = value.find(",", pos)
            pos = end if comma < 0 else comma + 1
            continue
        scheme = scheme_match.group(0).lower()
        pos = scheme_match.end()
        params: dict[str, str] = {}
        token68: str | None = None
        pos = _SPACE_RE.match(value, pos).end()  # type: ignore[union-attr]
        if pos < end and value[pos] != "," and not _PARAM_START_RE.match(value, pos):
            t68 = _TOKEN68_RE.match(value, pos)
            if t68:
                token68 = t68.group(0)
                pos = t68.end()
        else:
            pos = _parse_params(value, pos, params)
        challenges.append(Challenge(scheme, params, token68))
    return challenges


def _parse_params(value: str, pos: int, params: dict[str, str]) -> int:
    """Read `name=value` pairs from POS until the next challenge starts; return where that is."""
    end = len(value)
    while pos < end:
        start = pos
        while pos < end and value[pos] in " \t,":
            pos += 1
        param = _PARAM_START_RE.match(value, pos)
        if not param:
            return start if pos > start else pos  # a new challenge (a scheme name) starts here
        name = param.group(1).lower()
        pos = _SPACE_RE.match(value, param.end()).end()  # type: ignore[union-attr]
        quoted = _QUOTED_RE.match(value, pos)
        if quoted:
            text = re.sub(r"\\(.)", r"\1", quoted.group(1), flags=re.DOTALL)
            pos = quoted.end()
        else:
            token = _TOKEN_RE.match(value, pos)
            text = token.group(0) if token else ""
            pos = token.end() if token else pos
        params.setdefault(name, text)
        pos = _SPACE_RE.match(value, pos).end()  # type: ignore[union-attr]
        if pos < end and value[pos] != ",":
            # Junk after a value: skip to the next comma.
            comma = value.find(",", pos)
            pos = end if comma < 0 else comma
    return pos
