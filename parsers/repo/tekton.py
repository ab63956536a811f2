"""Tekton resources (tekton.dev Task, Pipeline, TaskRun, PipelineRun, StepAction, triggers.tekton.dev
TriggerTemplate ...): the step images they run and the bundles they fetch.

Read by the Kubernetes parser for objects whose apiVersion is a Tekton group (a Tekton file is a Kubernetes
manifest, often beside Deployments in one file). What is a reference, found anywhere in the object (a Pipeline
embeds task specs, a PipelineRun a pipeline spec, a TriggerTemplate whole runs):
- `steps[].image`, `sidecars[].image` and `stepTemplate.image` (context: the path, `spec.steps[build].image`),
  and a StepAction's `spec.image`;
- a `taskRef` / `pipelineRef` fetched from an OCI registry: `resolver: bundles` with the `bundle` param (the
  current form; `resource` in early releases)
  or the deprecated `bundle:` field; when both are present the resolver's param is what Tekton uses.
Other resolvers (git, hub, cluster) fetch from elsewhere than a container registry and are not reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext

NAME = "tekton"

_GROUPS = ("tekton.dev/", "triggers.tekton.dev/")
_CONTAINER_LISTS = ("steps", "sidecars")
_REFS = ("taskRef", "pipelineRef")
_MAX_DEPTH = 64  # a real resource nests a few levels; deeper is hostile


def is_tekton(obj: dict[Any, Any]) -> bool:
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.startswith(_GROUPS)


def object_images(inp: InputFile, ctx: ParseContext, obj: dict[Any, Any], label: str,
                  parser: str = NAME) -> Iterator[Evidence]:
    """The images and bundles anywhere in OBJ, in file order (iterative: hostile depth cannot exhaust the stack)."""
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(value, list):
            stack.extend(reversed([(item, f"{path}[{_item_key(item, n)}]", depth + 1)
                                   for n, item in enumerate(value)]))
            continue
        if not isinstance(value, dict):
            continue
        children: list[tuple[Any, str, int]] = []
        spec = value.get("spec")
        if value.get("kind") == "StepAction" and isinstance(spec, dict):
            yield from _image(inp, ctx, spec, f"{label}: {path + '.' if path else ''}spec.image", parser)
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if key in _CONTAINER_LISTS and isinstance(child, list):
                for n, container in enumerate(child):
                    if isinstance(container, dict):
                        yield from _image(inp, ctx, container, f"{label}: {child_path}[{_item_key(container, n)}]"
                                          ".image", parser)
                continue
            if key == "stepTemplate" and isinstance(child, dict):
                yield from _image(inp, ctx, child, f"{label}: {child_path}.image", parser)
                continue
            if key in _REFS and isinstance(child, dict):
                yield from _bundle(inp, ctx, child, f"{label}: {child_path}", parser)
                continue
            children.append((child, child_path, depth + 1))
        stack.extend(reversed(children))


def _item_key(item: Any, position: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else str(position)


def _image(inp: InputFile, ctx: ParseContext, container: dict[Any, Any], context: str,
           parser: str) -> Iterator[Evidence]:
    image = container.get("image")
    if image is None:
        return
    line = getattr(image, "line", None) or container.line_of("image")
    if not isinstance(image, str) or not image.strip():
        yield inp.error(f"{context} is not an image name ({image!r})", line=line, parser=parser)
        return
    yield image_record(image.strip(), inp.source(line=line, parser=parser), context, ctx.variables)


def _bundle(inp: InputFile, ctx: ParseContext, ref: dict[Any, Any], context: str, parser: str) -> Iterator[Evidence]:
    resolver = ref.get("resolver")
    if resolver is not None:
        if resolver != "bundles":
            return
        params = ref.get("params")
        if not isinstance(params, list):
            params = ref.get("resource")  # the name early remote resolution (Tekton 0.3x alpha) gave the params
        for param in params if isinstance(params, list) else []:
            if isinstance(param, dict) and param.get("name") == "bundle":
                yield from _bundle_value(inp, ctx, param, "value", f"{context}.params[bundle]", parser)
        return
    if "bundle" in ref:
        yield from _bundle_value(inp, ctx, ref, "bundle", f"{context}.bundle", parser)


def _bundle_value(inp: InputFile, ctx: ParseContext, holder: dict[Any, Any], key: str, context: str,
                  parser: str) -> Iterator[Evidence]:
    value = holder.get(key)
    line = getattr(value, "line", None) or holder.line_of(key)
    if not isinstance(value, str) or not value.strip():
        yield inp.error(f"{context} is not a bundle reference ({value!r})", line=line, parser=parser)
        return
    yield image_record(value.strip(), inp.source(line=line, parser=parser), context + " (bundle)", ctx.variables)
