"""Docker Desktop Settings Management's `admin-settings.json`: which settings an administrator set and locked.

Paths (desktop.md §5.1, [S14], H): macOS `/Library/Application Support/com.docker.docker/admin-settings.json`,
Windows `C:\\ProgramData\\DockerDesktop\\admin-settings.json`, Linux `/usr/share/docker-desktop/admin-settings.json`.
Structure (§5.2, H): top-level `configurationFileVersion`; simple settings `{"locked": bool, "value": ...}`;
groups (`proxy`, `containersProxy`, `kubernetes`, `enhancedContainerIsolation` ...) carry `locked` and their
own fields. Every leaf becomes a setting with a lower-cased dotted key (`proxy.windowsdockerdport`,
`blockdockerload.locked`). `linuxVM.dockerDaemonOptions.value` is stringified JSON (H): it is decoded and its
keys given under `linuxvm.dockerdaemonoptions.value.` (`...value.insecure-registries`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, MachineSetting
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.json_positions import load_json
from parsers.machine.bundle import head_text, json_file_state, machine_of, read_machine_json, settings_of

NAME = "admin_settings"
ORIGIN = "admin-settings.json"
_KEY = re.compile(r'"configurationfileversion"\s*:', re.IGNORECASE)
_DAEMON_OPTIONS = ("linuxvm.dockerdaemonoptions.value", "windowscontainers.dockerdaemonoptions.value")


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    return name == "admin-settings.json" or (name.endswith(".json") and bool(_KEY.search(head_text(inp))))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    machine = machine_of(inp)
    value, encoding, errors = read_machine_json(inp, ctx, NAME, "admin-settings.json")
    yield from errors
    yield from json_file_state(inp, machine, ORIGIN, NAME, encoding, errors)
    if value is None:
        return
    if not isinstance(value, dict):
        yield inp.error("not a JSON object: admin-settings.json holds one object of settings", line=1, parser=NAME)
        return
    for setting in settings_of(inp, machine, ORIGIN, value, NAME):
        yield setting
        if setting.key in _DAEMON_OPTIONS and isinstance(setting.value, str) and setting.value.strip():
            yield from _daemon_options(inp, machine, setting)


def _daemon_options(inp: InputFile, machine: str, setting: MachineSetting) -> Iterator[Evidence]:
    inner = load_json(str(setting.value))
    line = setting.source.line
    if inner.error or not isinstance(inner.value, dict):
        yield inp.error(f"{setting.key_text} is not a JSON object in a string (stringified daemon.json)",
                        line=line, parser=NAME)
        return
    for item in settings_of(inp, machine, ORIGIN, inner.value, NAME,
                            setting.key + ".", setting.key_text + "."):
        yield MachineSetting(item.machine, item.origin, item.key, item.value, inp.source(line=line, parser=NAME),
                             item.key_text, item.value_type)
