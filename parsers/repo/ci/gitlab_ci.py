"""GitLab CI (`.gitlab-ci.yml`, `*.gitlab-ci.yml`, YAML under `.gitlab/`).

Images come from `image` and `services` (string or `{name: ...}`) at top level, in `default:` and in
jobs, after `extends:` (multi-level, deep-merged like GitLab) and `!reference [...]` are resolved, and from
`before_script`/`script`/`after_script` lines. `$VAR`/`${VAR}` expand from `variables:` (global and job,
string or `{value:}`), `--set` values overriding. Local `include:` files (wildcards too) are read from the
repository; remote, template, project and component includes cannot be read offline: each is reported
unresolved with reason "remote include not fetched". A local include that a directory walk also finds is not
read again on its own: it is part of the pipeline that includes it (alone it would lack the jobs it extends).
Child pipelines (`trigger: include:`) from local files are read as pipelines of their own.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.core.model import Evidence, InputError, Source, Unresolved
from parsers.common.inputs import InputFile, ParseContext, is_regular_file, read_config_text
from parsers.common.interpolate import interpolate
from parsers.common.yaml_loader import LineStr, line_of
from parsers.repo.ci.ci_yaml import YamlFile, as_list, image_value, load_yaml_text, recovered_images, scan_scripts

NAME = "gitlab_ci"

_KEYWORDS = frozenset({
    "image", "services", "stages", "types", "variables", "include", "default", "workflow", "before_script",
    "after_script", "cache", "spec",
})
_SCRIPT_KEYS = ("before_script", "script", "after_script")
_MAX_INCLUDES = 150  # GitLab's own limit per pipeline
_MAX_EXTENDS_DEPTH = 11  # GitLab allows 11 levels of inheritance
_REFERENCE_MARK = "__regaudit_gitlab_reference__"
# `!reference [a, b]` is a GitLab-only tag the safe loader refuses; it becomes a list led by a marker.
_REFERENCE_TAG_RE = re.compile(r"!reference\s*\[")


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if not name.endswith((".yml", ".yaml")):
        return False
    if name in (".gitlab-ci.yml", ".gitlab-ci.yaml") or name.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return True
    path = "/" + inp.display.replace("\\", "/")
    return "/.gitlab/" in path and not inp.looks_binary


# A pipeline by content: GitLab's own top-level `stages:` beside a job with a `script:`. Anchored, linear patterns.
_STAGES_KEY_RE = re.compile(rb"^stages[ \t]*:", re.MULTILINE)
_SCRIPT_KEY_RE = re.compile(rb"^[ \t]+script[ \t]*:", re.MULTILINE)


def detect_content(inp: InputFile) -> bool:
    head = inp.head
    return not inp.looks_binary and bool(_STAGES_KEY_RE.search(head)) and bool(_SCRIPT_KEY_RE.search(head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    ctx.advance(inp.size)
    if text is None:
        return
    if _included_by_the_root_pipeline(inp):
        return  # an `include: local:` file is evaluated as part of the pipeline that includes it, not alone
    yield from _pipeline_evidence(inp, text, ctx.variables, seen={inp.display})


def _included_by_the_root_pipeline(inp: InputFile) -> bool:
    """Whether INP, found by a directory walk, is a local include of the repository's `.gitlab-ci.yml`. Read on
    its own it lacks the jobs it `extends:` and the variables it uses, and would report them as errors. A file
    named on the command line is always read (the user asked for it)."""
    if inp.root is None or inp.display == "<stdin>":
        return False
    if inp.name.lower().endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return False
    probe = _Pipeline(inp, {})
    root = probe._repository_root(inp.path)
    if root is None:
        return False
    for name in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
        pipeline_file = root / name
        if pipeline_file.is_file():
            return os.path.normcase(os.path.abspath(inp.path)) in _local_includes(str(pipeline_file.resolve()))
    return False


@functools.lru_cache(maxsize=16)
def _local_includes(pipeline_file: str) -> frozenset[str]:
    """The absolute paths of every local file the pipeline at PIPELINE_FILE includes (transitively)."""
    path = Path(pipeline_file)
    inp = InputFile.from_path(path, display=pipeline_file, root=path.parent)
    text, _errors = read_config_text(inp, NAME)
    if text is None:
        return frozenset()
    pipeline = _Pipeline(inp, {})
    main = pipeline.load(text, pipeline_file)
    pipeline.read_includes(main.config, pipeline_file, path)
    return frozenset(os.path.normcase(os.path.abspath(name)) for name in pipeline.files if name != pipeline_file)


def _pipeline_evidence(inp: InputFile, text: str, overrides: dict[str, str], seen: set[str]) -> Iterator[Evidence]:
    pipeline = _Pipeline(inp, overrides)
    main = pipeline.load(text, inp.display)
    yield from main.errors
    yield from recovered_images(main)
    pipeline.read_includes(main.config, inp.display, inp.path)
    yield from pipeline.events
    yield from pipeline.evidence(main)
    yield from pipeline.child_pipelines(seen)


def _mark_references(text: str) -> str:
    return _REFERENCE_TAG_RE.sub(f"[{_REFERENCE_MARK}, ", text)


def _tag_origin(value: Any, origin: str) -> None:
    """Remember which file each string came from, so included content is sourced to its own file."""
    if isinstance(value, LineStr):
        value.origin = origin  # type: ignore[attr-defined]
    elif isinstance(value, dict):
        for item in value.values():
            _tag_origin(item, origin)
    elif isinstance(value, list):
        for item in value:
            _tag_origin(item, origin)


@dataclass
class _Loaded(YamlFile):
    config: dict[str, Any] = field(default_factory=dict)


class _Pipeline:
    def __init__(self, inp: InputFile, overrides: dict[str, str]) -> None:
        self.inp = inp
        self.overrides = overrides
        self.files: dict[str, _Loaded] = {}
        self.config: dict[str, Any] = {}
        self.events: list[Evidence] = []
        self.include_count = 0
        self.triggers: list[tuple[Any, str]] = []  # (trigger:include entry, job) of child pipelines

    def load(self, text: str, display: str) -> _Loaded:
        base = load_yaml_text(_mark_references(text), display, NAME)
        loaded = _Loaded(path=display, parser=NAME, text=text, documents=base.documents, errors=base.errors,
                         failed_from_line=base.failed_from_line)
        for document in loaded.documents:
            if isinstance(document, dict):
                _tag_origin(document, display)
                loaded.config.update(document)
        self.files[display] = loaded
        return loaded

    # ------------------------------------------------------------------ includes

    def read_includes(self, config: dict[str, Any], display: str, path: Path) -> None:
        root = self._repository_root(path)
        self._includes(config, display, root, seen={display})
        # The including file's keys override what it includes.
        self.config = {**self.config, **config} if self.config else dict(config)

    def _repository_root(self, path: Path) -> Path | None:
        """The directory local includes are relative to: where `.gitlab-ci.yml` (or `.gitlab/`) sits."""
        if self.inp.display == "<stdin>":
            return None
        if path.name.lower() in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
            return path.parent
        for parent in path.parents:
            if parent.name == ".gitlab":
                return parent.parent
        if self.inp.root is not None:
            return self.inp.root
        for parent in path.absolute().parents:
            if (parent / ".git").exists():
                return parent if path.is_absolute() else Path(os.path.relpath(parent))
        return path.parent

    def _includes(self, config: dict[str, Any], display: str, root: Path | None, seen: set[str]) -> None:
        for entry in as_list(config.get("include")):
            where = Source(path=display, line=line_of(entry), parser=NAME)
            local = None
            if isinstance(entry, str):
                if re.match(r"^https?://", entry):
                    self.events.append(Unresolved(entry, "remote include not fetched", where, "include:remote"))
                    continue
                local = entry
            elif isinstance(entry, dict):
                if "local" in entry:
                    local = entry["local"]
                else:
                    kind = next((k for k in ("remote", "template", "project", "component") if k in entry), None)
                    if kind is None:
                        self.events.append(InputError("include: entry with no local/remote/template/project/"
                                                      "component key", where))
                        continue
                    text = f"{kind}: {entry[kind]}"
                    if kind == "project":
                        files = ", ".join(str(f) for f in as_list(entry.get("file")))
                        text += f" file: {files}" + (f" ref: {entry['ref']}" if entry.get("ref") else "")
                    self.events.append(Unresolved(text, "remote include not fetched", where, f"include:{kind}"))
                    continue
            if not isinstance(local, str):
                self.events.append(InputError("include: expected a file path", where))
                continue
            if root is None:
                self.events.append(Unresolved(local, "local include not read: no repository directory", where,
                                              "include:local"))
                continue
            matches = self._local_paths(root, local)
            if not matches:
                self.events.append(Unresolved(local, "local include not found in the repository", where,
                                              "include:local"))
            for target in matches:
                self._read_include(target, root, where, seen)

    def _local_paths(self, root: Path, pattern: str) -> list[Path]:
        relative = pattern.strip().lstrip("/")
        if not relative:
            return []
        root_resolved = root.resolve()
        candidates = sorted(root.glob(relative)) if any(c in relative for c in "*?[") else [root / relative]
        inside: list[Path] = []
        for candidate in candidates:
            try:
                candidate.resolve().relative_to(root_resolved)
            except (ValueError, OSError):
                continue  # an include must not read outside the repository
            if is_regular_file(candidate):
                inside.append(candidate)
        return inside

    def _read_include(self, target: Path, root: Path, where: Source, seen: set[str]) -> None:
        display = os.path.normpath(str(target))
        if display in seen or display in self.files:
            return
        self.include_count += 1
        if self.include_count > _MAX_INCLUDES:
            if self.include_count == _MAX_INCLUDES + 1:
                self.events.append(InputError(f"more than {_MAX_INCLUDES} includes; the rest are not read", where))
            return
        seen.add(display)
        included = InputFile.from_path(target, display=display, root=root)
        text, errors = read_config_text(included, NAME)
        self.events.extend(errors)
        if text is None:
            return
        loaded = self.load(text, display)
        self.events.extend(loaded.errors)
        self.events.extend(recovered_images(loaded))
        self._includes(loaded.config, display, root, seen)
        # Later includes override earlier ones; the including file overrides all (see read_includes).
        self.config.update({k: v for k, v in loaded.config.items() if k != "include"})

    # ------------------------------------------------------------------ evidence

    def evidence(self, main: _Loaded) -> Iterator[Evidence]:
        config = self.config
        resolver = _References(config)
        config = {key: resolver.resolve(value) for key, value in config.items()}
        global_vars = _variables(config.get("variables"))
        yield from self.images(config, "", global_vars)
        default = config.get("default")
        if isinstance(default, dict):
            yield from self.images(default, "default.", global_vars)
            yield from self.scripts(default, "default", global_vars, ("before_script", "after_script"))
        yield from self.scripts(config, "", global_vars, ("before_script", "after_script"))
        jobs = {k: v for k, v in config.items() if isinstance(v, dict) and k not in _KEYWORDS}
        extended: set[str] = set()
        for name in jobs:
            if not str(name).startswith("."):
                extended |= self._ancestors(jobs, name)
        for name in jobs:
            hidden = str(name).startswith(".")
            if hidden and (name in extended or name in resolver.used):
                continue  # its values are reported through the jobs that extend it
            merged, problems = self._merged(jobs, name, [])
            yield from problems
            job_vars = {**global_vars, **_variables(merged.get("variables"))}
            suffix = " (template not extended here)" if hidden else ""
            yield from self.images(merged, f"{name}.", job_vars, suffix)
            yield from self.scripts(merged, str(name), job_vars, _SCRIPT_KEYS, suffix)
            trigger = merged.get("trigger")
            if isinstance(trigger, dict) and not hidden:
                self.triggers.extend((entry, str(name)) for entry in as_list(trigger.get("include")))

    def child_pipelines(self, seen: set[str]) -> Iterator[Evidence]:
        """Child pipelines (`trigger: include:`) from local files: each is a pipeline of its own.

        A child file that gitlab_ci.detect() accepts is also read on its own when the repository is walked;
        it is read here too so that a file named on the command line brings its children.
        """
        root = self._repository_root(self.inp.path)
        for entry, job in self.triggers:
            local = entry.get("local") if isinstance(entry, dict) else entry
            where = self._source(entry if not isinstance(entry, dict) else local, entry)
            if isinstance(entry, dict) and local is None:
                kind = next((k for k in ("remote", "template", "project", "artifact", "component") if k in entry),
                            "include")
                yield Unresolved(f"{kind}: {entry.get(kind)}", "remote include not fetched", where,
                                 f"{job}.trigger.include")
                continue
            if not isinstance(local, str) or root is None:
                continue
            for target in self._local_paths(root, local):
                display = os.path.normpath(str(target))
                if display in seen or len(seen) > _MAX_INCLUDES:
                    continue
                seen.add(display)
                child = InputFile.from_path(target, display=display, root=root)
                text, errors = read_config_text(child, NAME)
                yield from errors
                if text is not None:
                    yield from _pipeline_evidence(child, text, self.overrides, seen)

    def _ancestors(self, jobs: dict[str, Any], name: str, depth: int = 0) -> set[str]:
        found: set[str] = set()
        if depth > _MAX_EXTENDS_DEPTH:
            return found
        for parent in as_list(jobs.get(name, {}).get("extends")):
            if isinstance(parent, str) and parent in jobs and parent not in found:
                found.add(parent)
                found |= self._ancestors(jobs, parent, depth + 1)
        return found

    def _merged(self, jobs: dict[str, Any], name: str, chain: list[str]) -> tuple[dict[str, Any], list[Evidence]]:
        job = jobs[name]
        problems: list[Evidence] = []
        merged: dict[str, Any] = {}
        for parent in as_list(job.get("extends")):
            where = self._source(parent, job)
            if not isinstance(parent, str):
                problems.append(InputError(f"{name}.extends: expected a job name", where))
            elif parent in chain or parent == name:
                problems.append(InputError(f"{name}.extends: circular extends through {parent}", where))
            elif len(chain) >= _MAX_EXTENDS_DEPTH:
                problems.append(InputError(f"{name}.extends: more than {_MAX_EXTENDS_DEPTH} levels", where))
            elif parent not in jobs:
                problems.append(Unresolved(parent, "extends target not defined here (in a remote include?)",
                                           where, f"{name}.extends"))
            else:
                base, inner = self._merged(jobs, parent, [*chain, name])
                problems.extend(inner)
                merged = _deep_merge(merged, base)
        own = {k: v for k, v in job.items() if k != "extends"}
        return _deep_merge(merged, own), problems

    def _source(self, value: Any, fallback: Any = None) -> Source:
        origin = getattr(value, "origin", None) or getattr(fallback, "origin", None) or self.inp.display
        return Source(path=origin, line=line_of(value, line_of(fallback)), parser=NAME)

    def _file_of(self, value: Any) -> YamlFile:
        origin = getattr(value, "origin", None) or self.inp.display
        return self.files.get(origin) or self.files[self.inp.display]

    def images(self, holder: dict[str, Any], prefix: str, variables: dict[str, Any], suffix: str = ""
               ) -> Iterator[Evidence]:
        lookup = _lookup(self.overrides, variables)

        def expand(text: str) -> tuple[str, list[str]]:
            result = interpolate(text, lookup, dialect="compose")
            return result.text, [f"${name}" for name in result.missing] + result.errors

        image = holder.get("image")
        if image is not None:
            value = image.get("name") if isinstance(image, dict) else image
            yield self._image(value, f"{prefix}image{suffix}", expand, image)
        for index, service in enumerate(as_list(holder.get("services"))):
            value = service.get("name") if isinstance(service, dict) else service
            yield self._image(value, f"{prefix}services[{index}]{suffix}", expand, service)

    def _image(self, value: Any, context: str, expand: Any, holder: Any) -> Evidence:
        if isinstance(value, _MissingReference):
            return Unresolved(str(value), "!reference target not found", self._source(value), context)
        if value is None:
            return InputError(f"{context}: no image name", self._source(holder))
        evidence = image_value(self._file_of(value), value, context, expand, line=line_of(value, line_of(holder)))
        if isinstance(evidence, Unresolved) and "CI_DEPENDENCY_PROXY" in evidence.reason:
            # The Dependency Proxy serves the image from the GitLab server itself ($CI_SERVER_HOST).
            evidence = replace(evidence, reason=evidence.reason + " (GitLab Dependency Proxy: pulled through the "
                                                                  "GitLab server, $CI_SERVER_HOST)")
        return evidence

    def scripts(self, holder: dict[str, Any], prefix: str, variables: dict[str, Any], keys: tuple[str, ...],
                suffix: str = "") -> Iterator[Evidence]:
        lookup = _lookup(self.overrides, variables)
        for key in keys:
            value = holder.get(key)
            if value is None:
                continue
            context = f"{prefix}.{key}{suffix}" if prefix else f"{key}{suffix}"
            first = next(iter(_flatten(value)), None)
            yield from scan_scripts(self._file_of(first), value, context, lookup)


class _MissingReference(LineStr):
    pass


class _References:
    """Resolves `!reference [job, key, ...]` lists against the merged configuration."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.used: set[str] = set()

    def resolve(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, list):
            if value and value[0] == _REFERENCE_MARK:
                return self._target(value, depth)
            return [self.resolve(item, depth) for item in value]
        if isinstance(value, dict):
            out = type(value)()
            for attr in ("line", "key_lines", "origin"):
                if hasattr(value, attr):
                    setattr(out, attr, getattr(value, attr))
            for key, item in value.items():
                out[key] = self.resolve(item, depth)
            return out
        return value

    def _target(self, reference: list[Any], depth: int) -> Any:
        path = [str(part) for part in reference[1:]]
        if path:
            self.used.add(path[0])
        text = f"!reference [{', '.join(path)}]"
        node: Any = self.config
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or depth > 10:
            missing = _MissingReference(text)
            missing.line = line_of(reference[0], 0) or 0
            missing.origin = getattr(reference[0], "origin", None)  # type: ignore[attr-defined]
            return missing
        return self.resolve(node, depth + 1)


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's extends merge: mappings merge key by key, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _variables(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        return out
    for key, item in value.items():
        if isinstance(item, dict):
            if item.get("expand") is False and isinstance(item.get("value"), str):
                out[str(key)] = _Raw(item["value"])
                continue
            item = item.get("value")
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[str(key)] = str(item)
    return out


class _Raw(str):
    """A variable declared with `expand: false`: its `$` are literal."""


def _lookup(overrides: dict[str, str], variables: dict[str, Any]):  # type: ignore[no-untyped-def]
    """GitLab expands variables that name other variables; a cycle or unknown name stays missing."""

    def lookup(name: str, depth: int = 0) -> str | None:
        if name in overrides:
            return overrides[name]
        value = variables.get(name)
        if value is None or isinstance(value, _Raw) or "$" not in value:
            return value
        if depth > 10:
            return None
        result = interpolate(value, lambda inner: lookup(inner, depth + 1), dialect="compose")
        return result.text if result.complete else None

    return lookup
