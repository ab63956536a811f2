"""What desktop_plist and config_profile share: read the file, yield one setting per top-level key with its type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, MachineSetting
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import machine_of, read_machine_text, scalar
from parsers.machine.plist_reader import PlistError, read_plist, value_type

MAX_BYTES = 4 * 1024 * 1024


def preference_settings(inp: InputFile, ctx: ParseContext, parser: str, origin: str,
                        payload: Any = None) -> Iterator[Evidence]:
    """Settings of a macOS preference file. PAYLOAD, when given, picks the dictionary to read out of the top level
    (a `.mobileconfig` profile holds the com.docker.config payload inside `PayloadContent`)."""
    with inp.open() as stream:
        data = stream.read(MAX_BYTES + 1)
    ctx.advance(inp.size)
    if len(data) > MAX_BYTES:
        yield inp.error(f"over the {MAX_BYTES} byte limit for a {origin} file; skipped", parser=parser)
        return
    text = data.decode("utf-8", errors="replace") if data.startswith(b"bplist") else None
    if text is None:
        text, _encoding, errors = read_machine_text(inp, parser)
        if text is None:
            yield from errors
            return
    try:
        plist = read_plist(data, text)
    except PlistError as exc:
        yield inp.error(f"{exc.message} in a {origin} file", line=exc.line, parser=parser)
        return
    values = payload(plist.values) if payload is not None else plist.values
    if values is None:
        yield inp.error(f"no {origin} payload in this property list", line=1, parser=parser)
        return
    machine = machine_of(inp)
    for key in values:
        item = values[key]
        yield MachineSetting(machine, origin, str(key).lower(), scalar(_plain(item)),
                             inp.source(line=plist.lines.get(str(key)), parser=parser), str(key), value_type(item))


def _plain(value: Any) -> Any:
    """plistlib's dates, bytes and nested containers as JSON-safe values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
