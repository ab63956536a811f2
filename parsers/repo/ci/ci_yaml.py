"""Pieces every CI-file parser shares: loading YAML with clear errors, turning image values and script
lines into evidence, and salvaging `image:` lines from a file whose YAML is broken."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.core.model import Evidence, InputError, Source, Unresolved
from parsers.common.inputs import InputFile, read_config_text
from parsers.common.interpolate import Lookup
from parsers.common.yaml_loader import YamlBomb, line_of, load_documents, yaml_error_line, yaml_error_text
from parsers.repo.shell import image_evidence, scan_script

# An expansion turns a value as written into (text, what could not be resolved).
Expand = Callable[[str], tuple[str, list[str]]]

_BLOCK_INDICATOR_RE = re.compile(r"[|>][-+0-9]*\s*(?:#.*)?$")
_RECOVER_RE = re.compile(r"""^\s*(?:-\s+)?(?:image|name|uses|pipe)\s*:\s*(["']?)([^\s"'#]+)\1\s*(?:#.*)?$""")
_IMAGE_KEY_RE = re.compile(r"^\s*(?:-\s+)?image\s*:\s*(?:#.*)?$")
_LEFTOVER_VARIABLE_RE = re.compile(r"\$\{[^}]*\}?|\$[A-Za-z_][A-Za-z0-9_]*")
_BOMB_LINE_RE = re.compile(r"line (\d+)")


def literal_expand(text: str) -> tuple[str, list[str]]:
    return text, []


@dataclass
class YamlFile:
    """A CI file as loaded: its documents, the errors met, and what it says about itself for messages."""

    path: str
    parser: str
    text: str = ""
    documents: list[Any] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    failed_from_line: int | None = None  # the YAML broke; lines from here on were not loaded

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def source(self, line: int | None) -> Source:
        return Source(path=self.path, line=line, parser=self.parser)


def load_yaml_text(text: str, path: str, parser: str, loader: Callable[[str], Iterator[Any]] = load_documents
                   ) -> YamlFile:
    loaded = YamlFile(path=path, parser=parser, text=text)
    try:
        for document in loader(text):
            loaded.documents.append(document)
    except YamlBomb as exc:
        match = _BOMB_LINE_RE.search(str(exc))
        line = int(match.group(1)) if match else None
        loaded.errors.append(InputError(str(exc), loaded.source(line)))
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        loaded.errors.append(InputError(yaml_error_text(exc), loaded.source(line)))
        loaded.failed_from_line = _document_start(text, line or 1)
    except RecursionError:
        loaded.errors.append(InputError("invalid YAML: nesting too deep", loaded.source(None)))
    return loaded


def load_yaml(inp: InputFile, parser: str, loader: Callable[[str], Iterator[Any]] = load_documents
              ) -> YamlFile:
    """Read and load INP; every problem is an InputError in the result, never an exception."""
    text, errors = read_config_text(inp, parser)
    if text is None:
        return YamlFile(path=inp.display, parser=parser, errors=list(errors))
    loaded = load_yaml_text(text, inp.display, parser, loader)
    loaded.errors[:0] = errors
    return loaded


def _document_start(text: str, error_line: int) -> int:
    """The first line of the YAML document holding ERROR_LINE (after the last `---` before it)."""
    start = 1
    for number, line in enumerate(text.splitlines()[:error_line], start=1):
        if line.startswith("---"):
            start = number + 1
    return start


def recovered_images(loaded: YamlFile, keys: Iterable[str] = ("image",)) -> Iterator[Evidence]:
    """Image values on `image:`-like lines of the part of a broken file that could not be loaded.

    A YAML syntax error loses its whole document; these lines are still what the pipeline would pull.
    """
    if loaded.failed_from_line is None:
        return
    wanted = set(keys)
    after_image_key = False  # `name:` only names an image right under a bare `image:` key
    for number, line in enumerate(loaded.lines[loaded.failed_from_line - 1:], start=loaded.failed_from_line):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        under_image, after_image_key = after_image_key, bool(_IMAGE_KEY_RE.match(line))
        match = _RECOVER_RE.match(line)
        if match is None:
            continue
        key = line.split(":", 1)[0].strip().lstrip("-").strip()
        if key not in wanted or (key == "name" and not under_image):
            continue
        value = match.group(2)
        if key in ("uses", "pipe"):
            if not value.startswith("docker://"):
                continue
            value = value.removeprefix("docker://")
        context = f"{key} (recovered from invalid YAML)"
        if "$" in value or "{{" in value or "<<" in value:
            yield Unresolved(value, "unresolved: variable in a line recovered from invalid YAML",
                             loaded.source(number), context)
        else:
            yield image_evidence(value, loaded.source(number), context)


def image_value(loaded: YamlFile, value: Any, context: str, expand: Expand = literal_expand,
                line: int | None = None) -> Evidence:
    """Evidence for an image value as written in a CI file."""
    where = line if line is not None else line_of(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        kind = "nothing" if value is None else type(value).__name__
        return InputError(f"{context}: expected an image name, found {kind}", loaded.source(where))
    text = str(value).strip()
    expanded, missing = expand(text)
    if not missing:
        # A variable the CI system does not expand in this field reaches the engine as written.
        missing = _LEFTOVER_VARIABLE_RE.findall(expanded)
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        return Unresolved(text, f"unresolved: {names}", loaded.source(where), context)
    if not expanded.strip():
        return Unresolved(text, "empty image name", loaded.source(where), context)
    return image_evidence(expanded.strip(), loaded.source(where), context)


def script_lines(value: Any) -> Iterator[Any]:
    """The strings of a script value: one string, or a list (nested lists come from YAML anchors/!reference)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from script_lines(item)


def script_start_line(loaded: YamlFile, value: Any) -> int:
    """The line of a script string's first character: a block scalar (`|`, `>`) starts below its key."""
    line = line_of(value, 1) or 1
    lines = loaded.lines
    if 0 < line <= len(lines) and _BLOCK_INDICATOR_RE.search(lines[line - 1]):
        return line + 1
    return line


def scan_scripts(loaded: YamlFile, value: Any, context: str, lookup: Lookup,
                 opaque: re.Pattern[str] | None = None,
                 rewrite: Callable[[str], str] | None = None) -> Iterator[Evidence]:
    """Container commands in a script value; the lines of one list share the shell's assignments."""
    assigned: dict[str, str | None] = {}
    for item in script_lines(value):
        text = rewrite(item) if rewrite is not None else item
        yield from scan_script(text, script_start_line(loaded, item), loaded.source, lookup, context,
                               opaque=opaque, assigned=assigned)


def literal_variables(mapping: Any) -> dict[str, str]:
    """Variables whose values are literal scalars (strings, numbers, booleans as YAML wrote them)."""
    out: dict[str, str] = {}
    if not isinstance(mapping, dict):
        return out
    for key, value in mapping.items():
        if isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[str(key)] = str(value)
    return out


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
