"""What the machine-bundle parsers share: the machine's name, reading text in the encodings Windows tools write,
and turning nested settings into lower-cased dotted keys.

A machine bundle is one folder per machine (`scripts/collect-machine.sh` writes one); the folder's name is the
machine's name in every record. Docker Desktop's files changed key casing across versions (camelCase
`settings.json`, PascalCase `settings-store.json`; desktop.md §6.3), so every key is matched lower-cased.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Generator, Iterator
from typing import Any

from auditor.core.model import Evidence, InputError, MachineSetting, MachineValue
from parsers.common.claims import fold_case
from parsers.common.hosts import strip_userinfo
from parsers.common.inputs import MAX_CONFIG_BYTES, InputFile, ParseContext
from parsers.common.json_positions import load_json
from parsers.common.yaml_loader import LineDict

MAX_ITEMS = 10_000  # settings from one file: far more than any real Docker Desktop file holds


def machine_of(inp: InputFile) -> str:
    """The bundle folder's name: the machine every record of INP belongs to."""
    if inp.display == "<stdin>":
        return "<stdin>"
    parent = inp.path.parent
    return parent.name or parent.resolve().name or "<machine>"


def decode_machine_text(data: bytes) -> tuple[str, str]:
    """DATA as text and the encoding used: UTF-16 (PowerShell's `>` and `reg export` write it) by BOM or by its
    NUL pattern, else UTF-8 (BOM stripped), with undecodable bytes replaced."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    sample = data[:512]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le"
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    return data.decode("utf-8", errors="replace"), "utf-8"


def head_text(inp: InputFile) -> str:
    return inp.memo("machine_head_text", lambda: decode_machine_text(inp.head)[0])  # type: ignore[no-any-return]


def head_folded(inp: InputFile) -> str:
    """head_text folded (parsers/common/claims.fold_case): a case-blind key search first asks whether the key is
    a plain substring of it, which costs a fraction of the regex on a walk's JSON files."""
    return inp.memo("machine_head_folded", lambda: fold_case(head_text(inp)))  # type: ignore[no-any-return]


def read_machine_text(inp: InputFile, parser: str) -> tuple[str | None, str, list[InputError]]:
    """The whole file as text (encoding as decode_machine_text), or None and why not (too large, binary)."""
    with inp.open() as stream:
        data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        return None, "", [inp.error(f"over the {MAX_CONFIG_BYTES} byte limit for a {parser} file; skipped",
                                    parser=parser)]
    text, encoding = decode_machine_text(data)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, encoding, [inp.error(f"binary content (NUL bytes) in a {parser} file; skipped", line=line,
                                          parser=parser)]
    return text, encoding, []


def machine_text(inp: InputFile, ctx: ParseContext, parser: str) -> Generator[InputError, None, str | None]:
    """`text = yield from machine_text(...)` in a parser: the file's text (or None), its errors yielded, its bytes
    counted for progress."""
    text, _encoding, errors = read_machine_text(inp, parser)
    ctx.advance(inp.size)
    yield from errors
    return text


def read_machine_json(inp: InputFile, ctx: ParseContext, parser: str, label: str
                      ) -> tuple[Any, str, list[InputError]]:
    """The JSON value of INP with positions (json_positions), what is readable before a syntax error, and errors.
    The encoding is returned so a rule can flag a BOM."""
    text, encoding, errors = read_machine_text(inp, parser)
    ctx.advance(inp.size)
    if text is None:
        return None, encoding, errors
    if not text.strip():
        return None, encoding, [inp.error(f"empty {label}", line=1, parser=parser)]
    result = load_json(text)
    if result.error:
        errors.append(inp.error(f"{result.error} in {label}; the settings before it are still used",
                                line=result.error_line, parser=parser))
    return result.value, encoding, errors


def json_lines(text: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, value, error) for each non-blank line of a JSON Lines text (`--format json` of list commands);
    a whole JSON array is accepted too, as one value per element."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            yield 1, None, f"invalid JSON array ({exc.__class__.__name__})"
            return
        for value in values if isinstance(values, list) else ():
            yield 1, value, None
        return
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            yield number, None, "not a JSON object line"
            continue
        try:
            yield number, json.loads(line), None
        except (ValueError, RecursionError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.__class__.__name__
            yield number, None, f"invalid JSON: {message}"


def named_json_objects(inp: InputFile, text: str, parser: str, what: str,
                       build: Callable[[int, dict[str, Any]], Evidence]) -> Iterator[Evidence]:
    """BUILD(line, object) for each JSON Lines object with a string `Name` (what `docker context ls` and
    `docker buildx ls` print with `--format json`); any other line is an error naming it, up to MAX_ITEMS lines."""
    for count, (number, value, error) in enumerate(json_lines(text)):
        if count >= MAX_ITEMS:
            return
        if error:
            yield inp.error(error, line=number, parser=parser)
        elif not isinstance(value, dict) or not isinstance(value.get("Name"), str):
            yield inp.error(f"a {what} line without a Name", line=number, parser=parser)
        else:
            yield build(number, value)


def scalar(value: Any) -> MachineValue:
    """A JSON value as a MachineValue: scalars kept, arrays as tuples of strings, objects as compact JSON text.
    URLs lose any `user:password@`: proxy settings may carry credentials."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return strip_userinfo(value) if "@" in value and "://" in value else str(value)
    if isinstance(value, list):
        return tuple(item if isinstance(item, str) else json.dumps(item, sort_keys=True) for item in value)
    return json.dumps(value, sort_keys=True, default=str)


def flatten(value: Any, prefix: str = "", text_prefix: str = "") -> Iterator[tuple[str, str, Any, int | None]]:
    """(lower-cased dotted key, key as written, leaf value, line) for every leaf under VALUE (a LineDict)."""
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        key_text = f"{text_prefix}{key}"
        lowered = f"{prefix}{str(key).lower()}"
        line = value.line_of(key) if isinstance(value, LineDict) else None
        if isinstance(item, dict) and item:
            yield from flatten(item, lowered + ".", key_text + ".")
        else:
            yield lowered, key_text, item, line


def settings_of(inp: InputFile, machine: str, origin: str, value: Any, parser: str,
                prefix: str = "", text_prefix: str = "") -> Iterator[MachineSetting]:
    for count, (key, key_text, item, line) in enumerate(flatten(value, prefix, text_prefix)):
        if count >= MAX_ITEMS:
            return
        yield MachineSetting(machine, origin, key, scalar(item), inp.source(line=line, parser=parser), key_text,
                             _json_type(item))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"


def json_file_state(inp: InputFile, machine: str, origin: str, parser: str, encoding: str,
                    errors: list[InputError]) -> Iterator[MachineSetting]:
    """The settings a rule reads about the file itself: a BOM (`file.bom`), JSON that did not parse
    (`file.invalid`). Shared by registry.json and admin-settings.json, which Docker Desktop refuses alike."""
    if encoding != "utf-8":
        yield MachineSetting(machine, origin, "file.bom", encoding, inp.source(line=1, parser=parser), "(encoding)")
    if any("invalid JSON" in e.message or "empty" in e.message for e in errors):
        yield MachineSetting(machine, origin, "file.invalid", True, errors[-1].source, "(syntax)")
