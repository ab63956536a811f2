"""Docker Desktop's `registry.json` (enforced sign-in, every platform): `{"allowedOrgs": ["myorg1", "myorg2"]}`.

Paths (desktop.md §2.1, [S1][S3], H): Windows `%ProgramData%\\DockerDesktop\\registry.json`, macOS
`/Library/Application Support/com.docker.docker/registry.json`, Linux
`/usr/share/docker-desktop/registry/registry.json`. The file must be UTF-8 without BOM (2025 docs, H); what
Docker Desktop does with a BOM or invalid JSON is UNCONFIRMED, so both are recorded as settings
(`file.bom`, `file.invalid`) for the decision to report as "review", besides the input error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, MachineSetting
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_text, json_file_state, machine_of, read_machine_json, settings_of

NAME = "desktop_registry_json"
ORIGIN = "registry.json"
_KEY = re.compile(r'"allowedorgs"\s*:', re.IGNORECASE)


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if name == "registry.json":
        return True
    return name.endswith(".json") and "registry" in name and bool(_KEY.search(head_text(inp)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    machine = machine_of(inp)
    value, encoding, errors = read_machine_json(inp, ctx, NAME, "registry.json")
    yield from errors
    yield from json_file_state(inp, machine, ORIGIN, NAME, encoding, errors)
    if value is None:
        return
    if not isinstance(value, dict):
        yield inp.error("not a JSON object: registry.json holds {\"allowedOrgs\": [...]}", line=1, parser=NAME)
        yield MachineSetting(machine, ORIGIN, "file.invalid", True, inp.source(line=1, parser=NAME), "(syntax)")
        return
    yield from settings_of(inp, machine, ORIGIN, value, NAME)
