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

A chart's own `values.yaml` (beside `Chart.yaml`) is read as a release sees it (parsers/repo/helm_values_merge.py):
a subchart's with its parent's values and `global:`, a top-level chart's with the `--values` files and `--set`.
Each image is located in the file and line that set it: the file of highest precedence among its keys
(`repository`, `registry`, `tag`, `digest` ..., and a global registry that replaced its own). Another values file
beside a chart or in its `ci/` folder is an install scenario: applied over `values.yaml` (and flowing into the
subcharts), it reports the images it changes. Any other values file is read on its own, as before.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.core.model import Evidence, InputError, Source, Unresolved
from parsers.common.image_text import image_record, scalar_text
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlProblem, iter_documents
from parsers.repo.helm_values_merge import (
    SET_SOURCE,
    Instance,
    ValuesSource,
    display_of,
    helmfile_releases,
    instances,
    load_values,
    stamp,
    subcharts,
    top_chart,
)

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
    own = ValuesSource(inp.display, lines)
    chart = _chart_role(inp)
    for item in iter_documents(text):
        if isinstance(item, YamlProblem):
            yield inp.error(f"{item.message} (in document {item.number}, starting at line {item.start}; "
                            "the other documents are still read)", line=item.line or item.start, parser=NAME)
            continue
        if not isinstance(item.value, dict):
            continue  # a values document that is not a mapping holds no settings
        if chart is not None and item.number == 1 and not item.partial:
            yield from _chart_records(inp, ctx, *chart)  # Helm reads a values file's first document only
            continue
        stamp(item.value, own)
        yield from _Walker(inp, ctx, Instance("", item.value, (own,))).walk()


def _chart_role(inp: InputFile) -> tuple[Path, bool] | None:
    """(chart root, whether INP is that chart's own values.yaml) when INP belongs to a chart: its values.yaml,
    or another values file beside it or in its `ci/` folder (an install scenario: `-f` over values.yaml)."""
    if inp.display == "<stdin>":
        return None
    folder = inp.path.parent
    if (folder / "Chart.yaml").is_file():
        return folder, inp.name == "values.yaml"
    if folder.name == "ci" and (folder.parent / "Chart.yaml").is_file():
        return folder.parent, False
    return None


def _chart_records(inp: InputFile, ctx: ParseContext, root: Path, own_values: bool) -> Iterator[Evidence]:
    """The images of the chart at ROOT as a release renders them. For its values.yaml: with the parent's values
    (a subchart), the `--values` files and `--set` applied. For a scenario file: that file over values.yaml,
    for the chart and its subcharts, keeping what the file sets (the rest is values.yaml's own report)."""
    sets = tuple(sorted(ctx.variables.items()))
    if own_values:
        overrides = tuple(str(path) for path in ctx.values_files)
        for path in overrides:  # a --values file is named by the user: one error if it is unusable
            _values, source, problem = load_values(path)
            if problem:
                reason = problem.removeprefix(source.display).lstrip(": ")
                yield InputError(f"--values file {reason}", Source(source.display, parser=NAME))
        top = top_chart(root)
        for instance in instances(root, top, overrides, sets):
            yield from _Walker(inp, ctx, instance).walk()
        for release, files in helmfile_releases(top):  # each release of a helmfile in the tree: a scenario
            displays = {display_of(Path(path)) for path in files}
            for instance in instances(root, top, files, sets):
                for record in _Walker(inp, ctx, instance).walk():
                    source = getattr(record, "source", None)
                    if source is not None and source.path in displays:
                        yield dataclasses.replace(record, context=f"{record.context} ({release})")
        return
    mine = display_of(inp.path)
    for chart in (root, *subcharts(root)):
        for instance in instances(chart, root, (str(inp.path),), sets):
            for record in _Walker(inp, ctx, instance).walk():
                source = getattr(record, "source", None)
                if source is not None and source.path in (mine, inp.display):
                    yield record


def _global_registry(values: dict[Any, Any]) -> tuple[str, Any]:
    """global.imageRegistry and the mapping holding it (for its origin), or ("", None)."""
    glob = values.get("global")
    registry = glob.get("imageRegistry") if isinstance(glob, dict) else None
    return (registry.strip(), glob) if isinstance(registry, str) and registry.strip() else ("", None)


def _global_image_registry(values: dict[Any, Any]) -> tuple[str, Any]:
    glob = values.get("global")
    image = glob.get("image") if isinstance(glob, dict) else None
    registry = image.get("registry") if isinstance(image, dict) else None
    return (registry.strip(), image) if isinstance(registry, str) and registry.strip() else ("", None)


_NAME_SIBLINGS = frozenset({"tag", "digest", "registry"})
_BLOCK_KEYS = ("repository", "image", "registry", "tag", "version", "digest")


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().endswith("image")


