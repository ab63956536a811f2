"""The manifest `scripts/collect-machine.sh` (and its PowerShell twin) write into a bundle: `regaudit-machine.json`.

`{"regaudit_machine_bundle": 1, "platform": "macos|windows|linux", "desktop_version": "4.49.0", ...}`: the
platform decides the precedence of the sign-in methods (desktop.md §2.3), and the Docker Desktop version read
from the installed application is the fallback when `docker version` could not reach the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_text, machine_of, read_machine_json, settings_of

NAME = "machine_manifest"
ORIGIN = "bundle"
_KEY = re.compile(r'"regaudit_machine_bundle"\s*:')


def detect(inp: InputFile) -> bool:
    return inp.name.lower().endswith(".json") and bool(_KEY.search(head_text(inp)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    value, _encoding, errors = read_machine_json(inp, ctx, NAME, "regaudit-machine.json")
    yield from errors
    if not isinstance(value, dict):
        if value is not None:
            yield inp.error("not a JSON object: the bundle manifest is one object", line=1, parser=NAME)
        return
    yield from settings_of(inp, machine_of(inp), ORIGIN, value, NAME)
