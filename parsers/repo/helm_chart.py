"""Helm chart templates (`templates/**` of a directory holding `Chart.yaml`): the images the chart renders.

A template is not YAML until Helm renders it, so it is neither a Kubernetes manifest nor an input error. It is
rendered here by regaudit's own small evaluator (parsers/repo/helm_template.py) with the chart's context:
- `.Values` as a release sees them (parsers/repo/helm_values_merge.py): the chart's `values.yaml`, for a subchart
  its parent's values under the dependency's alias or name and the parent's `global:` (one rendering per alias),
  the `--values` files in order, and `--set a.b.c=VALUE` overrides (dotted names, as `helm --set`);
- `.Chart` from `Chart.yaml` (`Name`, `Version`, `AppVersion`), `.Release` as `helm template` sets it by default
  (`release-name`, namespace `default`);
- every `define` of the chart's templates and of the other charts of its tree (Helm shares one namespace, so a
  vendored library chart's `common.images.image` counts), so an `include` of a helper that joins values resolves.
The rendered documents go through the Kubernetes object walker (pod specs, Tekton, Kustomize ...), their lines
mapped back to the template's lines. An image whose text depends on something the evaluator does not know
(`tpl`, `lookup`, `.Capabilities`, a helper of a library chart that is not vendored) is Unresolved, with the reason
and a hint to render the chart (`helm template`) and read the output instead; nothing is guessed.
`_*.tpl` helpers and `NOTES.txt` hold no objects: they are read for their defines only. A template the evaluator
cannot parse (unbalanced `{{ if }}`/`{{ end }}`) is one InputError, and its literal `image:` lines are still read.
"""
# Detection runs on every file of a walk; rendering only on chart templates. The renderer (its template
# evaluator, YAML loader and the Kubernetes walker) lives in helm_chart_render.py so that a run without a chart
# does not import it.

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.core.model import Evidence
    from parsers.common.inputs import InputFile, ParseContext

NAME = "helm_chart"

_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")
_MAX_LEVELS = 6  # templates/a/b/c/file.yaml at most


def chart_root(path: Path) -> Path | None:
    """The chart directory when PATH lies under its `templates/` folder, else None."""
    parent = path.parent
    for _ in range(_MAX_LEVELS):
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return parent.parent
        if parent.parent == parent:
            return None
        parent = parent.parent
    return None


def detect(inp: InputFile) -> bool:
    if inp.display == "<stdin>" or not inp.lower_name.endswith(_SUFFIXES):
        return False
    # a string test before the walk up the parents (most YAML and JSON files are under no templates/ folder)
    return "templates" in str(inp.path) and chart_root(inp.path) is not None


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    from parsers.repo.helm_chart_render import parse_chart_template

    root = chart_root(inp.path)
    return iter(()) if root is None else parse_chart_template(inp, ctx, root)
