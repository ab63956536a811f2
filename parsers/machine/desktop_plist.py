"""macOS `/Library/Application Support/com.docker.docker/desktop.plist` (enforced sign-in, desktop.md §2.1, H [S1]):
`allowedOrgs` must be an **array** of strings (`defaults read-type` prints `Type is array`). Read as an XML or
binary plist, or as `defaults read` output (a bundle may hold `desktop.plist.txt`)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_text
from parsers.machine.macos_preferences import preference_settings
from parsers.machine.plist_reader import looks_like_defaults, looks_like_plist

NAME = "desktop_plist"
ORIGIN = "desktop.plist"
_NAMES = ("desktop.plist", "desktop.plist.txt", "desktop.defaults.txt")


def detect(inp: InputFile) -> bool:
    if inp.name.lower() not in _NAMES:
        return False
    text = head_text(inp)
    return looks_like_plist(text, inp.head) or looks_like_defaults(text) or inp.name.lower() == "desktop.plist"


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    yield from preference_settings(inp, ctx, NAME, ORIGIN)
