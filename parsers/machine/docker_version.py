"""`docker version --format json` (Docker CLI 24 and later) and the plain `docker version` text.

JSON shape (desktop.md §8.3, H [S33]): `{"Client": {..., "Os", "Context"}, "Server": {"Platform": {"Name":
"Docker Desktop 4.49.0 (208003)"}, "Version", "Os", "KernelVersion", ...}}`; `Server` is null when the engine is
unreachable. The text form starts `Client:` and has a `Server: <Platform.Name>` line. Every leaf becomes a
setting (`client.os`, `server.platform.name` ...); a Docker Desktop platform name also gives `desktop.version`
(`4.49.0`) by the fact sheet's pattern `^Docker Desktop (\\d+)\\.(\\d+)\\.(\\d+) \\((\\d+)\\)$`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, MachineSetting
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.yaml_loader import LineDict
from parsers.machine.bundle import head_text, machine_of, machine_text, read_machine_json, settings_of

NAME = "docker_version"
ORIGIN = "docker-version"
DESKTOP_PLATFORM = re.compile(r"^Docker Desktop (\d+)\.(\d+)\.(\d+)(?: \((\d+)\))?\s*$")
MAX_LINE = 8192
_FIELD = re.compile(r"^\s+([A-Za-z/][A-Za-z/ ]*?):(.*)$")  # the value is stripped after: no overlapping tail
_TEXT_FIELDS = {"version": "version", "api version": "apiversion", "os/arch": "os/arch", "context": "context",
                "kernel version": "kernelversion", "go version": "goversion"}


def detect(inp: InputFile) -> bool:
    text = head_text(inp).lstrip()
    if text.startswith("{"):
        return bool(re.match(r'\{\s*"Client"\s*:', text)) and ('"Server"' in text or '"ApiVersion"' in text)
    return text.startswith("Client:") and bool(re.search(r"^ (?:Version|API version):", text, re.M)) \
        and "Registry Mirrors:" not in text and "Server Version:" not in text


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    machine = machine_of(inp)
    if head_text(inp).lstrip().startswith("{"):
        value, _encoding, errors = read_machine_json(inp, ctx, NAME, "docker version output")
        yield from errors
        if not isinstance(value, dict):
            return
        yield from settings_of(inp, machine, ORIGIN, value, NAME)
        server = value.get("Server")
        platform = server.get("Platform") if isinstance(server, dict) else None
        name = platform.get("Name") if isinstance(platform, dict) else None
        line = platform.line_of("Name") if isinstance(platform, LineDict) else None
        if isinstance(name, str):
            yield from _desktop_version(inp, machine, name, line)
        return
    text = yield from machine_text(inp, ctx, NAME)
    if text is not None:
        yield from _text(inp, machine, text)


def _desktop_version(inp: InputFile, machine: str, platform: str, line: int | None) -> Iterator[MachineSetting]:
    match = DESKTOP_PLATFORM.match(platform.strip())
    if match:
        yield MachineSetting(machine, ORIGIN, "desktop.version", ".".join(match.group(1, 2, 3)),
                             inp.source(line=line, parser=NAME), "Server.Platform.Name", "string")


def _text(inp: InputFile, machine: str, text: str) -> Iterator[Evidence]:
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            yield inp.error(f"line longer than {MAX_LINE} characters; skipped", line=number, parser=NAME)
            continue
        top = re.match(r"^(Client|Server)\s*:(.*)$", line)
        if top:
            section = top.group(1).lower()
            rest = top.group(2).strip()
            if section == "server" and rest:
                yield MachineSetting(machine, ORIGIN, "server.platform.name", rest,
                                     inp.source(line=number, parser=NAME), "Server", "string")
                yield from _desktop_version(inp, machine, rest, number)
            elif section == "client" and rest:
                yield MachineSetting(machine, ORIGIN, "client.platform.name", rest,
                                     inp.source(line=number, parser=NAME), "Client", "string")
            continue
        field = _FIELD.match(line)
        if field is None or not section:
            if line.startswith(("Cannot connect", "error during connect", "Error response")):
                yield MachineSetting(machine, ORIGIN, "server.error", line.strip()[:200],
                                     inp.source(line=number, parser=NAME), "(stderr)", "string")
            continue
        label = field.group(1).strip().lower()
        key = _TEXT_FIELDS.get(label)
        value = field.group(2).strip()
        if key is None or not value:
            continue
        source = inp.source(line=number, parser=NAME)
        if key == "os/arch":
            os_name = value.split("/", 1)[0]
            yield MachineSetting(machine, ORIGIN, f"{section}.os", os_name, source, f"{section} OS/Arch", "string")
            continue
        if section == "server" and key == "kernelversion":
            yield MachineSetting(machine, ORIGIN, "server.kernelversion", value, source,
                                 "Server Kernel Version", "string")
            continue
        if section == "server" and key == "version":
            key = "version"
        full = f"{section}.{key}"
        yield MachineSetting(machine, ORIGIN, full, value, source, f"{section} {field.group(1).strip()}",
                             "string")
