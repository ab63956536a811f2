"""An image inventory taken on a developer machine: what `docker images` lists is what was pulled.

Accepted, recognised by content:
- `docker image ls --format json` / `docker images --format '{{json .}}'`: one JSON object per line with
  `Repository`, `Tag`, `Digest`, `ID` ...;
- the `docker images` table (`REPOSITORY  TAG  [DIGEST]  IMAGE ID  CREATED  SIZE`, with or without `--digests`);
- the newer `docker image ls` listing (`IMAGE  ID  DISK USAGE  CONTENT SIZE  EXTRA`, `name:tag` in one column).
`<none>` repositories (dangling images) name no image and are skipped; a `<none>` tag leaves the repository,
whose registry is still evidence, reported without a tag.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import BinaryIO

from auditor.core import safe_json
from auditor.core.model import Evidence, ImageReference, Unresolved
from auditor.core.reference import InvalidReference, parse_reference
from parsers.common.inputs import InputFile, ParseContext

NAME = "docker_images"

_TABLE_HEADER = re.compile(r"^REPOSITORY\s+TAG\s+(?:(DIGEST)\s+)?IMAGE ID\b")
_TREE_HEADER = re.compile(r"^IMAGE\s+ID\s+DISK USAGE\b")
_NONE = ("<none>", "<untagged>", "")
_MAX_LINE = 64 * 1024


def _first_line(head: bytes) -> str:
    for raw in head.split(b"\n", 50):
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            return line
    return ""


def detect(inp: InputFile) -> bool:
    line = _first_line(inp.head)
    if line.startswith("{"):
        return '"Repository"' in line and '"Tag"' in line
    return bool(_TABLE_HEADER.match(line) or _TREE_HEADER.match(line))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    layout: str | None = None  # "json", "table", "table-digests" or "tree", from the first meaningful line
    with inp.open() as stream:
        for number, raw in enumerate(_bounded_lines(stream, ctx), start=1):
            if raw is None:
                yield inp.error(f"line longer than {_MAX_LINE} bytes; skipped", line=number, parser=NAME)
                continue
            if b"\x00" in raw:
                yield inp.error("binary content (NUL bytes) on this line; skipped", line=number, parser=NAME)
                continue
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            if layout is None or _is_header(line):
                new_layout = _layout_of(line)
                if new_layout is not None:
                    layout = new_layout
                    if layout != "json":
                        continue
            if layout == "json" or (line.startswith("{") and layout is None):
                yield from _json_line(inp, line, number)
            elif layout is not None and layout.startswith("table"):
                yield from _table_line(inp, line, number, digests=layout == "table-digests")
            elif layout == "tree":
                yield from _tree_line(inp, line, number)
            else:
                yield inp.error("not a `docker images` listing line (no header seen yet)", line=number, parser=NAME)


def _bounded_lines(stream: BinaryIO, ctx: ParseContext) -> Iterator[bytes | None]:
    """The stream's lines, None for one over _MAX_LINE: read in bounded pieces, never held whole (a 100 MB
    line used to be read into memory before its length was checked)."""
    while True:
        raw = stream.readline(_MAX_LINE + 1)
        if not raw:
            return
        ctx.advance(len(raw))
        if len(raw) <= _MAX_LINE:
            yield raw
            continue
        while not raw.endswith(b"\n"):  # the rest of the long line, piece by piece
            raw = stream.readline(_MAX_LINE)
            if not raw:
                break
            ctx.advance(len(raw))
        yield None


def _is_header(line: str) -> bool:
    return bool(_TABLE_HEADER.match(line) or _TREE_HEADER.match(line))


def _layout_of(line: str) -> str | None:
    if line.startswith("{"):
        return "json"
    table = _TABLE_HEADER.match(line)
    if table:
        return "table-digests" if table.group(1) else "table"
    return "tree" if _TREE_HEADER.match(line) else None


def _json_line(inp: InputFile, line: str, number: int) -> Iterator[Evidence]:
    try:
        entry = safe_json.loads(line)
    except safe_json.JsonInputError as exc:
        yield inp.error(exc.message, line=number, parser=NAME)
        return
    if not isinstance(entry, dict) or not isinstance(entry.get("Repository"), str):
        yield inp.error("JSON line without a Repository field", line=number, parser=NAME)
        return
    tag, digest = entry.get("Tag"), entry.get("Digest")
    yield from _image(inp, number, entry["Repository"], tag if isinstance(tag, str) else "",
                      digest if isinstance(digest, str) else "", entry.get("ID"))


def _table_line(inp: InputFile, line: str, number: int, digests: bool) -> Iterator[Evidence]:
    fields = line.split()
    wanted = 4 if digests else 3
    if len(fields) < wanted:
        yield inp.error(f"table line with {len(fields)} column(s), expected at least {wanted}", line=number,
                        parser=NAME)
        return
    digest = fields[2] if digests else ""
    image_id = fields[3] if digests else fields[2]
    yield from _image(inp, number, fields[0], fields[1], digest, image_id)


def _tree_line(inp: InputFile, line: str, number: int) -> Iterator[Evidence]:
    name = line.split()[0]
    if not name[0].isalnum() and name[0] not in "[<":
        return  # a platform row (`├─ linux/amd64`) or a note, under the image it belongs to
    fields = line.split()
    repository, tag, digest = name, "", ""
    if "@" in repository:
        repository, _, digest = repository.partition("@")
    slash = repository.rfind("/")
    colon = repository.rfind(":")
    if colon > slash:
        repository, tag = repository[:colon], repository[colon + 1:]
    yield from _image(inp, number, repository, tag, digest, fields[1] if len(fields) > 1 else None)


def _image(inp: InputFile, number: int, repository: str, tag: str, digest: str,
           image_id: object) -> Iterator[Evidence]:
    if repository in _NONE:
        return  # a dangling image names no reference
    tag = "" if tag in _NONE else tag
    digest = "" if digest in _NONE else digest
    text = repository + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    context = f"docker images (ID {image_id})" if isinstance(image_id, str) and image_id else "docker images"
    source = inp.source(line=number, parser=NAME)
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        yield Unresolved(text, f"invalid reference: {exc.reason}", source, context)
        return
    if not tag and not digest:
        ref = dataclasses.replace(ref, tag=None)  # listed untagged: `latest` would be a guess
        context += ", untagged"
    yield ImageReference(original=text, registry=ref.registry, endpoint=ref.endpoint, repository=ref.repository,
                         tag=ref.tag, digest=ref.digest, source=source, context=context)
