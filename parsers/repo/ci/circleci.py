"""CircleCI (`.circleci/config.yml` and other YAML under `.circleci/`).

Images come from `jobs.*.docker[*].image` (the first is the primary container, the others are services),
`executors.*.docker`, jobs using `executor: name` or `{name: ...}`, inline orbs' executors and jobs, and
`run` steps (string or `{command:}`). `<< parameters.x >>` resolves to the values each workflow invocation
passes (`- build: {image: x}`, `matrix: parameters:`), or to the declared default for a job run without them;
`<< pipeline.parameters.x >>` to its declared default. `machine:`/`macos:` images are CircleCI VM images, not
container images, and are not reported. Executors from registry orbs (`executor: node/default`) cannot be
resolved offline: they are reported unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, Unresolved
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.yaml_loader import line_of
from parsers.repo.ci.ci_yaml import YamlFile, as_list, image_value, load_yaml, recovered_images, scan_scripts

NAME = "circleci"

_PARAMETER_RE = re.compile(r"<<\s*((?:pipeline\.)?parameters\.[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+)\s*>>")


def detect(inp: InputFile) -> bool:
    path = "/" + inp.display.replace("\\", "/")
    return "/.circleci/" in path and inp.name.lower().endswith((".yml", ".yaml"))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    loaded = load_yaml(inp, NAME)
    ctx.advance(inp.size)
    yield from loaded.errors
    yield from recovered_images(loaded)
    for document in loaded.documents:
        if isinstance(document, dict):
            yield from _Config(loaded, document, ctx.variables).evidence()


_MAX_INVOCATIONS = 64
_INVOCATION_KEYS = frozenset({"requires", "context", "filters", "type", "name", "matrix", "pre-steps", "post-steps",
                              "serial-group", "override-with"})


def _invocations(workflows: Any) -> dict[str, list[dict[str, str]]]:
    """Job name -> the parameter values each workflow invocation passes (`- build: {image: x}`, matrices)."""
    found: dict[str, list[dict[str, str]]] = {}
    if not isinstance(workflows, dict):
        return found
    for workflow in workflows.values():
        entries = workflow.get("jobs") if isinstance(workflow, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str):
                found.setdefault(entry, []).append({})
                continue
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            [(job, spec)] = entry.items()
            spec = spec if isinstance(spec, dict) else {}
            base = {str(k): str(v) for k, v in spec.items()
                    if k not in _INVOCATION_KEYS and isinstance(v, str | int | float) and not isinstance(v, bool)}
            matrix = spec.get("matrix")
            axes = matrix.get("parameters") if isinstance(matrix, dict) else None
            variants: list[dict[str, str]] = [base]
            if isinstance(axes, dict):
                for axis, values in axes.items():
                    options = [str(v) for v in values] if isinstance(values, list) else [str(values)]
                    variants = [{**variant, str(axis): option} for variant in variants for option in options]
                    variants = variants[:_MAX_INVOCATIONS]
            bucket = found.setdefault(str(job), [])
            bucket.extend(variants[:max(0, _MAX_INVOCATIONS - len(bucket))])
    return found


def _defaults(parameters: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(parameters, dict):
        for name, spec in parameters.items():
            if isinstance(spec, dict) and isinstance(spec.get("default"), str | int | float):
                out[str(name)] = str(spec["default"])
    return out


class _Config:
    def __init__(self, loaded: YamlFile, config: dict[str, Any], overrides: dict[str, str]) -> None:
        self.loaded = loaded
        self.config = config
        self.overrides = overrides
        self.pipeline = _defaults(config.get("parameters"))

    def evidence(self) -> Iterator[Evidence]:
        executors = self.config.get("executors") if isinstance(self.config.get("executors"), dict) else {}
        orbs = self.config.get("orbs") if isinstance(self.config.get("orbs"), dict) else {}
        used: set[str] = set()
        jobs = self.config.get("jobs")
        if isinstance(jobs, dict):
            yield from self._jobs(jobs, "jobs", executors, orbs, used, _invocations(self.config.get("workflows")))
        for name, executor in executors.items():
            if name not in used and isinstance(executor, dict):
                yield from self._docker(executor.get("docker"), f"executors.{name}", _defaults(
                    executor.get("parameters")))
        for orb_name, orb in orbs.items():
            if not isinstance(orb, dict):
                continue  # a registry orb (`circleci/node@5`): its contents are not fetched
            orb_executors = orb.get("executors") if isinstance(orb.get("executors"), dict) else {}
            orb_used: set[str] = set()
            if isinstance(orb.get("jobs"), dict):
                yield from self._jobs(orb["jobs"], f"orbs.{orb_name}.jobs", orb_executors, {}, orb_used)
            for name, executor in orb_executors.items():
                if name not in orb_used and isinstance(executor, dict):
                    yield from self._docker(executor.get("docker"), f"orbs.{orb_name}.executors.{name}",
                                            _defaults(executor.get("parameters")))

    def _jobs(self, jobs: dict[str, Any], where: str, executors: dict[str, Any], orbs: dict[str, Any],
              used: set[str], invocations: dict[str, list[dict[str, str]]] | None = None) -> Iterator[Evidence]:
        for name, job in jobs.items():
            if not isinstance(job, dict):
                continue
            defaults = _defaults(job.get("parameters"))
            # each workflow invocation runs the job with its own arguments; uninvoked, with the defaults
            for arguments in (invocations or {}).get(str(name)) or [{}]:
                yield from self._job(name, job, where, {**defaults, **arguments}, executors, orbs, used)

    def _job(self, name: Any, job: dict[str, Any], where: str, params: dict[str, str], executors: dict[str, Any],
             orbs: dict[str, Any], used: set[str]) -> Iterator[Evidence]:
        here = f"{where}.{name}"
        yield from self._docker(job.get("docker"), here, params)
        executor = job.get("executor")
        executor_name = executor.get("name") if isinstance(executor, dict) else executor
        if isinstance(executor_name, str):
            if executor_name in executors:
                used.add(executor_name)
                spec = executors[executor_name]
                if isinstance(spec, dict):
                    args = {k: str(v) for k, v in executor.items() if k != "name"} if isinstance(
                        executor, dict) else {}
                    yield from self._docker(spec.get("docker"), f"{here}.executor {executor_name}",
                                            {**_defaults(spec.get("parameters")), **args})
            elif "/" in executor_name:
                orb = executor_name.split("/", 1)[0]
                reason = (f"executor from orb '{orb}': registry orbs are not fetched offline"
                          if orb in orbs else f"executor from undeclared orb '{orb}'")
                yield Unresolved(executor_name, reason, self.loaded.source(line_of(executor_name)),
                                 f"{here}.executor")
            else:
                yield Unresolved(executor_name, "executor not defined in this file",
                                 self.loaded.source(line_of(executor_name)), f"{here}.executor")
        for index, step in enumerate(as_list(job.get("steps"))):
            if isinstance(step, dict) and "run" in step:
                run = step["run"]
                command = run.get("command") if isinstance(run, dict) else run
                if isinstance(command, str):
                    yield from self._run(command, f"{here}.steps[{index}].run", params, step, run)

    def _run(self, command: str, context: str, params: dict[str, str], step: Any, run: Any) -> Iterator[Evidence]:
        env: dict[str, str] = {}
        for holder in (step, run):
            if isinstance(holder, dict) and isinstance(holder.get("environment"), dict):
                env.update({str(k): str(v) for k, v in holder["environment"].items()
                            if isinstance(v, str | int | float)})

        def lookup(name: str) -> str | None:
            return self.overrides.get(name, env.get(name))

        yield from scan_scripts(self.loaded, command, context, lookup, opaque=_PARAMETER_RE,
                                rewrite=lambda text: self._parameters(text, params)[0])

    def _parameters(self, text: str, params: dict[str, str]) -> tuple[str, list[str]]:
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("pipeline.parameters."):
                value = self.pipeline.get(name.removeprefix("pipeline.parameters."))
            elif name.startswith("parameters."):
                value = params.get(name.removeprefix("parameters."))
            else:
                value = None
            if value is not None and "<<" in value and not name.startswith("pipeline."):
                value, inner = self._parameters(value, {})  # a default may name a pipeline parameter
                value = None if inner else value
            if value is None or "<<" in value:
                missing.append(match.group(0))
                return match.group(0)
            return value

        return _PARAMETER_RE.sub(replace, text), missing

    def _docker(self, docker: Any, where: str, params: dict[str, str]) -> Iterator[Evidence]:
        for index, entry in enumerate(as_list(docker)):
            role = "primary" if index == 0 else "service"
            context = f"{where}.docker[{index}] ({role})"
            value = entry.get("image") if isinstance(entry, dict) else entry
            yield image_value(self.loaded, value, context, lambda text: self._parameters(text, params),
                              line=line_of(value, line_of(entry)))
