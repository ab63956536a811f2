"""`docker buildx ls`: the table and `--format json` (buildx 0.13 and later).

Table (desktop.md §8.1, H [S31]): header `NAME/NODE  DRIVER/ENDPOINT  STATUS  BUILDKIT  PLATFORMS`; a builder row
shows its driver (the current builder has `*` after its name), its node rows start with `\\_` and show the
endpoint. JSON: one object per builder per line, `{"Name", "Driver", "Current" (0.24+), "Nodes": [{"Name",
"Endpoint", "Status", ...}]}`. Drivers upstream: `docker`, `docker-container`, `kubernetes`, `remote`; Docker
Build Cloud adds `cloud` (H [S31][S32]).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import BuildxBuilder, Evidence
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import MAX_ITEMS, head_text, machine_of, machine_text, named_json_objects

NAME = "buildx_ls"
_HEADER = re.compile(r"^NAME/NODE\s+DRIVER/ENDPOINT\b")
_NODE = re.compile(r"^\s*\\_\s+(\S+)\s+\\_\s+(\S+)(?:\s+(\S+))?")
_STDERR = ("Cannot load builder", "Failed to get status")


def detect(inp: InputFile) -> bool:
    text = head_text(inp).lstrip()
    if text.startswith(("{", "[")):
        first = text.split("\n", 1)[0]
        return '"Driver"' in first and '"Nodes"' in first
    return bool(_HEADER.match(text))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text = yield from machine_text(inp, ctx, NAME)
    if text is None:
        return
    machine = machine_of(inp)
    if text.lstrip().startswith(("{", "[")):
        yield from _json(inp, machine, text)
    else:
        yield from _table(inp, machine, text)


def _json(inp: InputFile, machine: str, text: str) -> Iterator[Evidence]:
    def builder(number: int, value: dict[str, Any]) -> Evidence:
        nodes = [n for n in value.get("Nodes") or () if isinstance(n, dict)]
        endpoints = tuple(str(n["Endpoint"]) for n in nodes if isinstance(n.get("Endpoint"), str))
        status = next((str(n["Status"]) for n in nodes if isinstance(n.get("Status"), str)), "")
        driver = value.get("Driver")
        return BuildxBuilder(machine, value["Name"], driver if isinstance(driver, str) else "",
                             inp.source(line=number, parser=NAME), endpoints, value.get("Current") is True, status)

    return named_json_objects(inp, text, NAME, "builder", builder)


def _table(inp: InputFile, machine: str, text: str) -> Iterator[Evidence]:
    builder: dict[str, Any] | None = None
    header_seen = False
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if _HEADER.match(line):
            header_seen = True
            continue
        if line.startswith(_STDERR):
            continue  # stderr lines after the table: the builder's own row says what there is to say
        if not header_seen:
            yield inp.error("a line before the `NAME/NODE DRIVER/ENDPOINT` header", line=number, parser=NAME)
            continue
        node = _NODE.match(line)
        if node:
            if builder is None:
                yield inp.error("a node row without its builder row", line=number, parser=NAME)
                continue
            builder["endpoints"].append(node.group(2))
            builder["status"] = builder["status"] or (node.group(3) or "")
            continue
        if builder is not None:
            yield _builder(inp, machine, builder)
            count += 1
            if count >= MAX_ITEMS:
                return
        fields = line.split()
        name = fields[0]
        builder = {"name": name.rstrip("*"), "current": name.endswith("*"),
                   "driver": fields[1] if len(fields) > 1 else "", "line": number, "endpoints": [], "status": ""}
    if builder is not None:
        yield _builder(inp, machine, builder)
    elif not header_seen:
        yield inp.error("no `docker buildx ls` header", line=1, parser=NAME)


def _builder(inp: InputFile, machine: str, row: dict[str, Any]) -> BuildxBuilder:
    return BuildxBuilder(machine, row["name"], row["driver"], inp.source(line=row["line"], parser=NAME),
                         tuple(row["endpoints"]), row["current"], row["status"])
