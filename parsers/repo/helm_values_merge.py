"""Helm's values as a release sees them: a chart's `values.yaml` coalesced with what overrides it.

The order is Helm's (lowest first): the chart's own `values.yaml`; for a subchart (`charts/NAME/` of a chart),
the parent's values under the dependency's alias or name (`dependencies:` of the parent's Chart.yaml, or
requirements.yaml for apiVersion v1), with the parent's `global:` merged over the subchart's; then, for the
top-level chart, the `--values FILE` files in the order given (as `helm install -f A -f B`), then `--set a.b=V`.
Coalescing is Helm's: a mapping merges key by key, anything else replaces, and `key: null` in an override
removes the key.

Every mapping of the result is a LineDict whose `key_files` says which file each key's value came from, so an
image is reported where it is set (the parent's values.yaml, a `-f` file), not where its default was.
Nothing is rendered or executed here: these are plain YAML reads, each file's size and safety checked by the
same reader the parsers use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from pathlib import Path
from typing import Any

from parsers.common.inputs import MAX_CONFIG_BYTES, decode_text
from parsers.common.yaml_loader import LineDict, load_documents

MAX_CHART_DEPTH = 6  # charts/a/charts/b/... deeper than this is not followed
MAX_MERGE_DEPTH = 64  # deeper mappings are replaced, not merged: a hostile nesting cannot exhaust the stack
_MAX_SUBCHARTS = 200


@dataclasses.dataclass(frozen=True, eq=False)
class ValuesSource:
    """One values file: how it is named in records, and its lines (to read a tag back as written)."""

    display: str
    lines: list[str]


SET_SOURCE = ValuesSource("--set", [])


@dataclasses.dataclass(frozen=True)
class Instance:
    """The values one chart is rendered with, under PREFIX (`db.` for a subchart aliased `db`), and the files
    they came from, lowest precedence first."""

    prefix: str
    values: LineDict
    order: tuple[ValuesSource, ...]
    problems: tuple[str, ...] = ()


def display_of(path: Path) -> str:
    text = str(path)
    return text[2:] if text.startswith("./") else text


def _read(path: Path) -> tuple[str | None, str]:
    """(the text of PATH or None, why it could not be read: "" when it is simply absent)."""
    try:
        if not path.is_file():
            return None, ""
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None, f"larger than {MAX_CONFIG_BYTES} bytes"
        return decode_text(path.read_bytes())[0], ""
    except (OSError, ValueError) as exc:
        return None, f"cannot read: {exc}"


def _empty(line: int = 1) -> LineDict:
    mapping = LineDict()
    mapping.line = line
    mapping.key_lines = {}
    mapping.key_files = {}  # type: ignore[attr-defined]
    return mapping


def stamp(value: Any, source: ValuesSource) -> None:
    """Mark every mapping under VALUE as read from SOURCE (iterative: nesting depth is the input's)."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue  # an alias: the same node again
        seen.add(id(node))
        if isinstance(node, LineDict):
            node.key_files = {key: source for key in node}  # type: ignore[attr-defined]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load_values(path: str) -> tuple[LineDict | None, ValuesSource, str]:
    """(the first document of PATH as a stamped mapping or None, its source, a problem or "")."""
    try:
        stat = Path(path).stat()
        version = (stat.st_size, stat.st_mtime_ns)
    except (OSError, ValueError):
        version = (-1, -1)
    return _load_values(path, version)


@functools.lru_cache(maxsize=64)
def _load_values(path: str, _version: tuple[int, int]) -> tuple[LineDict | None, ValuesSource, str]:
    text, why = _read(Path(path))
    source = ValuesSource(display_of(Path(path)), [] if text is None else text.splitlines())
    if text is None:
        return None, source, f"{source.display}: {why}: its values are unknown" if why else ""
    try:
        for document in load_documents(text):
            if isinstance(document, LineDict):
                stamp(document, source)
                return document, source, ""
            if document is None:
                return None, source, ""
            return None, source, f"{source.display}: its first document is not a mapping: it sets no values"
    except Exception as exc:  # reported by the file's own parser when it is read; here it only weakens results
        return None, source, f"{source.display} could not be read ({type(exc).__name__}): its values are unknown"
    return None, source, ""


def coalesce(base: LineDict, override: LineDict, depth: int = 0) -> LineDict:
    """BASE with OVERRIDE over it, as Helm coalesces values (neither argument is changed)."""
    result = _empty(base.line)
    result.update(base)
    result.key_lines = dict(base.key_lines)
    result.key_files = dict(getattr(base, "key_files", {}))  # type: ignore[attr-defined]
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
            result.key_lines.pop(key, None)
            result.key_files.pop(key, None)  # type: ignore[attr-defined]
            continue
        held = result.get(key)
        if isinstance(held, LineDict) and isinstance(value, LineDict) and depth < MAX_MERGE_DEPTH:
            value = coalesce(held, value, depth + 1)
        result[key] = value
        result.key_lines[key] = override.line_of(key)
        result.key_files[key] = getattr(override, "key_files", {}).get(key)  # type: ignore[attr-defined]
    return result


def with_sets(values: LineDict, variables: dict[str, str]) -> LineDict:
    """VALUES with `--set a.b.c=VALUE` applied (dotted names only: a plain NAME is a build or CI variable)."""
    overlay = _empty(values.line)
    for name, value in sorted(variables.items()):
        if "." not in name or name.startswith(".") or name.endswith(".") or ".." in name:
            continue
        *parents, leaf = name.split(".")
        node = overlay
        for key in parents:
            child = node.get(key)
            if not isinstance(child, LineDict):
                child = _empty(values.line)
                node[key] = child
                node.key_files[key] = SET_SOURCE  # type: ignore[attr-defined]
            node = child
        node[leaf] = value
        node.key_files[leaf] = SET_SOURCE  # type: ignore[attr-defined]
    return coalesce(values, overlay) if overlay else values


def parent_chart(root: Path) -> Path | None:
    """The chart whose `charts/` folder holds the chart at ROOT, if any."""
    if root.parent.name == "charts" and (root.parent.parent / "Chart.yaml").is_file():
        return root.parent.parent
    return None


def top_chart(root: Path) -> Path:
    for _ in range(MAX_CHART_DEPTH):
        parent = parent_chart(root)
        if parent is None:
            return root
        root = parent
    return root


def chart_name(root: Path) -> str:
    meta, _source, _problem = load_values(str(root / "Chart.yaml"))
    name = meta.get("name") if meta is not None else None
    return name if isinstance(name, str) and name else root.name


def subchart_keys(parent: Path, sub: Path) -> list[str]:
    """The keys the parent's values reach the subchart under: each dependency's alias (a chart may be a
    dependency twice, under two aliases) or its name; the subchart's name when no dependency names it."""
    name = chart_name(sub)
    keys: list[str] = []
    for file in ("Chart.yaml", "requirements.yaml"):
        meta, _source, _problem = load_values(str(parent / file))
        dependencies = meta.get("dependencies") if meta is not None else None
        for dependency in dependencies if isinstance(dependencies, list) else ():
            if not isinstance(dependency, dict) or dependency.get("name") not in (name, sub.name):
                continue
            alias = dependency.get("alias")
            key = alias if isinstance(alias, str) and alias else name
            if key not in keys:
                keys.append(key)
    return keys or [name]


def subcharts(root: Path) -> list[Path]:
    """The charts vendored under ROOT (`charts/*/Chart.yaml`), at every depth, in a stable order."""
    found: list[Path] = []
    level = [root]
    for _ in range(MAX_CHART_DEPTH):
        following: list[Path] = []
        for chart in level:
            try:
                children = sorted(p for p in (chart / "charts").iterdir() if (p / "Chart.yaml").is_file())
            except OSError:
                continue
            following.extend(children)
        found.extend(following)
        level = following
        if not level or len(found) >= _MAX_SUBCHARTS:
            break
    return found[:_MAX_SUBCHARTS]


def instances(root: Path, top: Path, overrides: tuple[str, ...], variables: tuple[tuple[str, str], ...]
              ) -> list[Instance]:
    """Every set of values the chart at ROOT is rendered with when TOP (ROOT or an ancestor) is installed with
    the `-f` files OVERRIDES and the `--set` VARIABLES."""
    return list(_instances(str(root), str(top), overrides, variables, 0))


def _instances(root_text: str, top_text: str, overrides: tuple[str, ...], variables: tuple[tuple[str, str], ...],
               depth: int) -> tuple[Instance, ...]:
    root = Path(root_text)
    own, own_source, problem = load_values(str(root / "values.yaml"))
    own = own if own is not None else _empty()
    problems = (problem,) if problem else ()
    parent = parent_chart(root)
    if root_text == top_text or parent is None or depth >= MAX_CHART_DEPTH:
        values, order = own, [own_source]
        for path in overrides:
            override, source, problem = load_values(path)
            problems += (problem,) if problem else ()
            if override is not None:
                values = coalesce(values, override)
            order.append(source)
        values = with_sets(values, dict(variables))
        return (Instance("", values, tuple(order), problems),)
    result: list[Instance] = []
    for outer in _instances(str(parent), top_text, overrides, variables, depth + 1):
        for key in subchart_keys(parent, root):
            block = outer.values.get(key)
            values = coalesce(own, block) if isinstance(block, LineDict) else coalesce(own, _empty())
            globals_ = outer.values.get("global")
            if isinstance(globals_, LineDict):
                held = values.get("global")
                values["global"] = coalesce(held if isinstance(held, LineDict) else _empty(), globals_)
                values.key_files["global"] = outer.values.key_files.get("global")  # type: ignore[attr-defined]
            result.append(Instance(f"{outer.prefix}{key}.", values, (own_source, *outer.order),
                                   problems + outer.problems))
    return tuple(result)


_HELMFILE_NAMES = ("helmfile.yaml", "helmfile.yml")
_MAX_HELMFILE_LEVELS = 4


def helmfile_releases(chart: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(helmfile release, its `values:` files in order) for every release of a helmfile in CHART's folder or
    above (a few levels) whose `chart:` is that local chart. Inline values, templated file names (`{{ }}`) and
    documents that are not YAML until helmfile renders them are left out."""
    try:
        target = chart.resolve()
    except OSError:
        return []
    found: list[tuple[str, tuple[str, ...]]] = []
    folder = chart  # as given, not resolved: the files it finds are named the way the inputs are
    for _ in range(_MAX_HELMFILE_LEVELS + 1):
        candidates = [folder / name for name in _HELMFILE_NAMES]
        with contextlib.suppress(OSError):
            candidates += sorted((folder / "helmfile.d").glob("*.yaml"))
        for helmfile in candidates:
            found.extend(_releases_of(helmfile, target))
        if folder.parent == folder:
            break
        folder = folder.parent
    return found


def _releases_of(helmfile: Path, target: Path) -> list[tuple[str, tuple[str, ...]]]:
    from parsers.common.yaml_stream import YamlDocument, iter_documents

    text, _why = _read(helmfile)
    if text is None:
        return []
    found: list[tuple[str, tuple[str, ...]]] = []
    for item in iter_documents(text):
        if not isinstance(item, YamlDocument) or not isinstance(item.value, dict):
            continue  # a templated document: helmfile renders it first
        releases = item.value.get("releases")
        for release in releases if isinstance(releases, list) else ():
            if not isinstance(release, dict) or not isinstance(release.get("chart"), str):
                continue
            chart = release["chart"]
            if "{{" in chart or chart.startswith("oci://") or not chart.startswith((".", "/")):
                continue  # a chart from a repository: not this local chart
            try:
                if (helmfile.parent / chart).resolve() != target:
                    continue
            except OSError:
                continue
            values = release.get("values")
            files = tuple(str(helmfile.parent / v) for v in (values if isinstance(values, list) else ())
                          if isinstance(v, str) and "{{" not in v)
            name = release.get("name")
            label = f"{display_of(helmfile)} release {name if isinstance(name, str) else '?'}"
            if files:
                found.append((label, files))
    return found
