"""Drone (`.drone.yml`) and Woodpecker (`.woodpecker.yml`, `.woodpecker/*.yml`) pipelines.

Every YAML document is a pipeline. Images come from `steps` (a list, or Woodpecker's mapping form),
`services`, the old Woodpecker `pipeline:` mapping, `clone:` steps, and `commands` lines. Values may use
`${VAR}` substitution: the pipeline's own `environment` literals and `--set` values resolve; `${DRONE_*}`,
`${CI_*}` and other runtime variables do not. Woodpecker `matrix:` values expand to one image per
combination. The `settings.repo` of the docker/buildx/kaniko plugins is the image they push. The implicit
clone image (when no `clone:` is given) is the runner's choice and is not reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, HostPurpose, HostReference, Unresolved
from auditor.core.reference import normalize_registry_host
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.interpolate import Lookup, interpolate, mapping_lookup
from parsers.common.yaml_loader import line_of
from parsers.repo.ci.ci_yaml import (
    Expand,
    YamlFile,
    as_list,
    image_value,
    literal_variables,
    load_yaml,
    recovered_images,
    scan_scripts,
)

NAME = "drone"

_MAX_COMBINATIONS = 64
_SECTIONS = ("clone", "steps", "pipeline", "services")
# Plugins that build and push `settings.repo` (Drone and Woodpecker plugin images, by repository name).
_PUSH_PLUGINS = frozenset({"docker", "drone-docker", "ecr", "gcr", "acr", "heroku", "kaniko", "drone-kaniko",
                           "plugin-docker-buildx", "docker-buildx", "plugin-kaniko"})
_NON_CONTAINER_TYPES = frozenset({"exec", "ssh", "digitalocean", "macstadium", "vm"})


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if name in (".drone.yml", ".drone.yaml", ".woodpecker.yml", ".woodpecker.yaml"):
        return True
    path = "/" + inp.display.replace("\\", "/")
    return "/.woodpecker/" in path and name.endswith((".yml", ".yaml"))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    loaded = load_yaml(inp, NAME)
    ctx.advance(inp.size)
    yield from loaded.errors
    yield from recovered_images(loaded)
    for index, document in enumerate(loaded.documents):
        if isinstance(document, dict):
            yield from _pipeline(loaded, document, index, ctx.variables)


def _entries(section: Any) -> Iterator[tuple[str, Any]]:
    """(name, step) for a list of steps or a Woodpecker mapping of name -> step."""
    if isinstance(section, dict):
        if "image" in section:  # Drone's `clone:` is a settings mapping, never an image by itself
            yield "", section
            return
        for name, step in section.items():
            yield str(name), step
    elif isinstance(section, list):
        for index, step in enumerate(section):
            name = step.get("name") if isinstance(step, dict) else None
            yield str(name if name is not None else index), step


def _pipeline(loaded: YamlFile, document: dict[str, Any], index: int, overrides: dict[str, str]
              ) -> Iterator[Evidence]:
    kind = document.get("kind")
    if kind is not None and kind != "pipeline":
        return  # Drone `secret`, `signature`, `template` documents
    if str(document.get("type", "docker")) in _NON_CONTAINER_TYPES:
        return
    name = document.get("name")
    prefix = f"pipeline[{name if name is not None else index}]"
    pipeline_env = literal_variables(document.get("environment"))
    combos = _matrix(document.get("matrix"))
    for section in _SECTIONS:
        for step_name, step in _entries(document.get(section)):
            if not isinstance(step, dict):
                continue
            where = f"{prefix}.{section}.{step_name}" if step_name else f"{prefix}.{section}"
            env = {**pipeline_env, **literal_variables(step.get("environment"))}
            lookup = mapping_lookup(overrides, combos[0] if len(combos) == 1 else {}, env)
            reported: set[str] = set()
            for combo in combos:  # one value per matrix combination; the same image is reported once
                expand = _expander(mapping_lookup(overrides, combo, env))
                if "image" in step:
                    evidence = image_value(loaded, step["image"], f"{where}.image", expand,
                                           line=line_of(step["image"], line_of(step)))
                    key = getattr(evidence, "canonical", None) or repr(evidence)
                    if key not in reported:
                        reported.add(key)
                        yield evidence
                if combo is combos[0] and isinstance(step.get("settings"), dict) and isinstance(step.get("image"), str):
                    yield from _docker_plugin(loaded, step["image"], step["settings"], f"{where}.settings", expand)
            commands = [line for line in as_list(step.get("commands")) if isinstance(line, str)]
            yield from scan_scripts(loaded, commands, f"{where}.commands", lookup)


def _expander(lookup: Lookup) -> Expand:
    def expand(text: str) -> tuple[str, list[str]]:
        result = interpolate(text, lookup, dialect="compose")
        return result.text, [f"${name}" for name in result.missing] + result.errors

    return expand


def _matrix(matrix: Any) -> list[dict[str, str]]:
    """Woodpecker's `matrix:`: every combination of its axes, or its `include` list (capped); [{}] without one."""
    if not isinstance(matrix, dict):
        return [{}]
    if isinstance(matrix.get("include"), list):
        combos = [literal_variables(item) for item in matrix["include"] if isinstance(item, dict)]
        return combos[:_MAX_COMBINATIONS] or [{}]
    axes = {str(key): [str(v) for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]
            for key, values in matrix.items() if isinstance(values, list)}
    axes = {key: values for key, values in axes.items() if values}
    if not axes:
        return [{}]
    product = itertools.islice(itertools.product(*axes.values()), _MAX_COMBINATIONS)
    return [dict(zip(axes, combo, strict=True)) for combo in product]


def _docker_plugin(loaded: YamlFile, image: str, settings: dict[str, Any], where: str, expand: Expand
                   ) -> Iterator[Evidence]:
    """The docker/buildx/kaniko plugins push `settings.repo` to `settings.registry` and log in there."""
    plugin = image.split("@", 1)[0].rsplit(":", 1)[0].split("/")[-1]
    if plugin not in _PUSH_PLUGINS:
        return
    registry = settings.get("registry")
    if isinstance(registry, str) and registry.strip():
        text, missing = expand(registry.strip())
        source = loaded.source(line_of(registry))
        if missing:
            yield Unresolved(registry, f"unresolved: {', '.join(missing)}", source, f"{where}.registry")
        else:
            yield HostReference(normalize_registry_host(text), HostPurpose.LOGIN, registry, source,
                                f"{where}.registry")
    for repo in as_list(settings.get("repo")):
        if not isinstance(repo, str):
            continue
        name = repo.strip()
        host = registry.strip() if isinstance(registry, str) else ""
        if host and not name.startswith(host.rstrip("/") + "/"):
            name = f"{normalize_registry_host(host) if '://' in host else host.rstrip('/')}/{name}"
        yield image_value(loaded, name, f"{where}.repo", expand, line=line_of(repo))
