"""The macOS configuration profile for Docker Desktop, payload `com.docker.config` (desktop.md §2.1, H [S1]).

Readable at `/Library/Managed Preferences/com.docker.config.plist` (collected as that file, or as the output of
`defaults read "/Library/Managed Preferences/com.docker.config"`), or as the `.mobileconfig` profile an MDM
installs, whose `PayloadContent` holds the dictionary with `PayloadType` `com.docker.config`.
`allowedOrgs` must be a **string** of `;`-separated orgs: an array is ignored by Docker Desktop (H [S1]).
Other keys read from the same payload: `overrideProxyHTTP`, `overrideProxyHTTPS`, `overrideProxyExclude`,
`overrideProxyPAC`, `overrideProxyEmbeddedPAC` (Docker Desktop 4.48 and later, H [S3]).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_text
from parsers.machine.macos_preferences import preference_settings
from parsers.machine.plist_reader import looks_like_defaults, looks_like_plist

NAME = "config_profile"
ORIGIN = "config-profile"
PAYLOAD_TYPE = "com.docker.config"
_NAMES = ("com.docker.config", "com.docker.config.plist", "com.docker.config.txt")


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    text = head_text(inp)
    if name.endswith(".mobileconfig"):
        return PAYLOAD_TYPE in text
    if name not in _NAMES:
        return False
    return looks_like_plist(text, inp.head) or looks_like_defaults(text) or name == "com.docker.config.plist"


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    payload = _docker_payload if inp.name.lower().endswith(".mobileconfig") else None
    yield from preference_settings(inp, ctx, NAME, ORIGIN, payload)


def _docker_payload(top: dict[str, Any]) -> dict[str, Any] | None:
    for item in top.get("PayloadContent") or ():
        if isinstance(item, dict) and item.get("PayloadType") == PAYLOAD_TYPE:
            return item
    return None
