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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# A number in orjson's output that Python would spell differently (exponent, or a long run of zeros).
# Matched anywhere, strings included: a false alarm only costs the slow path.
_RISKY_NUMBER = re.compile(r"(?<![\w.])-?(?:0\.0000|[0-9]+(?:\.[0-9]+)?e)")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_WORD_OR_DOT = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")


def _has_risky_number(data: bytes) -> bool:
    """Whether _RISKY_NUMBER matches anywhere in DATA (orjson's UTF-8 output), four times faster than the
    regex itself on a big document: with every digit spelled 0, the only places to check are the hits of
    two fixed strings (`0e`, `0.0000`), found at memchr speed, each checked back to its number's start.
    A non-ASCII byte before a number counts as not a word character: at worst a false alarm (slow path)."""
    flat = data.translate(_DIGITS_AS_ZERO)
    at = flat.find(b"0.0000")
    while at != -1:
        if data[at:at + 6] == b"0.0000" and (at == 0 or flat[at - 1] not in _WORD_OR_DOT):
            return True
        at = flat.find(b"0.0000", at + 1)
    at = flat.find(b"0e")
    while at != -1:
        start = at
        while start and flat[start - 1] == 0x30:
            start -= 1
        if start and flat[start - 1] == 0x2E:  # digits.digits e: the number starts before the dot
            dot = start - 1
            start = dot
            while start and flat[start - 1] == 0x30:
                start -= 1
            if start == dot:  # `.5e`: a match would have to start after the dot, which the look-behind forbids
                at = flat.find(b"0e", at + 1)
                continue
        if start == 0 or flat[start - 1] not in _WORD_OR_DOT:
            return True
        at = flat.find(b"0e", at + 1)
    return False


# Characters json.dumps(ensure_ascii=True) escapes that orjson writes as they are (raw newlines in
# orjson's output are its indentation: strings never hold one unescaped).
_NOT_ASCII = re.compile(r"[^\n -~]")


def _ascii_escaped(text: str) -> str:
    """TEXT (orjson's output) with what json.dumps(ensure_ascii=True) escapes escaped. Most of a report is plain
    ASCII: two scans in C decide that (orjson escapes every other control character itself), not the regex."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _NOT_ASCII.sub(_escape, text)


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
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError; big ints, unknown types
        return json.dumps(document, indent=2, ensure_ascii=ensure_ascii)
    if _has_risky_number(data):
        return json.dumps(document, indent=2, ensure_ascii=ensure_ascii)
    text = data.decode()
    if ensure_ascii:
        text = _ascii_escaped(text)
    return text


STREAM_CHUNK = 500  # list items turned into dicts and encoded at a time (a chunk's bytes, text and dicts are held)


class Restart(str):
    """A piece that voids every piece before it: the slow path's whole text, met after a chunk could not be
    encoded the fast way (see iter_indented_pieces)."""


def settled(pieces: Iterable[str]) -> list[str]:
    """PIECES as the list they stand for: what comes before a Restart dropped."""
    held: list[str] = []
    for piece in pieces:
        if isinstance(piece, Restart):
            held = [str(piece)]
        else:
            held.append(piece)
    return held


def iter_indented_pieces(document: dict[str, Any], key: str, items: Iterable[Any], render: Callable[[Any], Any],
                         ensure_ascii: bool = True, chunk: int = STREAM_CHUNK) -> Iterator[str]:
    """dumps_indented(DOCUMENT with KEY: [RENDER(item) for item in ITEMS]) as pieces of text made as they are
    needed (`"".join(settled(pieces))` is exactly that text), so a writer can write each and let it go: DOCUMENT
    (a top-level dict whose KEY is an empty list, where the list goes) is encoded a top-level member at a time
    (`{NAME: value}` alone), and the items a CHUNK at a time, each chunk as `{KEY: [...]}`, so that orjson
    indents each exactly as it would inside the whole document. Where dumps_indented would take its slow path
    (no orjson, a risky number, an unencodable value) the whole document is built and dumps_indented decides,
    so the text is always the same: met after pieces were given, that text comes as a Restart."""
    iterator = iter(items)
    # the items already encoded, kept (not their dicts) for the slow path only when ITEMS cannot be read again:
    # a sequence that makes its items as it is read (the audit's RequiredRows) would otherwise be held whole
    consumed: list[Any] | None = [] if iterator is items else None

    def slow() -> Restart:
        # a list is read again from the start; an iterator partly read gives the items read so far, then the others
        every = list(items) if consumed is None else consumed + list(iterator)
        return Restart(dumps_indented({**document, key: [render(item) for item in every]}, ensure_ascii))

    try:
        import orjson
    except ImportError:
        yield slow()
        return
    option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS

    def text_of(data: bytes, start: int = 0, end: int | None = None) -> str:
        """DATA[START:END] as text, decoded through a view: a member's bytes are not copied before decoding."""
        text = str(memoryview(data)[start:end], "utf-8")
        return _ascii_escaped(text) if ensure_ascii else text

    def encoded(batch: list[Any]) -> str | None:
        """The chunk's items as the whole document's list would hold them, or None (the slow path decides)."""
        try:
            data = orjson.dumps({key: batch}, option=option)
        except TypeError:  # orjson.JSONEncodeError
            return None
        if _has_risky_number(data):
            return None
        return text_of(data, len(b'{\n  "') + len(key.encode()) + len(b'": [\n'), -len(b"\n  ]\n}"))

    def member(name: str) -> str | None:
        """DOCUMENT's top-level member NAME as the whole document's text holds it (`  "name": value`, indented as
        inside it), or None (the slow path decides): a big report's head is encoded a member at a time."""
        try:
            data = orjson.dumps({name: document[name]}, option=option)
        except TypeError:  # orjson.JSONEncodeError
            return None
        if _has_risky_number(data):
            return None
        return text_of(data, len(b"{\n"), -len(b"\n}"))

    names = list(document)
    if document.get(key) != [] or not isinstance(document.get(key), list):
        yield slow()  # KEY not a top-level empty list
        return
    at = names.index(key)
    yield "{\n"
    for name in names[:at]:
        text = member(name)
        if text is None:
            yield slow()
            return
        yield text  # the separator apart: joined, a big member's text would be copied
        yield ",\n"
    started = False
    for batch in _chunks(iterator, consumed, render, chunk):
        piece = encoded(batch)
        if piece is None:
            yield slow()
            return
        yield ",\n" if started else f'  "{key}": [\n'  # apart: joined, the chunk's text would be copied
        yield piece
        started = True
    yield "\n  ]" if started else f'  "{key}": []'
    for name in names[at + 1:]:
        text = member(name)
        if text is None:
            yield slow()
            return
        yield ",\n"
        yield text
    yield "\n}"


def _chunks(items: Iterator[Any], consumed: list[Any] | None, render: Callable[[Any], Any], size: int
            ) -> Iterator[list[Any]]:
    """The rendered ITEMS, SIZE at a time (the last chunk shorter), each item also kept in CONSUMED (if given)."""
    batch: list[Any] = []
    for item in items:
        if consumed is not None:
            consumed.append(item)
        batch.append(render(item))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
