"""`docker info --format json` (Docker CLI 24 and later) and the plain `docker info` text.

JSON (desktop.md §8.2, H [S33][S34]): one object, server fields at the top level. Read: `Name`, `OperatingSystem`,
`OSType`, `KernelVersion`, `ServerVersion`, `HttpProxy`, `HttpsProxy`, `NoProxy`, `Labels`, `ClientInfo.Context`,
`RegistryConfig.Mirrors`, `RegistryConfig.InsecureRegistryCIDRs`, and `RegistryConfig.IndexConfigs` entries with
`Secure: false` (insecure registries), given as `registryconfig.insecure`. Text labels (H [S33]): ` Name:`,
` Operating System:`, ` OSType:`, ` Kernel Version:`, ` Server Version:`, ` HTTP Proxy:`, ` HTTPS Proxy:`,
` No Proxy:`, ` Context:`, and the indented lists under ` Insecure Registries:` and ` Registry Mirrors:`.
Empty strings are what the CLI prints for an unreachable engine: they are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, MachineSetting
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.yaml_loader import LineDict
from parsers.machine.bundle import head_text, machine_of, machine_text, read_machine_json, scalar

NAME = "docker_info"
ORIGIN = "docker-info"
MAX_LINE = 8192
_TOP = ("Name", "OperatingSystem", "OSType", "KernelVersion", "ServerVersion", "HttpProxy", "HttpsProxy",
        "NoProxy", "Labels", "ServerErrors", "IndexServerAddress")
_TEXT_LABELS = {"name": "name", "operating system": "operatingsystem", "ostype": "ostype",
                "kernel version": "kernelversion", "server version": "serverversion", "http proxy": "httpproxy",
                "https proxy": "httpsproxy", "no proxy": "noproxy", "context": "clientinfo.context"}
_TEXT_LISTS = {"insecure registries": "registryconfig.insecure", "registry mirrors": "registryconfig.mirrors",
               "labels": "labels"}


def detect(inp: InputFile) -> bool:
    text = head_text(inp).lstrip()
    if text.startswith("{"):
        return '"ServerVersion"' in text and '"OperatingSystem"' in text
    # "^ Server Version:" in multi-line mode, as a substring test: TEXT starts with no space (stripped)
    return "\n Server Version:" in text or (
        text.startswith("Client:") and bool(re.search(r"^ (?:Operating System|Registry Mirrors|Insecure Registries):",
                                                     text, re.M)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    machine = machine_of(inp)
    if head_text(inp).lstrip().startswith("{"):
        value, _encoding, errors = read_machine_json(inp, ctx, NAME, "docker info output")
        yield from errors
        if isinstance(value, dict):
            yield from _json(inp, machine, value)
        elif value is not None:
            yield inp.error("not a JSON object: docker info prints one object", line=1, parser=NAME)
        return
    text = yield from machine_text(inp, ctx, NAME)
    if text is not None:
        yield from _text(inp, machine, text)


def _setting(inp: InputFile, machine: str, key: str, value: Any, line: int | None, key_text: str
             ) -> Iterator[MachineSetting]:
    if value in (None, "", [], {}):
        return
    yield MachineSetting(machine, ORIGIN, key, scalar(value), inp.source(line=line, parser=NAME), key_text)


def _line(mapping: Any, key: str) -> int | None:
    return mapping.line_of(key) if isinstance(mapping, LineDict) else None


def _json(inp: InputFile, machine: str, info: dict[str, Any]) -> Iterator[Evidence]:
    for key in _TOP:
        yield from _setting(inp, machine, key.lower(), info.get(key), _line(info, key), key)
    client = info.get("ClientInfo")
    if isinstance(client, dict):
        yield from _setting(inp, machine, "clientinfo.context", client.get("Context"), _line(client, "Context"),
                            "ClientInfo.Context")
    registry = info.get("RegistryConfig")
    if not isinstance(registry, dict):
        return
    for key in ("Mirrors", "InsecureRegistryCIDRs"):
        yield from _setting(inp, machine, f"registryconfig.{key.lower()}", registry.get(key), _line(registry, key),
                            f"RegistryConfig.{key}")
    indexes = registry.get("IndexConfigs")
    if isinstance(indexes, dict):
        insecure = [str(name) for name, entry in indexes.items()
                    if isinstance(entry, dict) and entry.get("Secure") is False]
        yield from _setting(inp, machine, "registryconfig.insecure", insecure, _line(registry, "IndexConfigs"),
                            "RegistryConfig.IndexConfigs[Secure=false]")


def _text(inp: InputFile, machine: str, text: str) -> Iterator[Evidence]:
    section = ""
    list_key: str | None = None
    list_line = 0
    items: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            yield inp.error(f"line longer than {MAX_LINE} characters; skipped", line=number, parser=NAME)
            continue
        if re.match(r"^(Client|Server)\s*:", line):
            section = line.split(":", 1)[0].lower()
        if list_key is not None:
            # items are indented deeper than their label and are not `Label: value` lines themselves
            if re.match(r"^\s{2,}\S", line) and not re.match(r"^\s+[A-Za-z][A-Za-z ]*:(?:\s|$)", line):
                items.append(line.strip())
                continue
            yield from _setting(inp, machine, list_key, items, list_line, list_key)
            list_key, items = None, []
        field = re.match(r"^\s+([A-Za-z][A-Za-z ]*?):(.*)$", line)  # value stripped below: no overlapping tail
        if field is None:
            continue
        label = field.group(1).lower()
        value = field.group(2).strip()
        if label in _TEXT_LISTS and not value:
            list_key, list_line, items = _TEXT_LISTS[label], number, []
            continue
        key = _TEXT_LABELS.get(label)
        if key is None or (key == "clientinfo.context" and section != "client"):
            continue
        if key == "name" and section != "server":
            continue
        yield from _setting(inp, machine, key, value, number, field.group(1))
    if list_key is not None:
        yield from _setting(inp, machine, list_key, items, list_line, list_key)
