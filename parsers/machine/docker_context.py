"""`docker context ls --format json`: one object per context per line (desktop.md §8.4, H [S33]):
`{"Current": bool, "Description", "DockerEndpoint", "Error", "Name"}` (CLI 27.0-28.0 add `"ContextType"`).
Docker Desktop's contexts are `desktop-linux` (macOS `unix:///Users/<u>/.docker/run/docker.sock`, Windows
`npipe:////./pipe/dockerDesktopLinuxEngine`) and `desktop-windows` (M [S36])."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import DockerContext, Evidence
from parsers.common.hosts import strip_userinfo
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import head_text, machine_of, machine_text, named_json_objects

NAME = "docker_context"


def detect(inp: InputFile) -> bool:
    first = head_text(inp).lstrip().split("\n", 1)[0]
    return first.startswith(("{", "[")) and '"DockerEndpoint"' in first and bool(re.search(r'"Name"\s*:', first))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text = yield from machine_text(inp, ctx, NAME)
    if text is None:
        return
    machine = machine_of(inp)

    def context(number: int, value: dict[str, Any]) -> Evidence:
        endpoint = value.get("DockerEndpoint")
        description = value.get("Description")
        return DockerContext(machine, value["Name"], strip_userinfo(endpoint) if isinstance(endpoint, str) else "",
                             inp.source(line=number, parser=NAME), value.get("Current") is True,
                             description if isinstance(description, str) else "")

    yield from named_json_objects(inp, text, NAME, "context", context)