class _Walker:
    """The images of one set of values; each record located in the file (and line) that set it."""

    def __init__(self, inp: InputFile, ctx: ParseContext, instance: Instance) -> None:
        self.inp = inp
        self.ctx = ctx
        self.instance = instance
        self.rank = {id(source): position for position, source in enumerate(instance.order)}
        self.global_registry = _global_registry(instance.values)
        self.global_image_registry = _global_image_registry(instance.values)

    def walk(self) -> Iterator[Evidence]:
        """Depth first, in file order; iterative, so a hostile nesting depth cannot exhaust the call stack."""
        prefix = self.instance.prefix
        stack: list[tuple[Any, str, Any, Any]] = [(self.instance.values, prefix.rstrip("."), None, None)]
        while stack:
            value, path, key, parent = stack.pop()
            if isinstance(value, dict):
                if isinstance(value.get("repository"), str) and (_is_image_key(key) or "tag" in value):
                    yield self._mapping_image(value, path)
                    continue
                if _is_image_key(key) and isinstance(value.get("image"), str) and _NAME_SIBLINGS & value.keys():
                    yield self._split_image(value, path)
                    continue
                children = [(child, f"{path}.{child_key}" if path else str(child_key), child_key, value)
                            for child_key, child in value.items()
                            if not (prefix and value is self.instance.values and child_key == "global")]
                stack.extend(reversed(children))
            elif isinstance(value, list):
                stack.extend(reversed([(child, f"{path}[{position}]", None, None)
                                       for position, child in enumerate(value)]))
            elif isinstance(value, str) and _is_image_key(key) and value.strip():
                source = self._source(self._file(parent, key), getattr(value, "line", None))
                yield image_record(value.strip(), source, path, self.ctx.variables, template_hint=_TEMPLATE_HINT)

    # -- where a value came from -------------------------------------------------------------------------------

    def _file(self, mapping: Any, key: Any) -> ValuesSource | None:
        files = getattr(mapping, "key_files", None)
        return files.get(key) if files is not None else None

    def _source(self, file: ValuesSource | None, line: int | None) -> Source:
        if file is None or file is SET_SOURCE:
            file, line = self.instance.order[0], None  # set on the command line: the chart's values file
        display = self.inp.display if file.display == display_of(self.inp.path) else file.display
        return Source(path=display, line=line, parser=NAME)

    def _decisive(self, image: Any, name_key: str, extra: tuple[Any, str] | None = None) -> Source:
        """Where IMAGE is set: the file of highest precedence among the keys that make it (and a global
        registry that replaced its own), at the line of that file's first such key."""
        candidates: list[tuple[int, int, ValuesSource, int | None]] = []
        for order, key in enumerate((name_key, *(k for k in _BLOCK_KEYS if k != name_key))):
            if key not in image:
                continue
            file = self._file(image, key)
            if file is not None and file is not SET_SOURCE:
                candidates.append((self.rank.get(id(file), -1), -order, file, image.line_of(key)))
        if extra is not None and extra[0] is not None:
            mapping, key = extra
            file = self._file(mapping, key)
            if file is not None and file is not SET_SOURCE:
                candidates.append((self.rank.get(id(file), -1), -len(_BLOCK_KEYS), file, mapping.line_of(key)))
        if not candidates:
            return self._source(None, None)
        _rank, _order, file, line = max(candidates, key=lambda c: (c[0], c[1]))
        if file is self._file(image, name_key):
            line = getattr(image[name_key], "line", None) or line
        return self._source(file, line)

    def _text(self, mapping: Any, key: str) -> str:
        file = self._file(mapping, key)
        return scalar_text(mapping, key, file.lines if file is not None else [])

    # -- the shapes ----------------------------------------------------------------------------------------

    def _mapping_image(self, image: dict[Any, Any], path: str) -> Evidence:
        repository = image["repository"].strip()
        global_registry, glob = self.global_registry
        registry = global_registry or self._text(image, "registry")
        tag_key = "tag" if "tag" in image else "version"
        tag = self._text(image, tag_key)
        digest = self._text(image, "digest")
        name = f"{registry}/{repository}" if registry else repository
        text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        source = self._decisive(image, "repository", (glob, "imageRegistry") if global_registry else None)
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
        own_registry = self._text(image, "registry")
        global_registry, glob = self.global_image_registry
        registry = own_registry or global_registry
        tag = self._text(image, "tag")
        digest = self._text(image, "digest")
        name = f"{registry}/{repository}" if registry else repository
        text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        source = self._decisive(image, "image", (glob, "registry") if registry and not own_registry else None)
        if not repository:
            return Unresolved(text, "empty image", source, path)
        if not tag and not digest:
            return Unresolved(name, _NO_TAG, source, path)
        return image_record(text, source, path, self.ctx.variables, template_hint=_TEMPLATE_HINT)
