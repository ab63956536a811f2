"""GitHub Actions workflows (`.github/workflows/*.yml`, also Gitea/Forgejo) and `action.yml` actions.

Images come from `jobs.*.container`, `jobs.*.services.*`, `uses: docker://IMAGE`, a Docker action's
`runs.image`, `docker/build-push-action` tags, `docker/login-action` registries and `run:` lines, and the images
well-known actions pull on their own (parsers/repo/ci/implicit_actions.py: setup-qemu's binfmt, setup-buildx's
BuildKit), at the `uses:` line.
`${{ env.X }}` resolves from literal `env:` values (workflow, job, step); `${{ matrix.k }}` expands to each
literal value of the job's matrix; any other expression is evaluated only by GitHub, so it stays unresolved.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, HostPurpose, HostReference, Unresolved
from auditor.core.reference import normalize_registry_host
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.interpolate import mapping_lookup
from parsers.common.yaml_loader import line_of
from parsers.repo.ci.ci_yaml import (
    YamlFile,
    as_list,
    image_value,
    literal_variables,
    load_yaml,
    recovered_images,
    scan_scripts,
)
from parsers.repo.ci.implicit_actions import implicit_pull

NAME = "github_actions"

_WORKFLOW_DIRS = ("/.github/workflows/", "/.gitea/workflows/", "/.forgejo/workflows/")
_ACTION_NAMES = ("action.yml", "action.yaml")
# `${{`, a body holding neither `${{` nor `}}`, `}}`; the body is stripped by its readers. (`\s*(.*?)\s*` took
# time quadratic in a run of spaces, and every `${{` of a long line without `}}` rescanned the rest.)
_EXPRESSION_RE = re.compile(r"\$\{\{((?:(?!\$\{\{|\}\}).)*+)\}\}", re.DOTALL)
_ENV_EXPR_RE = re.compile(r"^env\.([A-Za-z_][A-Za-z0-9_-]*)$")
_MATRIX_EXPR_RE = re.compile(r"^matrix\.([A-Za-z_][A-Za-z0-9_-]*)$")
_MAX_VARIANTS = 64


def detect(inp: InputFile) -> bool:
    path = "/" + inp.display.replace("\\", "/").lstrip("/")
    name = inp.name.lower()
    if not name.endswith((".yml", ".yaml")):
        return False
    if any(part in path for part in _WORKFLOW_DIRS) and path.rsplit("/", 1)[0].endswith("workflows"):
        return True
    return name in _ACTION_NAMES and b"runs:" in inp.head


# A workflow by content (standard input, an unusual name): the top-level `on:` and `jobs:` keys, and a job key only
# workflows have. Each pattern is anchored to a line start and has no nested quantifiers: linear on any line.
_ON_KEY_RE = re.compile(rb"^(?:on|\"on\"|'on'|true)[ \t]*:", re.MULTILINE)
_JOBS_KEY_RE = re.compile(rb"^jobs[ \t]*:", re.MULTILINE)
_JOB_FIELD_RE = re.compile(rb"^[ \t]+(?:runs-on|uses|steps)[ \t]*:", re.MULTILINE)


def detect_content(inp: InputFile) -> bool:
    head = inp.head
    return (not inp.looks_binary and bool(_ON_KEY_RE.search(head)) and bool(_JOBS_KEY_RE.search(head))
            and bool(_JOB_FIELD_RE.search(head)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    loaded = load_yaml(inp, NAME)
    ctx.advance(inp.size)
    yield from loaded.errors
    yield from recovered_images(loaded, ("image", "uses"))
    for document in loaded.documents:
        if not isinstance(document, dict):
            continue
        workflow = _Workflow(loaded, ctx.variables)
        if isinstance(document.get("jobs"), dict):
            yield from workflow.workflow(document)
        elif isinstance(document.get("runs"), dict):
            yield from workflow.action(document["runs"])


class _Workflow:
    def __init__(self, loaded: YamlFile, overrides: dict[str, str]) -> None:
        self.loaded = loaded
        self.overrides = overrides

    def workflow(self, document: dict[str, Any]) -> Iterator[Evidence]:
        workflow_env = literal_variables(document.get("env"))
        for job_id, job in document["jobs"].items():
            if not isinstance(job, dict):
                continue
            env = {**workflow_env, **literal_variables(job.get("env"))}
            matrix = _matrix_values(job.get("strategy"))
            where = f"jobs.{job_id}"
            container = job.get("container")
            if container is not None:
                image = container.get("image") if isinstance(container, dict) else container
                yield from self.image(image, f"{where}.container", env, matrix, job.line_of("container"))
            services = job.get("services")
            if isinstance(services, dict):
                for name, service in services.items():
                    image = service.get("image") if isinstance(service, dict) else service
                    yield from self.image(image, f"{where}.services.{name}", env, matrix, services.line_of(name))
            yield from self.steps(job.get("steps"), where, env)
            called = job.get("uses")
            if isinstance(called, str) and not called.startswith("./"):
                # A local reusable workflow is a workflow file of its own; another repository's is not read.
                yield Unresolved(called, "reusable workflow from another repository not fetched",
                                 self.loaded.source(line_of(called)), f"{where}.uses")

    def action(self, runs: dict[str, Any]) -> Iterator[Evidence]:
        using = str(runs.get("using", ""))
        image = runs.get("image")
        if using == "docker" and isinstance(image, str) and image.startswith("docker://"):
            yield from self.image(image, "runs.image", {}, {})
        # `runs.image: Dockerfile` builds the action's own Dockerfile: the Dockerfile parser covers it.
        if using == "composite":
            yield from self.steps(runs.get("steps"), "runs", {})

    def steps(self, steps: Any, where: str, env: dict[str, str]) -> Iterator[Evidence]:
        for index, step in enumerate(as_list(steps)):
            if not isinstance(step, dict):
                continue
            step_env = {**env, **literal_variables(step.get("env"))}
            here = f"{where}.steps[{index}]"
            if isinstance(step.get("parallel"), list):  # a group of steps run side by side
                yield from self.steps(step["parallel"], f"{here}.parallel", step_env)
                continue
            uses = step.get("uses")
            with_ = step.get("with") if isinstance(step.get("with"), dict) else {}
            if isinstance(uses, str):
                if uses.startswith("docker://"):
                    yield from self.image(uses, f"{here}.uses", step_env, {})
                action = uses.split("@", 1)[0].lower()
                if action == "docker/login-action":
                    yield from self.login(with_, line_of(uses), f"{here} docker/login-action", step_env)
                elif action == "docker/build-push-action":
                    yield from self.tags(with_.get("tags"), f"{here} docker/build-push-action tags", step_env)
                pull = implicit_pull(action, with_)
                if pull is not None:
                    yield from self.image(pull.image, f"{here} {action} (pulls it: {pull.note})", step_env, {},
                                          key_line=pull.line or line_of(uses))
            run = step.get("run")
            if isinstance(run, str):
                lookup = mapping_lookup(self.overrides, step_env)
                yield from scan_scripts(self.loaded, run, f"{here}.run", lookup,
                                        rewrite=lambda text, e=step_env: _substitute_env(text, e, self.overrides))

    def image(self, value: Any, context: str, env: dict[str, str], matrix: dict[str, list[str]],
              key_line: int | None = None) -> Iterator[Evidence]:
        if not isinstance(value, str):
            yield image_value(self.loaded, value, context, line=key_line)
            return
        line = line_of(value, key_line)
        text = value.removeprefix("docker://")
        for variant in _matrix_variants(text, matrix):
            yield image_value(self.loaded, text, context,
                              lambda t, v=variant, e=env: _expand(t, e, v, self.overrides), line=line)

    def login(self, with_: dict[str, Any], line: int | None, context: str, env: dict[str, str]
              ) -> Iterator[Evidence]:
        registry = with_.get("registry")
        if registry is None:
            yield HostReference(normalize_registry_host("docker.io"), HostPurpose.LOGIN, "docker.io",
                                self.loaded.source(line), f"{context} (no registry: Docker Hub)")
            return
        text = str(registry).strip()
        expanded, missing = _expand(text, env, {}, self.overrides)
        where = self.loaded.source(line_of(registry, line))
        if missing or not normalize_registry_host(expanded):
            yield Unresolved(text, f"unresolved: {', '.join(missing) or 'empty registry'}", where, context)
            return
        yield HostReference(normalize_registry_host(expanded), HostPurpose.LOGIN, text, where, context)

    def tags(self, value: Any, context: str, env: dict[str, str]) -> Iterator[Evidence]:
        if isinstance(value, list):
            items = [item for item in value if isinstance(item, str)]
        elif isinstance(value, str):
            items = [value]
        else:
            return
        for item in items:
            base = line_of(item) or 1
            block = self.loaded.lines[base - 1:base] if base else []
            offset = 1 if block and block[0].rstrip().endswith(("|", ">", "|-", ">-")) else 0
            for number, line in enumerate(item.split("\n")):
                for tag in line.split(","):
                    tag = tag.strip()
                    if tag:
                        yield image_value(self.loaded, tag, context,
                                          lambda text, e=env: _expand(text, e, {}, self.overrides),
                                          line=base + offset + number)


def _expand(text: str, env: dict[str, str], matrix: dict[str, str], given: dict[str, str]
            ) -> tuple[str, list[str]]:
    """TEXT with the `${{ }}` expressions it can know replaced: one given with --set (`github.sha=abc`,
    `env.REGISTRY=...`, exactly as written inside the braces) first, then literal `env:` values and matrix values."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression in given:
            return given[expression]
        if env_match := _ENV_EXPR_RE.match(expression):
            value = env.get(env_match.group(1))
            if value is not None and "${{" not in value:
                return value
        if matrix_match := _MATRIX_EXPR_RE.match(expression):
            value = matrix.get(matrix_match.group(1))
            if value is not None:
                return value
        missing.append(match.group(0))
        return match.group(0)

    return _EXPRESSION_RE.sub(replace, text), missing


