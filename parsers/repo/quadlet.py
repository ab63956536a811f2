"""Podman quadlet units: the images systemd-managed containers pull (`*.container`, `*.image`, `*.volume`,
`*.build`, `*.pod`, `*.kube` unit files, as Podman's quadlet generator reads them).

What is a reference (context in brackets):
- `[Container] Image=` (`[Container] Image`), `[Image] Image=` (`[Image] Image`: `podman pull` as a unit),
  `[Volume] Image=` (`[Volume] Image`: an image-driver volume);
- not `[Build]`: a build unit's `File=` is a Containerfile the directory walk reads on its own, and its
  `ImageTag=` is the local name of the result, not a pull.
An `Image=` naming another unit (`name.image`, `name.build`) is that unit's image, reported there. Transports:
`docker://REF` is a registry pull of REF; `docker-daemon:`, `containers-storage:`, `oci:`, `oci-archive:`,
`docker-archive:` and `dir:` read local storage, no registry, so they are not reported. A short name
(`alpine`, `library/nginx`) is Unresolved: Podman resolves it through `registries.conf` (short-name aliases,
`unqualified-search-registries`), not necessarily docker.io, so the registry cannot be named from the unit.
Syntax follows systemd.syntax(7): `[Section]` headers, `Key=Value`, `#`/`;` comments, a trailing backslash
continues the line. A line that is none of these is an InputError naming it; the other lines are still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, Unresolved
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext, read_config_text

NAME = "quadlet"

_SUFFIXES = (".container", ".image", ".volume", ".build", ".pod", ".kube", ".network")
_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_-]+)(\]?)\s*$")
_ENTRY_RE = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(.*)$")
_HEAD_SECTION_RE = re.compile(rb"^\[(?:Container|Image|Volume|Build|Pod|Kube|Network|Unit|Service|Install)\]",
                              re.MULTILINE)
_IMAGE_SECTIONS = frozenset({"Container", "Image", "Volume"})
_LOCAL_TRANSPORTS = ("docker-daemon:", "containers-storage:", "oci:", "oci-archive:", "docker-archive:", "dir:")
_SHORT_NAME = ("short name: Podman resolves it through registries.conf (short-name aliases, "
               "unqualified-search-registries), not necessarily docker.io; write the registry in the unit")


def detect(inp: InputFile) -> bool:
    return inp.name.lower().endswith(_SUFFIXES) and bool(_HEAD_SECTION_RE.search(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    section = ""
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        header = _SECTION_RE.match(stripped)
        if header:
            section = header.group(1)
            if not header.group(2):
                yield inp.error(f"section header [{section} has no closing ']'; read as [{section}]", line=number,
                                parser=NAME)
            continue
        entry = _ENTRY_RE.match(stripped)
        if entry is None:
            yield inp.error("not a unit-file line (expected [Section] or Key=Value); the other lines are still read",
                            line=number, parser=NAME)
            continue
        if entry.group(1) == "Image" and section in _IMAGE_SECTIONS:
            yield from _image(inp, ctx, _unquote(entry.group(2).strip()), number, f"[{section}] Image")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, joined text) for each line, a trailing backslash joining the next one."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\") and not line.lstrip().startswith(("#", ";")):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _image(inp: InputFile, ctx: ParseContext, value: str, line: int, context: str) -> Iterator[Evidence]:
    source = inp.source(line=line, parser=NAME)
    if not value or value.endswith((".image", ".build")) or value.startswith(_LOCAL_TRANSPORTS):
        return  # another unit's image, or local storage: no registry pull here
    if value.startswith("docker://"):
        value = value[len("docker://"):]
    first, _, rest = value.partition("/")
    has_registry = bool(rest) and ("." in first or ":" in first or first == "localhost")
    if not has_registry and "$" not in value and "%" not in value:
        yield Unresolved(value, _SHORT_NAME, source, context)
        return
    if "%" in value:
        yield Unresolved(value, "a systemd specifier (%) that is only known when the unit runs", source, context)
        return
    yield image_record(value, source, context, ctx.variables)
