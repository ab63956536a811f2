"""Kubernetes manifests: the images of every pod spec in every object of a multi-document YAML or JSON file.

Pod specs are looked for where the API puts them: `spec` of a Pod, `template.spec` of a PodTemplate,
`spec.template.spec` of Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and of any
other kind that embeds a pod template (Argo Rollout, Knative Service ...), `spec.jobTemplate.spec.template.spec`
of a CronJob; `kind: List` (and `*List`) items are walked. In each pod spec, `containers`, `initContainers`
and `ephemeralContainers` give the images, and so do image volumes (`volumes[].image.reference`).
Tekton resources (apiVersion `tekton.dev/*`, `triggers.tekton.dev/*`) are read by parsers/repo/tekton.py: step
and sidecar images and OCI bundles anywhere in the object.
Argo CD and Flux sources that pull charts or artifacts from OCI registries are read by parsers/repo/oci_charts.py.
Custom resources of well-known operators (Prometheus, Elastic, CloudNativePG, Strimzi, Argo Workflows ...) name
images in fields of their own: parsers/repo/operator_crds.py reads them from a sourced table.
A `Kustomization`'s `images` overrides name the images kustomize substitutes (`newName`, `newTag`, `digest`):
those are what the cluster pulls, so they are reported; the names they replace are not.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, ImageReference
from parsers.common.image_text import image_record, scalar_text
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlProblem, iter_documents
from parsers.repo import oci_charts, operator_crds, tekton

NAME = "kubernetes"

_SUFFIXES = (".yaml", ".yml", ".json")
# Top-level (column 0) keys with the shapes the API gives them: `apps/v1`, `v1`; `Deployment`, `List`.
# Helm chart templates often compute the apiVersion (`{{ include "common.capabilities.apiVersion" . }}`).
_YAML_API_VERSION = re.compile(
    rb"^apiVersion[ \t]*:[ \t]*(?:[\"']?[a-z0-9][a-z0-9./-]*[\"']?|\{\{.*\}\})[ \t]*(?:#.*)?\r?$", re.MULTILINE)
_YAML_KIND = re.compile(rb"^kind[ \t]*:[ \t]*[\"']?[A-Z][A-Za-z0-9]*[\"']?[ \t]*(?:#.*)?\r?$", re.MULTILINE)
_JSON_API_VERSION = re.compile(rb'"apiVersion"\s*:\s*"[a-z0-9][a-z0-9./-]*"')
_JSON_KIND = re.compile(rb'"kind"\s*:\s*"[A-Z][A-Za-z0-9]*"')

CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
# Where each kind keeps its pod spec; kinds not listed are searched at the generic template paths.
_POD_SPEC_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pod": (("spec",),),
    "PodTemplate": (("template", "spec"),),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),),
}
_GENERIC_PATHS: tuple[tuple[str, ...], ...] = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("template", "spec"),
)
# value: up to a ` #` comment, trailing blanks trimmed without a lazy `.*?` before `\s*` (quadratic in blanks)
_IMAGE_LINE = re.compile(r"^\s*+(?:-\s+)?image\s*:\s*+(\S(?:\S|\s++(?!#|$))*+)")
_MAX_LIST_NESTING = 8  # a real List holds objects; a List of Lists of Lists ... is hostile
_TEMPLATE_HINT = "a Go template expression (a Helm chart template?): render it with `helm template` first"


def detect(inp: InputFile) -> bool:
    # NUL bytes do not disqualify a file that declares apiVersion and kind: its clean documents are still read.
    if not inp.name.lower().endswith(_SUFFIXES):
        return False
    head = inp.head
    if inp.name.lower().endswith(".json"):
        return bool(_JSON_API_VERSION.search(head) and _JSON_KIND.search(head))
    return bool(_YAML_API_VERSION.search(head) and _YAML_KIND.search(head))


def detect_content(inp: InputFile) -> bool:
    """Named explicitly without a .yaml/.json suffix (`manifest.k8s`, `deploy.txt`): apiVersion and kind say so."""
    head = inp.head
    return bool((_YAML_API_VERSION.search(head) and _YAML_KIND.search(head))
                or (_JSON_API_VERSION.search(head) and _JSON_KIND.search(head)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME, keep_binary=True)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    lines = text.splitlines()
    scanned: set[int] = set()  # documents read line by line as templates: their partial parse is not used
    for item in iter_documents(text):
        if isinstance(item, YamlProblem):
            templated = "{{" in item.text
            note = "scanned line by line for image fields" if templated else "the other documents are still read"
            yield inp.error(f"{item.message} (in document {item.number}, starting at line {item.start}; {note})",
                            line=item.line or item.start, parser=NAME)
            if templated:
                scanned.add(item.number)
                yield from _template_lines(inp, ctx, item.text, item.start)
            continue
        if item.partial and item.number in scanned:
            continue
        if not isinstance(item.value, dict):
            yield inp.error(f"document {item.number} is a {type(item.value).__name__}, not a Kubernetes object",
                            line=item.line, parser=NAME)
            continue
        if item.value.get("kind") == "Kustomization":
            yield from _kustomize_images(inp, ctx, item.value, lines)
            continue
        yield from _object_images(inp, ctx, item.value, prefix="")


def _object_images(inp: InputFile, ctx: ParseContext, obj: dict[Any, Any], prefix: str) -> Iterator[Evidence]:
    kind = obj.get("kind")
    kind = kind if isinstance(kind, str) else "?"
    items = obj.get("items")
    if (kind == "List" or kind.endswith("List")) and isinstance(items, list):
        if prefix.count(".items[") >= _MAX_LIST_NESTING:
            yield inp.error(f"{prefix}{kind}: Lists nested deeper than {_MAX_LIST_NESTING} levels; not read",
                            line=getattr(obj, "line", None), parser=NAME)
            return
        for position, item in enumerate(items):
            if isinstance(item, dict):
                yield from _object_images(inp, ctx, item, prefix=f"{prefix}{kind}.items[{position}] ")
        return
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"{prefix}{kind}/{name if isinstance(name, str) and name else '?'}"
    if tekton.is_tekton(obj):
        yield from tekton.object_images(inp, ctx, obj, label, parser=NAME)
        return
    if oci_charts.is_oci_source_object(obj):
        yield from oci_charts.object_references(inp, ctx, obj, label, parser=NAME)
        return
    crd_paths = operator_crds.paths_for(obj)
    if crd_paths:
        yield from operator_crds.object_images(inp, ctx, obj, label, crd_paths, parser=NAME)
    for path in _POD_SPEC_PATHS.get(kind, _GENERIC_PATHS):
        pod_spec = _at(obj, path)
        if isinstance(pod_spec, dict):
            yield from _pod_spec_images(inp, ctx, pod_spec, label, ".".join(path))
            yield from _volume_images(inp, ctx, pod_spec, label, ".".join(path))


def object_images(inp: InputFile, ctx: ParseContext, obj: dict[Any, Any], prefix: str = "") -> Iterator[Evidence]:
    """The images of one loaded object (for renderers of templates: parsers/repo/helm_chart.py)."""
    return _object_images(inp, ctx, obj, prefix)


def _kustomize_images(inp: InputFile, ctx: ParseContext, kustomization: dict[Any, Any],
                      lines: list[str]) -> Iterator[Evidence]:
    images = kustomization.get("images")
    if images is None:
        return
    if not isinstance(images, list):
        yield inp.error("Kustomization: images is not a list", line=_line(kustomization, "images"), parser=NAME)
        return
    for position, entry in enumerate(images):
        if not isinstance(entry, dict):
            continue
        name = scalar_text(entry, "name", lines)
        new_name = scalar_text(entry, "newName", lines)
        tag = scalar_text(entry, "newTag", lines)
        digest = scalar_text(entry, "digest", lines)
        if not (new_name or tag or digest):
            continue  # an entry that changes nothing
        target = new_name or name
        key = name or str(position)
        context = f"Kustomization: images[{key}]"
        line = _line(entry, "newName" if new_name else "newTag" if tag else "digest")
        source = inp.source(line=line, parser=NAME)
        if not target:
            yield inp.error(f"{context} has neither name nor newName", line=line, parser=NAME)
            continue
        text = target + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        record = image_record(text, source, context, ctx.variables, template_hint=_TEMPLATE_HINT)
        if isinstance(record, ImageReference) and not tag and not digest:
            # only the name changes: the tag stays whatever each resource wrote, so none is claimed here
            record = dataclasses.replace(record, tag=None, context=context + ", tag from the resources")
        yield record


def _template_lines(inp: InputFile, ctx: ParseContext, text: str, start: int) -> Iterator[Evidence]:
    """A Helm/Go template is not YAML until rendered; its literal `image:` lines still name images."""
    for offset, raw in enumerate(text.splitlines()):
        match = _IMAGE_LINE.match(raw)
        if match is None:
            continue
        value = match.group(1).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if not value or (value.startswith(("{", "[", "|", ">")) and not value.startswith("{{")):
            continue  # a nested mapping or block scalar, not an image string
        line = start + offset
        yield image_record(value, inp.source(line=line, parser=NAME), f"template line {line}: image", ctx.variables,
                           template_hint=_TEMPLATE_HINT)


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _pod_spec_images(inp: InputFile, ctx: ParseContext, pod_spec: dict[Any, Any], label: str,
                     path: str) -> Iterator[Evidence]:
    for field_name in CONTAINER_FIELDS:
        containers = pod_spec.get(field_name)
        if containers is None:
            continue
        if not isinstance(containers, list):
            yield inp.error(f"{label}: {path}.{field_name} is not a list", line=_line(pod_spec, field_name),
                            parser=NAME)
            continue
        for position, container in enumerate(containers):
            if not isinstance(container, dict) or "image" not in container:
                continue
            cname = container.get("name")
            key = cname if isinstance(cname, str) and cname else str(position)
            context = f"{label}: {path}.{field_name}[{key}].image"
            image = container["image"]
            line = getattr(image, "line", None) or _line(container, "image")
            source = inp.source(line=line, parser=NAME)
            if not isinstance(image, str):
                yield inp.error(f"{context} is not a string ({image!r})", line=line, parser=NAME)
                continue
            yield image_record(image, source, context, ctx.variables, template_hint=_TEMPLATE_HINT)


def _volume_images(inp: InputFile, ctx: ParseContext, pod_spec: dict[Any, Any], label: str,
                   path: str) -> Iterator[Evidence]:
    """Image volumes (Kubernetes 1.31+): `volumes[].image.reference` is pulled like a container image."""
    volumes = pod_spec.get("volumes")
    if not isinstance(volumes, list):
        return
    for position, volume in enumerate(volumes):
        image = volume.get("image") if isinstance(volume, dict) else None
        reference = image.get("reference") if isinstance(image, dict) else None
        if reference is None:
            continue
        vname = volume.get("name")
        key = vname if isinstance(vname, str) and vname else str(position)
        context = f"{label}: {path}.volumes[{key}].image.reference"
        line = getattr(reference, "line", None) or _line(image, "reference")
        if not isinstance(reference, str):
            yield inp.error(f"{context} is not a string ({reference!r})", line=line, parser=NAME)
            continue
        yield image_record(reference, inp.source(line=line, parser=NAME), context, ctx.variables,
                           template_hint=_TEMPLATE_HINT)


def _line(mapping: Any, key: str) -> int | None:
    line_of = getattr(mapping, "line_of", None)
    return line_of(key) if line_of is not None else None
