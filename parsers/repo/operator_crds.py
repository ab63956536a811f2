"""Custom resources of well-known Kubernetes operators (Prometheus, Alertmanager, Elastic, CloudNativePG,
Strimzi, Argo Workflows, KubeVirt ...): the images their fields name, from the sourced table in
parsers/repo/data/operator_images.yaml. Read by the Kubernetes parser for objects whose group and kind the
table lists (context: `Prometheus/main: spec.image`). An operator's own default image, used when the field is
absent, depends on the operator's version and is not guessed."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources
from typing import Any

from auditor.core.model import Evidence
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.yaml_loader import load_documents

NAME = "operator_crds"


@functools.cache
def _table() -> dict[tuple[str, str], tuple[str, ...]]:
    text = resources.files("parsers.repo").joinpath("data/operator_images.yaml").read_text(encoding="utf-8")
    [document] = list(load_documents(text))
    table: dict[tuple[str, str], tuple[str, ...]] = {}
    for entry in document["resources"]:
        for kind in entry["kinds"]:
            table[(str(entry["group"]), str(kind))] = tuple(str(path) for path in entry["paths"])
    return table


def paths_for(obj: dict[Any, Any]) -> tuple[str, ...]:
    """The image paths of OBJ's group and kind, or () when the table does not list it."""
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str) or "/" not in api:
        return ()
    return _table().get((api.split("/", 1)[0], kind), ())


def object_images(inp: InputFile, ctx: ParseContext, obj: dict[Any, Any], label: str, paths: tuple[str, ...],
                  parser: str = NAME) -> Iterator[Evidence]:
    for path in paths:
        for where, holder, key in _resolve(obj, path.split("."), ""):
            value = holder.get(key)
            line = getattr(value, "line", None) or holder.line_of(key)
            context = f"{label}: {where}"
            if not isinstance(value, str) or not value.strip():
                yield inp.error(f"{context} is not an image name ({value!r})", line=line, parser=parser)
                continue
            yield image_record(value.strip(), inp.source(line=line, parser=parser), context, ctx.variables)


def _resolve(value: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any, str]]:
    """(path as found, mapping holding the last key, that key) for each match of PARTS under VALUE."""
    if not isinstance(value, dict) or not parts:
        return
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        items = value.get(head[:-2])
        for position, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            key = name if isinstance(name, str) and name else str(position)
            yield from _resolve(item, rest, f"{where}{head[:-2]}[{key}].")
        return
    if not rest:
        if head in value:
            yield f"{where}{head}", value, head
        return
    yield from _resolve(value.get(head), rest, f"{where}{head}.")
