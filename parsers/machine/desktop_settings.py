"""Docker Desktop's user settings: `settings-store.json` (4.35 and later) and `settings.json` (4.34 and earlier).

Paths (desktop.md §6.1, [S19][S39], H): macOS `~/Library/Group Containers/group.com.docker/`, Windows
`%APPDATA%\\Docker\\`, Linux `~/.docker/desktop/`. settings-store.json uses PascalCase keys (`ProxyHTTPMode`,
`KubernetesEnabled`, `OverrideWindowsDockerdPort`; §6.2, H [S16]); older settings.json files are widely written
in camelCase (M, §6.3): keys are lower-cased here, so both read the same. A file named settings.json is only
taken when it holds a Docker Desktop key (`settingsVersion` or one of the keys below): editors keep their own
settings.json files too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_folded, head_text, machine_of, read_machine_json, settings_of

NAME = "desktop_settings"
_KEYS = ("settingsversion", "proxyhttpmode", "kubernetesenabled", "usewindowscontainers", "wslengineenabled",
         "overridewindowsdockerdport", "enhancedcontainerisolation", "vpnkitcidr", "updatehostsfile")
_DESKTOP_KEYS = re.compile(r'"(?:' + "|".join(_KEYS) + r')"\s*:', re.IGNORECASE)
# the keys as plain text: a head none of them is a substring of (folded) cannot match the case-blind regex
_KEY_TEXTS = tuple(f'"{key}"' for key in _KEYS)


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if name == "settings-store.json":
        return True
    if not name.endswith(".json"):
        return False
    folded = head_folded(inp)
    return any(key in folded for key in _KEY_TEXTS) and bool(_DESKTOP_KEYS.search(head_text(inp)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    origin = "settings-store.json" if inp.name.lower() == "settings-store.json" else "settings.json"
    value, _encoding, errors = read_machine_json(inp, ctx, NAME, origin)
    yield from errors
    if value is None:
        return
    if not isinstance(value, dict):
        yield inp.error(f"not a JSON object: {origin} holds one object of settings", line=1, parser=NAME)
        return
    yield from settings_of(inp, machine_of(inp), origin, value, NAME)
