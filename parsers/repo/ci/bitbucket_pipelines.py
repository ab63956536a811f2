"""Bitbucket Pipelines (`bitbucket-pipelines.yml`).

Images come from the top-level `image` (string or `{name: ...}`), each step's `image`,
`definitions.services.*.image`, `pipe: docker://IMAGE`, and `script`/`after-script` lines. When a step runs
without any image, Bitbucket uses its documented default build image `atlassian/default-image:latest`.
A pipe named `owner/pipe:version` is a repository on bitbucket.org whose `pipe.yml` names the image to run
(Atlassian's pipes use `bitbucketpipelines/*` on Docker Hub); it is reported unresolved, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, Unresolved
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.interpolate import interpolate
from parsers.common.yaml_loader import line_of
from parsers.repo.ci.ci_yaml import YamlFile, as_list, image_value, load_yaml, recovered_images, scan_scripts

NAME = "bitbucket_pipelines"

DEFAULT_IMAGE = "atlassian/default-image:latest"  # support.atlassian.com, "Docker image options"
# Runners that execute on the host, with no build container.
_SHELL_RUNNERS = frozenset({"linux.shell", "windows", "macos"})
_PIPELINE_GROUPS = ("default", "branches", "tags", "bookmarks", "pull-requests", "custom")


def detect(inp: InputFile) -> bool:
    return inp.name.lower() in ("bitbucket-pipelines.yml", "bitbucket-pipelines.yaml")


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    loaded = load_yaml(inp, NAME)
    ctx.advance(inp.size)
    yield from loaded.errors
    yield from recovered_images(loaded, ("image", "name", "pipe"))
    for document in loaded.documents:
        if isinstance(document, dict):
            yield from _Pipelines(loaded, document, ctx.variables).evidence()


class _Pipelines:
    def __init__(self, loaded: YamlFile, document: dict[str, Any], overrides: dict[str, str]) -> None:
        self.loaded = loaded
        self.document = document
        self.overrides = overrides
        self.steps_without_image: list[Any] = []
        self.seen: set[int] = set()  # the step mappings a pipeline runs (YAML aliases share one mapping)

    def expand(self, text: str) -> tuple[str, list[str]]:
        result = interpolate(text, self.overrides.get, dialect="shell")
        return result.text, [f"${name}" for name in result.missing] + result.errors

    def evidence(self) -> Iterator[Evidence]:
        top = self.document.get("image")
        if top is not None:
            yield self.image(top, "image")
        definitions = self.document.get("definitions")
        services = definitions.get("services") if isinstance(definitions, dict) else None
        if isinstance(services, dict):
            for name, service in services.items():
                if isinstance(service, dict) and service.get("image") is not None:
                    yield self.image(service["image"], f"definitions.services.{name}.image")
                # A `type: docker` service without an image is Bitbucket's own Docker-in-Docker daemon.
        pipelines = self.document.get("pipelines")
        if isinstance(pipelines, dict):
            for group in _PIPELINE_GROUPS:
                value = pipelines.get(group)
                if group == "default":
                    yield from self.items(value, "pipelines.default")
                elif isinstance(value, dict):
                    for name, items in value.items():
                        yield from self.items(items, f"pipelines.{group}.{name}")
        # Step definitions no pipeline here uses may still be imported by another repository (`export: true`).
        steps = definitions.get("steps") if isinstance(definitions, dict) else None
        for index, item in enumerate(as_list(steps)):
            step = item.get("step") if isinstance(item, dict) else None
            if isinstance(step, dict) and id(step) not in self.seen and step.get("image") is not None:
                yield self.image(step["image"], f"definitions.steps[{index}].step.image (not used by a pipeline here)")
        if top is None and self.steps_without_image:
            first = self.steps_without_image[0]
            yield self.image(DEFAULT_IMAGE, "image (Bitbucket default: no image set)", line=line_of(first))

    def image(self, value: Any, context: str, line: int | None = None) -> Evidence:
        name = value.get("name") if isinstance(value, dict) else value
        return image_value(self.loaded, name, context, self.expand, line=line or line_of(name, line_of(value)))

    def items(self, items: Any, where: str) -> Iterator[Evidence]:
        for index, item in enumerate(as_list(items)):
            if not isinstance(item, dict):
                continue
            here = f"{where}[{index}]"
            if isinstance(item.get("step"), dict):
                yield from self.step(item["step"], f"{here}.step")
            parallel = item.get("parallel")
            if isinstance(parallel, dict):  # `parallel: {fail-fast: true, steps: [...]}`
                parallel = parallel.get("steps")
            if parallel is not None:
                yield from self.items(parallel, f"{here}.parallel")
            stage = item.get("stage")
            if isinstance(stage, dict):
                yield from self.items(stage.get("steps"), f"{here}.stage")

    def step(self, step: dict[str, Any], where: str) -> Iterator[Evidence]:
        self.seen.add(id(step))
        if step.get("image") is not None:
            yield self.image(step["image"], f"{where}.image")
        elif not _SHELL_RUNNERS.intersection(str(label) for label in as_list(step.get("runs-on"))):
            self.steps_without_image.append(step)
        for key in ("script", "after-script"):
            for index, line in enumerate(as_list(step.get(key))):
                here = f"{where}.{key}[{index}]"
                if isinstance(line, dict) and "pipe" in line:
                    yield from self.pipe(line["pipe"], here)
                elif isinstance(line, str):
                    yield from scan_scripts(self.loaded, line, here, self.overrides.get)

    def pipe(self, value: Any, where: str) -> Iterator[Evidence]:
        if not isinstance(value, str):
            yield image_value(self.loaded, value, f"{where}.pipe")
            return
        if value.startswith("docker://"):
            yield image_value(self.loaded, value.removeprefix("docker://"), f"{where}.pipe", self.expand,
                              line=line_of(value))
            return
        yield Unresolved(value, "Bitbucket pipe: its image is named in the pipe's pipe.yml on bitbucket.org, "
                                "not read offline", self.loaded.source(line_of(value)), f"{where}.pipe")
