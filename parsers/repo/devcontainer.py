"""Dev Container configuration (`.devcontainer/devcontainer.json`, `.devcontainer.json`,
`.devcontainer/<name>/devcontainer.json`): the image a dev container starts from and the features it installs.

What is a reference (context in brackets):
- `image` (`image`): pulled by the devcontainer CLI, VS Code or Codespaces;
- each key of `features` (`features["ID"]`): a feature is an OCI artifact (`ghcr.io/devcontainers/features/go:1`)
  pulled from its registry like an image, so it needs the same allowlisting. A key starting with `./` or `../`
  is a local folder, and one starting with `https://` a tarball download (a HostReference to its host, as for
  `ADD <url>`); a key without a registry (`docker-in-docker`, the deprecated short form) is Unresolved:
  the CLI maps it from a table of its own.
Variables: `${localEnv:NAME}` (and `${localEnv:NAME:default}`) come from `--set NAME=VALUE`, never from the
process environment; `${templateOption:X}` (a dev container template) and the runtime variables leave the
reference Unresolved.
`build.dockerfile` and `dockerComposeFile` name files the directory walk reads with their own parsers.
The file is JSON with comments (JSONC): `//` and `/* */` comments and trailing commas are accepted, the way the
devcontainer CLI reads it. A syntax error is an InputError naming its line; what was read before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from auditor.core.model import Evidence, HostPurpose, HostReference, Unresolved
from parsers.common.image_text import image_record
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.json_positions import load_json

NAME = "devcontainer"

_NAME_RE = re.compile(r"^\.?devcontainer\.json$", re.IGNORECASE)
# One pass over the text: a string is kept whole, a comment blanked, a comma before a closing bracket dropped.
# Every alternative consumes what it matched (an unterminated comment runs to the end), so the scan is linear.
_JSONC_TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|//[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?|,(?=\s*[}\]])')
_SHORT_FEATURE = ("a feature id without a registry (deprecated short form): the devcontainer CLI maps it from "
                  "its own table; write the OCI reference (ghcr.io/devcontainers/features/NAME:VERSION)")


def detect(inp: InputFile) -> bool:
    return bool(_NAME_RE.match(inp.name))


def strip_jsonc(text: str) -> str:
    """TEXT as plain JSON: comments become spaces (newlines kept, so lines stay), trailing commas go."""
    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith('"'):
            return token
        if token == ",":
            return " "
        return re.sub(r"[^\n]", " ", token)
    return _JSONC_TOKEN_RE.sub(blank, text)


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    if not text.strip():
        return
    result = load_json(strip_jsonc(text))
    if result.error:
        yield inp.error(f"{result.error}; the settings before it are still used", line=result.error_line,
                        parser=NAME)
    config = result.value
    if config is None:
        return
    if not isinstance(config, dict):
        yield inp.error("not a JSON object: devcontainer.json holds one object of settings", line=1, parser=NAME)
        return
    yield from _image(inp, ctx, config)
    yield from _features(inp, ctx, config)


_VARIABLE_RE = re.compile(r"\$\{([A-Za-z]+)(?::([^}:]*))?(?::([^}]*))?\}")


def _expanded(text: str, ctx: ParseContext) -> tuple[str | None, str]:
    """TEXT with the spec's variables: `${localEnv:NAME}` / `${localEnv:NAME:default}` from `--set NAME=VALUE`
    (the process environment is never read); `${templateOption:X}` is filled in only when a template is applied,
    and the other variables only when the container runs: (None, why) for those."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        kind, name, default = match.group(1), match.group(2) or "", match.group(3)
        if kind == "localEnv" and name:
            value = ctx.variables.get(name, default)
            if value is not None:
                return value
            problems.append(f"unset local environment variable {name} (give it with --set {name}=VALUE)")
        elif kind == "templateOption":
            problems.append(f"a dev container template option ({name}), filled in when the template is applied")
        else:
            problems.append(f"${{{kind}}} is only known when the dev container runs")
        return match.group(0)

    result = _VARIABLE_RE.sub(replace, text)
    return (None, "; ".join(problems)) if problems else (result, "")


def _record(text: str, source: Any, context: str, ctx: ParseContext) -> Evidence:
    expanded, why = _expanded(text, ctx)
    if expanded is None:
        return Unresolved(text, why, source, context)
    return image_record(expanded, source, context)


def _image(inp: InputFile, ctx: ParseContext, config: dict[str, Any]) -> Iterator[Evidence]:
    image = config.get("image")
    if image is None:
        return
    line = getattr(image, "line", None) or config.line_of("image")  # type: ignore[attr-defined]
    if not isinstance(image, str) or not image.strip():
        yield inp.error(f"image is not an image name ({image!r})", line=line, parser=NAME)
        return
    yield _record(image.strip(), inp.source(line=line, parser=NAME), "image", ctx)


def _features(inp: InputFile, ctx: ParseContext, config: dict[str, Any]) -> Iterator[Evidence]:
    features = config.get("features")
    if features is None:
        return
    if not isinstance(features, dict):
        yield inp.error("features is not an object (feature id -> options)", line=config.line_of("features"),  # type: ignore[attr-defined]
                        parser=NAME)
        return
    for key in features:
        if not isinstance(key, str):
            continue
        feature = key.strip()
        line = features.line_of(key)  # type: ignore[attr-defined]
        source = inp.source(line=line, parser=NAME)
        context = f'features["{feature}"]'
        if not feature or feature.startswith(("./", "../")):
            continue  # a feature in the repository itself: nothing to pull
        if feature.lower().startswith(("https://", "http://")):
            host = urlsplit(feature).hostname
            if host:
                yield HostReference(host, HostPurpose.ADD_URL, feature, source, context + " (tarball)")
            continue
        first, _, rest = feature.partition("/")
        if not rest or not ("." in first or ":" in first or first == "localhost"):
            yield Unresolved(feature, _SHORT_FEATURE, source, context)
            continue
        yield _record(feature, source, context, ctx)
