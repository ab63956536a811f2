"""JSON documents as indented text through a compiled encoder, byte for byte what json.dumps(indent=2) writes.

The standard library's C encoder has no `indent`: json.dumps(indent=2) runs the pure-Python encoder, and
on a big audit or discover document that is most of the run. orjson's OPT_INDENT_2 writes the same layout
(two spaces, `": "` between key and value, `[]` and `{}` for empty containers), the same escapes for
control characters, and the same shortest round-trip digits for floats. Where the two differ this module
falls back to json.dumps, so the text never depends on which path ran:
- float spelling: Python writes `1e+16` and `1e-05`, orjson `1e16` and `0.00001` (numbers at or above
  1e16 or below 1e-4); a document whose text shows such a number anywhere goes the slow way;
- integers beyond 64 bits, and anything orjson refuses (it raises; json.dumps then decides);
- `ensure_ascii`: orjson writes UTF-8; the few characters outside printable ASCII are escaped afterwards
  as json.dumps escapes them (`\\u2014`, surrogate pairs above the BMP, DEL as `\\u007f`).
NaN and infinities (json.dumps writes `NaN`, which is not JSON) do not occur in regaudit's documents.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A number in orjson's output that Python would spell differently (exponent, or a long run of zeros).
# Matched anywhere, strings included: a false alarm only costs the slow path.
_RISKY_NUMBER = re.compile(r"(?<![\w.])-?(?:0\.0000|[0-9]+(?:\.[0-9]+)?e)")
# Characters json.dumps(ensure_ascii=True) escapes that orjson writes as they are (raw newlines in
# orjson's output are its indentation: strings never hold one unescaped).
_NOT_ASCII = re.compile(r"[^\n -~]")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def dumps_indented(document: Any, ensure_ascii: bool = True) -> str:
    """json.dumps(DOCUMENT, indent=2, ensure_ascii=ENSURE_ASCII), faster on big documents."""
    try:
        import orjson
    except ImportError:  # an install without it: the same text, the slow way
        return json.dumps(document, indent=2, ensure_ascii=ensure_ascii)
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError; big ints, unknown types
        return json.dumps(document, indent=2, ensure_ascii=ensure_ascii)
    if _RISKY_NUMBER.search(text):
        return json.dumps(document, indent=2, ensure_ascii=ensure_ascii)
    if ensure_ascii:
        text = _NOT_ASCII.sub(_escape, text)
    return text
