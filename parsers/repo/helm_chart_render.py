"""Rendering a Helm chart template into evidence: the heavy half of parsers/repo/helm_chart.py, imported on
the first chart template a run reads."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.core.model import Evidence, ImageReference, InputError, Source, Unresolved
from parsers.common.image_text import image_record
from parsers.common.inputs import MAX_CONFIG_BYTES, InputFile, ParseContext, decode_text, read_config_text
from parsers.common.yaml_loader import load_documents
from parsers.common.yaml_stream import YamlProblem, iter_documents
from parsers.repo import kubernetes
from parsers.repo.helm_template import MARKER_RE, Renderer, TemplateError, parse_template
from parsers.repo.helm_values_merge import instances, subcharts, top_chart

NAME = "helm_chart"

_MAX_TEMPLATE_FILES = 500
_RENDER_HINT = "render the chart (`helm template`) and read its output for this image"
_IMAGE_KEY = re.compile(r"^\s*(?:-\s+)?image\s*:\s*(\S.*)$")  # no lazy quantifier: linear on any line


def _image_value(line: str) -> str | None:
    """The value of an `image:` line, its trailing comment and blanks removed; None for other lines."""
    match = _IMAGE_KEY.match(line)
    if match is None:
        return None
    value = match.group(1)
    comment = value.find(" #")
    return (value if comment < 0 else value[:comment]).strip()


@dataclasses.dataclass(frozen=True)
class _Chart:
    chart: dict[str, Any]
    defines: dict[str, list[Any]]
    problems: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def _load_chart(root: str) -> _Chart:
    """The chart's Chart.yaml fields and the defines it can include (cached: every template of a chart needs
    them). Helm shares one template namespace across a chart and its subcharts, so the defines of every chart
    of the tree count (a vendored library chart's `common.images.image`); the chart's own win."""
    base = Path(root)
    problems: list[str] = []
    meta = _first_mapping(base / "Chart.yaml", problems)
    chart = {"Name": meta.get("name", ""), "Version": meta.get("version", ""),
             "AppVersion": meta.get("appVersion", ""), "Description": meta.get("description", "")}
    defines: dict[str, list[Any]] = {}
    top = top_chart(base)
    trees = [c for c in (top, *subcharts(top)) if c != base] + [base]
    files = [p for tree in trees for p in sorted((tree / "templates").rglob("*"))
             if p.is_file() and p.suffix in (".tpl", ".yaml", ".yml")]
    for path in files[-_MAX_TEMPLATE_FILES:]:
        text = _read(path)
        if text is None or "define" not in text:
            continue
        try:
            _nodes, found = parse_template(text)
        except TemplateError:
            continue  # reported when that file itself is parsed
        defines.update(found)
    return _Chart(chart, defines, tuple(problems))


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        return decode_text(path.read_bytes())[0]
    except OSError:
        return None


def _first_mapping(path: Path, problems: list[str]) -> dict[str, Any]:
    text = _read(path)
    if text is None:
        return {}
    try:
        for document in load_documents(text):
            return document if isinstance(document, dict) else {}
    except Exception as exc:  # a broken values.yaml is reported by its own parser; here it only weakens results
        problems.append(f"{path.name} could not be read ({type(exc).__name__}): .Values from it are unknown")
    return {}


def parse_chart_template(inp: InputFile, ctx: ParseContext, root: Path) -> Iterator[Evidence]:
    """The images of INP, a template of the chart at ROOT."""
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    try:
        nodes, _defines = parse_template(text)
    except TemplateError as exc:
        yield inp.error(f"Helm template regaudit cannot evaluate: {exc}; literal image lines are still read",
                        line=exc.line, parser=NAME)
        yield from _literal_lines(inp, ctx, text)
        return
    name = inp.name
    if name.startswith("_") or name.lower() == "notes.txt":
        return  # helpers and notes: defines only, no objects
    chart = _load_chart(str(root.resolve()))
    template_name = f"{chart.chart.get('Name') or root.name}/{inp.path.relative_to(root).as_posix()}"
    sets = tuple(sorted(ctx.variables.items()))
    overrides = tuple(str(path) for path in ctx.values_files)
    for instance in instances(root, top_chart(root), overrides, sets):
        dot = {
            "Values": instance.values,
            "Chart": chart.chart,
            "Release": {"Name": "release-name", "Namespace": "default", "Service": "Helm", "IsInstall": True,
                        "IsUpgrade": False, "Revision": 1},
            "Template": {"Name": template_name, "BasePath": f"{chart.chart.get('Name') or root.name}/templates"},
        }
        yield from _render_instance(inp, ctx, text, nodes, chart, dot, list(chart.problems + instance.problems),
                                    instance.prefix)


def _render_instance(inp: InputFile, ctx: ParseContext, text: str, nodes: list[Any], chart: _Chart,
                     dot: dict[str, Any], extra: list[str], prefix: str) -> Iterator[Evidence]:
    """The images of one rendering (a subchart aliased twice renders twice: PREFIX says which)."""
    renderer = Renderer(chart.defines, dot)
    rendered, chunks = renderer.render(nodes)
    line_map = _LineMap(rendered, chunks, text)
    for item in iter_documents(rendered):
        if isinstance(item, YamlProblem):
            yield from _rendered_lines(inp, ctx, item.text, item.start, line_map, renderer.unknowns, extra)
            continue
        if isinstance(item.value, dict):
            for record in kubernetes.object_images(inp, ctx, item.value, prefix=""):
                mapped = _mapped(record, line_map, renderer.unknowns, extra)
                if prefix and isinstance(mapped, (ImageReference, Unresolved)):
                    mapped = dataclasses.replace(mapped, context=f"{prefix.rstrip('.')}: {mapped.context}")
                yield mapped


class _LineMap:
    """Rendered line -> template line, from the chunks the renderer emitted."""

    def __init__(self, rendered: str, chunks: list[tuple[int, int]], template: str) -> None:
        self.template_lines = template.splitlines()
        self.rendered = rendered
        self.offsets = [offset for offset, _ in chunks]
        self.lines = [line for _, line in chunks]
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", rendered)]

    def template_line(self, rendered_line: int | None) -> int | None:
        if rendered_line is None or not self.offsets:
            return rendered_line
        start = self.line_starts[min(max(rendered_line - 1, 0), len(self.line_starts) - 1)]
        end = self.rendered.find("\n", start)
        text = self.rendered[start:] if end < 0 else self.rendered[start:end]
        position = start + len(text) - len(text.lstrip())  # its first non-blank character: its chunk says where
        index = bisect.bisect_right(self.offsets, position) - 1
        if index < 0:
            return self.lines[0]
        chunk_start = self.offsets[index]
        return self.lines[index] + self.rendered.count("\n", chunk_start, position)

    def written_image(self, line: int | None) -> str | None:
        """The `image:` value as the template writes it on LINE, to name an unresolved image by its source."""
        if line is None or not 0 < line <= len(self.template_lines):
            return None
        return _image_value(self.template_lines[line - 1])


def _mapped(record: Evidence, line_map: _LineMap, unknowns: list[str], extra: list[str]) -> Evidence:
    source = getattr(record, "source", None)
    if isinstance(source, Source):
        source = dataclasses.replace(source, line=line_map.template_line(source.line), parser=NAME)
    text = record.original if isinstance(record, ImageReference) else getattr(record, "text", "")
    if isinstance(record, (ImageReference, Unresolved)) and MARKER_RE.search(text):
        written = line_map.written_image(source.line if source is not None else None)
        return _unresolved(text, source, record.context, unknowns, extra, written)
    if isinstance(record, InputError):
        return dataclasses.replace(record, source=source or record.source)
    return dataclasses.replace(record, source=source)  # type: ignore[type-var]


def _unresolved(text: str, source: Source | None, context: str, unknowns: list[str], extra: list[str],
                written: str | None = None) -> Unresolved:
    reasons = [unknowns[int(m.group(1))] for m in MARKER_RE.finditer(text) if int(m.group(1)) < len(unknowns)]
    shown = written or MARKER_RE.sub("{{…}}", text)
    why = "; ".join(dict.fromkeys(reasons + extra)) or "a value regaudit cannot evaluate"
    return Unresolved(shown, f"Helm template: {why}; {_RENDER_HINT}", source, context)


def _rendered_lines(inp: InputFile, ctx: ParseContext, text: str, start: int, line_map: _LineMap,
                    unknowns: list[str], extra: list[str]) -> Iterator[Evidence]:
    """A rendered document that is still not YAML (an unknown value broke its structure): its image lines."""
    for offset, raw in enumerate(text.splitlines()):
        value = _image_value(raw)
        if value is None:
            continue
        value = value.strip("\"'")
        if not value or value.startswith(("{", "[", "|", ">")):
            continue
        line = line_map.template_line(start + offset)
        source = inp.source(line=line, parser=NAME)
        context = f"template line {line}: image"
        if MARKER_RE.search(value):
            yield _unresolved(value, source, context, unknowns, extra)
        else:
            yield from _one(value, source, context, ctx)


def _literal_lines(inp: InputFile, ctx: ParseContext, text: str) -> Iterator[Evidence]:
    for number, raw in enumerate(text.splitlines(), start=1):
        value = _image_value(raw)
        if value is None:
            continue
        value = value.strip("\"'")
        if not value or (value.startswith(("{", "[", "|", ">")) and not value.startswith("{{")):
            continue
        source = inp.source(line=number, parser=NAME)
        if "{{" in value:
            yield Unresolved(value, f"Helm template the evaluator could not parse; {_RENDER_HINT}", source,
                             f"template line {number}: image")
        else:
            yield from _one(value, source, f"template line {number}: image", ctx)


def _one(value: str, source: Source, context: str, ctx: ParseContext) -> Iterator[Evidence]:
    yield image_record(value, source, context, ctx.variables)