def _substitute_env(text: str, env: dict[str, str], given: dict[str, str]) -> str:
    """Replace the `${{ }}` expressions GitHub resolves before the shell runs that are known (given with --set, or
    `env.X` from literal `env:` values); the rest stays for the shell to report."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1).strip() in given and "\n" not in given[match.group(1).strip()]:
            return given[match.group(1).strip()]
        env_match = _ENV_EXPR_RE.match(match.group(1).strip())
        if env_match and env_match.group(1) in env and "\n" not in env[env_match.group(1)]:
            return env[env_match.group(1)]
        return match.group(0)

    return _EXPRESSION_RE.sub(replace, text)


def _matrix_values(strategy: Any) -> dict[str, list[str]]:
    """Each matrix key's literal values (its list plus `include` entries); keys built by expressions are left out."""
    if not isinstance(strategy, dict) or not isinstance(strategy.get("matrix"), dict):
        return {}
    matrix = strategy["matrix"]
    values: dict[str, list[str]] = {}
    for key, items in matrix.items():
        if key in ("include", "exclude") or not isinstance(items, list):
            continue
        literals = [str(item) for item in items if isinstance(item, str | int | float) and not isinstance(item, bool)]
        if len(literals) == len(items):
            values[str(key)] = literals
    for extra in as_list(matrix.get("include")):
        if isinstance(extra, dict):
            for key, item in extra.items():
                if isinstance(item, str | int | float) and not isinstance(item, bool):
                    values.setdefault(str(key), [])
                    if str(item) not in values[str(key)]:
                        values[str(key)].append(str(item))
    return values


def _matrix_variants(text: str, matrix: dict[str, list[str]]) -> list[dict[str, str]]:
    """One assignment per combination of the matrix keys TEXT uses (capped); [{}] when it uses none."""
    keys = sorted({m.group(1) for expr in _EXPRESSION_RE.finditer(text)
                   if (m := _MATRIX_EXPR_RE.match(expr.group(1).strip())) and m.group(1) in matrix})
    if not keys:
        return [{}]
    combos = itertools.islice(itertools.product(*(matrix[key] for key in keys)), _MAX_VARIANTS)
    seen: list[dict[str, str]] = []
    for combo in combos:
        variant = dict(zip(keys, combo, strict=True))
        if variant not in seen:
            seen.append(variant)
    return seen
