"""Helm values files: the images a chart will pull, read from `values*.yaml` before any template is rendered.

Shapes recognised anywhere in the tree (`sidecars.proxy.image`, `extraContainers[0].image` ...):
- a mapping under a key ending in `image` (`image`, `coreImage`, `inline_image`), or any mapping with both
  `repository` and `tag`: `{registry, repository, tag, digest}` as Bitnami charts write it, `{repository, tag}`,
  Harbor's `{registry, repository, version}`;
- a string under such a key: `image: "nginx:1.25"`;
- ingress-nginx's `{registry, image, tag, digest}` under such a key (`controller.image.image:
  ingress-nginx/controller`), the registry falling back to `global.image.registry` as the chart's
  `merge .Values.controller.image .Values.global.image` does.
`global.imageRegistry` replaces every mapping's `registry`, as the Bitnami common chart's `common.images.image`
does. A digest is kept beside the tag (Bitnami renders only the digest; the host is the same either way).

A tag YAML reads as a number (`tag: 1.10` is the float 1.1) is reported as written in the file: that is the
image the author meant, and the registry host does not depend on it. (Helm itself would render 1.1; a chart
that does so has a bug worth fixing by quoting the tag.) An empty or missing tag means the chart falls back
to its `appVersion`, which a values file does not hold: that image is Unresolved, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, Unresolved
from parsers.common.image_text import image_record, scalar_text
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlProblem, iter_documents

NAME = "helm_values"

# `values.yaml`, `values-prod.yaml`; chart-testing's `ci/NAME-values.yaml`; `NAME.helm.values.yaml`, `NAME.values.yaml`
_NAME_RE = re.compile(r"^values[\w.-]*\.ya?ml$|^[\w.-]+[._-]values\.ya?ml$", re.IGNORECASE)
# a key at a line start, then a colon; whether it names an image is checked on the key (two `[\w-]*` around a
# literal backtracked over every occurrence of it: quadratic in a long line of `imageimage...`)
_CONTENT_RE = re.compile(rb"^[ \t-]*+([\w-]++)[ \t]*+:", re.MULTILINE)
_TEMPLATE_HINT = "a Go template expression in a values file (rendered by the chart with `tpl`): render it first"
_NO_TAG = "no tag: the chart falls back to its appVersion (Chart.yaml), which a values file does not hold"


def detect(inp: InputFile) -> bool:
    # NUL bytes do not disqualify a values file: its clean documents are still read, the junk is reported.
    return bool(_NAME_RE.match(inp.name)) and _has_image_key(inp.head)


def _has_image_key(head: bytes) -> bool:
    keys = (m.group(1).lower() for m in _CONTENT_RE.finditer(head))
    return any(b"image" in key or b"repository" in key for key in keys)


def detect_content(inp: InputFile) -> bool:
    """Named explicitly under another name: a YAML file with image or repository keys is read as values."""
    return inp.name.lower().endswith((".yaml", ".yml")) and _has_image_key(inp.head)


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME, keep_binary=True)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    lines = text.splitlines()
    for item in iter_documents(text):
        if isinstance(item, YamlProblem):
            yield inp.error(f"{item.message} (in document {item.number}, starting at line {item.start}; "
                            "the other documents are still read)", line=item.line or item.start, parser=NAME)
            continue
        if not isinstance(item.value, dict):
            continue  # a values document that is not a mapping holds no settings
        walker = _Walker(inp, ctx, lines, _global_registry(item.value), _global_image_registry(item.value))
        yield from walker.walk(item.value, "")


def _global_registry(values: dict[Any, Any]) -> str:
    glob = values.get("global")
    registry = glob.get("imageRegistry") if isinstance(glob, dict) else None
    return registry.strip() if isinstance(registry, str) else ""


def _global_image_registry(values: dict[Any, Any]) -> str:
    glob = values.get("global")
    image = glob.get("image") if isinstance(glob, dict) else None
    registry = image.get("registry") if isinstance(image, dict) else None
    return registry.strip() if isinstance(registry, str) else ""


_NAME_SIBLINGS = frozenset({"tag", "digest", "registry"})


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().endswith("image")


class _Walker:
    def __init__(self, inp: InputFile, ctx: ParseContext, lines: list[str], global_registry: str,
                 global_image_registry: str = "") -> None:
        self.inp = inp
        self.ctx = ctx
        self.lines = lines
        self.global_registry = global_registry
        self.global_image_registry = global_image_registry

    def walk(self, root: Any, root_path: str) -> Iterator[Evidence]:
        """Depth first, in file order; iterative, so a hostile nesting depth cannot exhaust the call stack."""
        stack: list[tuple[Any, str, Any]] = [(root, root_path, None)]
        while stack:
            value, path, key = stack.pop()
            if isinstance(value, dict):
                if isinstance(value.get("repository"), str) and (_is_image_key(key) or "tag" in value):
                    yield self._mapping_image(value, path)
                    continue
                if _is_image_key(key) and isinstance(value.get("image"), str) and _NAME_SIBLINGS & value.keys():
                    yield self._split_image(value, path)
                    continue
                children = [(child, f"{path}.{child_key}" if path else str(child_key), child_key)
                            for child_key, child in value.items()]
                stack.extend(reversed(children))
            elif isinstance(value, list):
                stack.extend(reversed([(child, f"{path}[{position}]", None) for position, child in enumerate(value)]))
            elif isinstance(value, str) and _is_image_key(key) and value.strip():
                source = self.inp.source(line=getattr(value, "line", None), parser=NAME)
                yield image_record(value.strip(), source, path, self.ctx.variables, template_hint=_TEMPLATE_HINT)

    def _mapping_image(self, image: dict[Any, Any], path: str) -> Evidence:
        repository = image["repository"].strip()
        registry = self.global_registry or self._text(image, "registry")
        tag_key = "tag" if "tag" in image else "version"
        tag = self._text(image, tag_key)
        digest = self._text(image, "digest")
        name = f"{registry}/{repository}" if registry else repository
        text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        line = getattr(image["repository"], "line", None) or image.line_of("repository")
        source = self.inp.source(line=line, parser=NAME)
        if not repository:
            return Unresolved(text, "empty repository", source, path)
        if not tag and not digest:
            return Unresolved(name, _NO_TAG, source, path)
        return image_record(text, source, path, self.ctx.variables, template_hint=_TEMPLATE_HINT)

    def _split_image(self, image: dict[Any, Any], path: str) -> Evidence:
        """ingress-nginx's shape: `{registry, image, tag, digest}`, rendered as
        `{{ .registry }}/{{ .image }}:{{ .tag }}@{{ .digest }}` after `merge .Values.X.image .Values.global.image`
        (sprig's merge keeps the block's own keys first, so its registry wins over global.image.registry)."""
        repository = image["image"].strip()
        registry = self._text(image, "registry") or self.global_image_registry
        tag = self._text(image, "tag")
        digest = self._text(image, "digest")
        name = f"{registry}/{repository}" if registry else repository
        text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        line = getattr(image["image"], "line", None) or image.line_of("image")
        source = self.inp.source(line=line, parser=NAME)
        if not repository:
            return Unresolved(text, "empty image", source, path)
        if not tag and not digest:
            return Unresolved(name, _NO_TAG, source, path)
        return image_record(text, source, path, self.ctx.variables, template_hint=_TEMPLATE_HINT)

    def _text(self, mapping: Any, key: str) -> str:
        return scalar_text(mapping, key, self.lines)
