"""Turning an image string found in a manifest or values file into one evidence record.

Shared by the Kubernetes, Helm values and Docker inventory parsers: template expressions and unset variables
become `Unresolved` (never guessed), invalid names become `Unresolved` with the engine's reason, the rest an
`ImageReference` carrying its source and context.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from auditor.core.model import ImageReference, Source, Unresolved
from auditor.core.reference import InvalidReference, parse_reference
from parsers.common.interpolate import interpolate, mapping_lookup

# `{{`, then anything but another `{{` or a `}}`, then `}}`. Forbidding the opener inside keeps it linear:
# with `.*?` every `{{` of a line of thousands without a `}}` scanned to the end of the text.
_GO_TEMPLATE = re.compile(r"\{\{(?:(?!\{\{|\}\}).)*+\}\}", re.DOTALL)


def image_record(text: str, source: Source, context: str, variables: dict[str, str] | None = None,
                 template_hint: str = "a Go template expression: render the chart or template first"
                 ) -> ImageReference | Unresolved:
    """One ImageReference for TEXT, or Unresolved saying why it cannot be one."""
    if _GO_TEMPLATE.search(text):
        return Unresolved(text, template_hint, source, context)
    resolved = text
    if "$" in text:
        result = interpolate(text, mapping_lookup(variables or {}), dialect="shell")
        if result.errors:
            return Unresolved(text, "; ".join(result.errors), source, context)
        if result.missing:
            names = ", ".join(sorted(set(result.missing)))
            return Unresolved(text, f"unset variable(s): {names} (give them with --set NAME=VALUE)",
                              source, context)
        resolved = result.text
    try:
        ref = parse_reference(resolved)
    except InvalidReference as exc:
        return Unresolved(text, f"invalid reference: {exc.reason}", source, context)
    return dataclasses.replace(ref, original=text, source=source, context=context)


def scalar_text(mapping: Any, key: str, lines: list[str]) -> str:
    """The value of KEY as written in the file: YAML turns `tag: 1.10` into the float 1.1, and an image tag is
    text, so a number or boolean is read back from its line rather than re-printed. "" when absent."""
    value = mapping.get(key)
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, str):
        return value.strip()
    line_of = getattr(mapping, "line_of", None)
    line = line_of(key) if line_of is not None else None
    if line is not None and 0 < line <= len(lines):
        written = re.search(rf"(?:^|[\s{{,]){re.escape(key)}\s*:\s*([^\s,#}}]+)", lines[line - 1])
        if written:
            return written.group(1)
    return str(value)
