"""Google Cloud Build configuration (`cloudbuild.yaml`, `cloudbuild.yml`, `cloudbuild.json`, and
`cloudbuild-NAME.yaml` / `NAME.cloudbuild.yaml` variants): the builder images its steps run and the images it pushes.

What is a reference (context in brackets):
- `steps[].name` (`steps[ID].name`): each step runs in that container image, pulled by the Cloud Build worker
  (a name without a registry comes from Docker Hub, as Cloud Build documents);
- `images[]` (`images (pushed)`): Cloud Build pushes these after the steps, so their registry needs access too
  (Renovate's extractor reports only the steps: it looks for versions to update, not registries to allow).
Substitutions: user substitutions (`_NAME`) take their defaults from the file's `substitutions:` block, and
`--set NAME=VALUE` overrides them like `gcloud builds submit --substitutions`; built-in ones (`$PROJECT_ID`,
`$COMMIT_SHA` ...) are only known when the build runs, so a reference using one is Unresolved unless given.
Invalid YAML is an InputError naming its line; the other documents are still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlProblem, iter_documents

NAME = "cloudbuild"

_NAME_RE = re.compile(r"^(?:cloudbuild(?:[._-][\w.-]*)?|[\w.-]+[._-]cloudbuild)\.(?:ya?ml|json)$", re.IGNORECASE)
_CONTENT_RE = re.compile(rb"^[ \t]*[\"']?steps[\"']?[ \t]*:", re.MULTILINE)


def detect(inp: InputFile) -> bool:
    return bool(_NAME_RE.match(inp.name)) and bool(_CONTENT_RE.search(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    for item in iter_documents(text):  # JSON is YAML: one loader reads both
        if isinstance(item, YamlProblem):
            yield inp.error(f"{item.message} (in document {item.number}, starting at line {item.start})",
                            line=item.line or item.start, parser=NAME)
            continue
        if isinstance(item.value, dict):
            yield from build_images(inp, ctx, item.value)


def build_images(inp: InputFile, ctx: ParseContext, build: dict[Any, Any]) -> Iterator[Evidence]:
    variables = _substitutions(build)
    variables.update(ctx.variables)
    steps = build.get("steps")
    if steps is not None and not isinstance(steps, list):
        yield inp.error("steps is not a list", line=build.line_of("steps"), parser=NAME)
        steps = []
    for position, step in enumerate(steps or []):
        if not isinstance(step, dict) or "name" not in step:
            continue
        name = step["name"]
        step_id = step.get("id")
        label = step_id if isinstance(step_id, str) and step_id else str(position)
        line = getattr(name, "line", None) or step.line_of("name")
        if not isinstance(name, str) or not name.strip():
            yield inp.error(f"steps[{label}].name is not an image name ({name!r})", line=line, parser=NAME)
            continue
        yield image_record(name.strip(), inp.source(line=line, parser=NAME), f"steps[{label}].name", variables)
    pushed = build.get("images")
    if isinstance(pushed, list):
        for image in pushed:
            if isinstance(image, str) and image.strip():
                line = getattr(image, "line", None) or build.line_of("images")
                yield image_record(image.strip(), inp.source(line=line, parser=NAME), "images (pushed)", variables)


def _substitutions(build: dict[Any, Any]) -> dict[str, str]:
    block = build.get("substitutions")
    if not isinstance(block, dict):
        return {}
    return {str(key): str(value) for key, value in block.items()
            if isinstance(key, str) and isinstance(value, (str, int, float)) and not isinstance(value, bool)}
