"""Azure Pipelines (`azure-pipelines.yml`, `*.azure-pipelines.yml`, YAML under `.azure-pipelines/`).

Images come from `resources.containers[*].image`, job `container:` (an image, an alias into
`resources.containers`, or `{image:}`), job `services:` (aliases into `resources.containers`), and
`script`/`bash`/`pwsh`/`powershell` steps and inline `Bash@3` tasks. `$(var)` macros and
`${{ variables.x }}`/`${{ parameters.x }}` template expressions resolve from literal `variables:` (mapping or
list of `{name, value}`, pipeline/stage/job level) and parameter defaults; runtime `$[ ... ]` expressions and
variable groups are not known offline. Local `template:` files (steps, jobs, stages, `extends`) are read with
the parameters passed to them; templates from other repositories (`file@repo`) are reported unresolved.
A container's `endpoint` (a service connection) is named in the context: its host is configured in Azure
DevOps, not in the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.core.model import Evidence, InputError, Unresolved
from parsers.common.inputs import InputFile, ParseContext, is_regular_file, read_config_text
from parsers.common.yaml_loader import line_of
from parsers.repo.ci.ci_yaml import (
    YamlFile,
    as_list,
    image_value,
    load_yaml,
    load_yaml_text,
    recovered_images,
    scan_scripts,
)

NAME = "azure_pipelines"

_MACRO_RE = re.compile(r"\$\(([A-Za-z0-9_.-]+)\)")
_TEMPLATE_RE = re.compile(r"\$\{\{\s*(variables|parameters)\.([A-Za-z0-9_.-]+)\s*\}\}|\$\{\{\s*(variables|parameters)"
                          r"\[\s*'([A-Za-z0-9_.-]+)'\s*\]\s*\}\}")
# each body excludes its own opener, so a long line of `$[` or `${{` without a closer is scanned once, not once
# per opener
_UNKNOWN_RE = re.compile(r"\$\[(?:(?!\$\[)[^\]])*+\]|\$\{\{(?:(?!\$\{\{|\}\}).)*+\}\}|\$\([A-Za-z0-9_.-]+\)", re.DOTALL)
_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")
_JOB_CONTAINERS = ("stages", "jobs")
_MAX_TEMPLATE_DEPTH = 20  # Azure DevOps allows 100 template files and 20 levels of nesting


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if not name.endswith((".yml", ".yaml")):
        return False
    if name in ("azure-pipelines.yml", "azure-pipelines.yaml") or name.endswith(
            (".azure-pipelines.yml", ".azure-pipelines.yaml")):
        return True
    path = "/" + inp.display.replace("\\", "/")
    return "/.azure-pipelines/" in path or "/.azuredevops/" in path


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    loaded = load_yaml(inp, NAME)
    ctx.advance(inp.size)
    yield from loaded.errors
    yield from recovered_images(loaded)
    for document in loaded.documents:
        if isinstance(document, dict):
            yield from _Pipeline(loaded, document, ctx.variables, _repository_root(inp)).evidence()


def _repository_root(inp: InputFile) -> Path | None:
    """The directory templates may come from: the repository holding the pipeline file."""
    if inp.display == "<stdin>":
        return None
    for parent in inp.path.absolute().parents:
        if (parent / ".git").exists():
            return parent
    return inp.root.absolute() if inp.root is not None else inp.path.absolute().parent


def _variables(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((item.get("name"), item.get("value")) for item in value if isinstance(item, dict))
    else:
        return out
    for key, item in items:
        if key is None:
            continue
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[str(key)] = str(item)
    return out


def _parameters(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in as_list(value):
        if isinstance(item, dict) and isinstance(item.get("default"), str | int | float):
            out[str(item.get("name"))] = str(item["default"])
    if isinstance(value, dict):  # the older `parameters: {name: default}` form
        out.update({str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)})
    return out


class _Pipeline:
    def __init__(self, loaded: YamlFile, document: dict[str, Any], overrides: dict[str, str],
                 root: Path | None, depth: int = 0) -> None:
        self.loaded = loaded
        self.document = document
        self.overrides = overrides
        self.root = root  # templates are read only from inside this directory
        self.top_dir = Path(loaded.path).parent
        self.depth = depth
        self.parameters = _parameters(document.get("parameters"))
        resources = document.get("resources")
        containers = resources.get("containers") if isinstance(resources, dict) else None
        self.containers: dict[str, Any] = {}
        for item in as_list(containers):
            if isinstance(item, dict) and isinstance(item.get("container"), str):
                self.containers[item["container"]] = item

    def evidence(self) -> Iterator[Evidence]:
        variables = _variables(self.document.get("variables"))
        for alias, item in self.containers.items():
            endpoint = item.get("endpoint")
            note = f" (endpoint {endpoint})" if isinstance(endpoint, str) else ""
            yield self.image(item.get("image"), f"resources.containers[{alias}]{note}", variables, item)
        yield from self.holder(self.document, "", variables)

    def holder(self, node: dict[str, Any], where: str, variables: dict[str, str]) -> Iterator[Evidence]:
        """A pipeline, stage, job or deployment strategy: its container, services, steps and nested jobs."""
        variables = {**variables, **_variables(node.get("variables"))}
        container = node.get("container")
        if container is not None:  # a single-job pipeline may set it at the top
            yield from self.container(container, f"{where}.container" if where else "container", variables)
        services = node.get("services")
        if isinstance(services, dict):
            for name, alias in services.items():
                yield from self.container(alias, f"{where}.services.{name}" if where else f"services.{name}", variables)
        yield from self.steps(node.get("steps"), where or "steps", variables)
        extends = node.get("extends")
        if isinstance(extends, dict) and isinstance(extends.get("template"), str):
            yield from self.template(extends, f"{where + '.' if where else ''}extends", variables)
        for key in _JOB_CONTAINERS:
            for index, child in enumerate(as_list(node.get(key))):
                if isinstance(child, dict) and isinstance(child.get("template"), str):
                    yield from self.template(child, f"{where + '.' if where else ''}{key}[{index}]", variables)
                elif isinstance(child, dict):
                    name = child.get("stage") or child.get("job") or child.get("deployment") or index
                    yield from self.holder(child, f"{where + '.' if where else ''}{key}[{name}]", variables)
        strategy = node.get("strategy")
        if isinstance(strategy, dict):
            yield from self.lifecycle(strategy, f"{where}.strategy", variables, depth=0)

    def lifecycle(self, node: dict[str, Any], where: str, variables: dict[str, str], depth: int
                  ) -> Iterator[Evidence]:
        """Deployment strategies nest hooks (`runOnce.deploy`, `canary.on.failure` ...) that hold steps."""
        for key, value in node.items():
            if not isinstance(value, dict) or depth > 4:
                continue
            if "steps" in value:
                yield from self.holder(value, f"{where}.{key}", variables)
            else:
                yield from self.lifecycle(value, f"{where}.{key}", variables, depth + 1)

    def template(self, reference: dict[str, Any], where: str, variables: dict[str, str]) -> Iterator[Evidence]:
        """A `template:` reference: a local file is read with its parameters; another repository's is not."""
        name = reference["template"]
        source = self.loaded.source(line_of(name))
        context = f"{where}.template"
        if "@" in name:
            yield Unresolved(name, "template from another repository not fetched", source, context)
            return
        target = self._template_path(name)
        if target is None:
            yield Unresolved(name, "template file not found in the repository", source, context)
            return
        if self.depth >= _MAX_TEMPLATE_DEPTH:
            yield InputError(f"{context}: templates nested over {_MAX_TEMPLATE_DEPTH} levels; not read", source)
            return
        display = os.path.normpath(str(target))
        included = InputFile.from_path(target, display=display)
        text, errors = read_config_text(included, NAME)
        yield from errors
        if text is None:
            return
        loaded = load_yaml_text(text, display, NAME)
        yield from loaded.errors
        yield from recovered_images(loaded)
        passed = reference.get("parameters")
        for document in loaded.documents:
            if not isinstance(document, dict):
                continue
            child = _Pipeline(loaded, document, self.overrides, self.root, self.depth + 1)
            child.top_dir = self.top_dir
            child.containers = {**self.containers, **child.containers}
            if isinstance(passed, dict):
                child.parameters.update({str(k): str(v) for k, v in passed.items()
                                         if isinstance(v, str | int | float) and not isinstance(v, bool)})
            for alias, item in child.containers.items():
                if alias not in self.containers:
                    yield child.image(item.get("image"), f"{where}[{name}].resources.containers[{alias}]", variables,
                                      item)
            yield from child.holder(document, f"{where}[{name}]", variables)

    def _template_path(self, name: str) -> Path | None:
        if self.root is None:
            return None
        # `/x.yml` is relative to the repository root; a checkout without .git has only the top file's directory.
        bases = [self.root, self.top_dir] if name.startswith("/") else [Path(self.loaded.path).parent]
        for base in bases:
            target = base / name.lstrip("/")
            try:
                target.resolve().relative_to(self.root.resolve())
            except (ValueError, OSError):
                continue  # a template must not be read from outside the repository
            if is_regular_file(target):
                return target
        return None

    def container(self, value: Any, context: str, variables: dict[str, str]) -> Iterator[Evidence]:
        if isinstance(value, str) and value in self.containers:
            return  # an alias: its image is reported once, from resources.containers
        image = value.get("image") if isinstance(value, dict) else value
        yield self.image(image, context, variables, value)

    def image(self, value: Any, context: str, variables: dict[str, str], holder: Any) -> Evidence:
        def expand(text: str) -> tuple[str, list[str]]:
            return self.expand(text, variables)

        return image_value(self.loaded, value, context, expand, line=line_of(value, line_of(holder)))

    def expand(self, text: str, variables: dict[str, str]) -> tuple[str, list[str]]:
        missing: list[str] = []

        def template(match: re.Match[str]) -> str:
            scope = match.group(1) or match.group(3)
            name = match.group(2) or match.group(4)
            table = self.parameters if scope == "parameters" else variables
            value = self.overrides.get(name, table.get(name))
            if value is None:
                missing.append(match.group(0))
                return match.group(0)
            return value

        def macro(match: re.Match[str]) -> str:
            value = self.overrides.get(match.group(1), variables.get(match.group(1)))
            if value is None:
                missing.append(match.group(0))
                return match.group(0)
            return value

        text = _TEMPLATE_RE.sub(template, text)
        text = _MACRO_RE.sub(macro, text)
        missing.extend(m.group(0) for m in _UNKNOWN_RE.finditer(text) if m.group(0) not in missing)
        return text, missing

    def steps(self, steps: Any, where: str, variables: dict[str, str]) -> Iterator[Evidence]:
        for index, step in enumerate(as_list(steps)):
            if not isinstance(step, dict):
                continue
            here = f"{where}.steps[{index}]" if where != "steps" else f"steps[{index}]"
            if isinstance(step.get("template"), str):
                yield from self.template(step, here, variables)
                continue
            step_vars = {**variables, **_variables(step.get("env"))}
            script = next((step[key] for key in _SCRIPT_KEYS if isinstance(step.get(key), str)), None)
            inputs = step.get("inputs") if isinstance(step.get("inputs"), dict) else {}
            task = str(step.get("task", ""))
            if script is None and task.lower().startswith("bash@") and isinstance(inputs.get("script"), str):
                script = inputs["script"]
            if isinstance(script, str):
                yield from self.script(script, here, step_vars)
            if task.lower().startswith("docker@") and inputs.get("containerRegistry"):
                repo = inputs.get("repository") or ""
                yield Unresolved(f"{inputs['containerRegistry']}/{repo}",
                                 "Docker task: the registry is the service connection's, configured outside the file",
                                 self.loaded.source(line_of(inputs.get("containerRegistry"), line_of(step))),
                                 f"{here}.task {task}")

    def script(self, script: str, here: str, variables: dict[str, str]) -> Iterator[Evidence]:
        # Azure exports variables to the script environment with dots as underscores, upper-cased.
        env = {name.replace(".", "_").upper(): value for name, value in variables.items()}

        def lookup(name: str) -> str | None:
            return self.overrides.get(name, env.get(name, variables.get(name)))

        def rewrite(text: str) -> str:
            return self._substitute(text, variables)

        yield from scan_scripts(self.loaded, script, here, lookup, opaque=_UNKNOWN_RE, rewrite=rewrite)

    def _substitute(self, text: str, variables: dict[str, str]) -> str:
        """Macros and template expressions Azure replaces before the script runs, where their values are known."""

        def replace(match: re.Match[str]) -> str:
            value, missing = self.expand(match.group(0), variables)
            return match.group(0) if missing or "\n" in value else value

        return _UNKNOWN_RE.sub(replace, text)
