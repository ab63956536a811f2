"""Images that well-known CI actions pull on their own (`docker/setup-qemu-action` pulls `tonistiigi/binfmt`,
`docker/setup-buildx-action` a BuildKit image), from the sourced table in parsers/repo/data/ci_actions.yaml."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from parsers.common.yaml_loader import load_documents


@dataclass(frozen=True)
class ImplicitPull:
    image: str  # as the action would pull it (input value or documented default)
    given: bool  # whether the workflow named it (an input) rather than the action's default
    note: str  # how it was decided, for the record's context
    line: int | None = None  # the input's line when the workflow named it; else the caller uses the `uses:` line


@functools.cache
def _table() -> dict[str, dict[str, Any]]:
    text = resources.files("parsers.repo").joinpath("data/ci_actions.yaml").read_text(encoding="utf-8")
    [document] = list(load_documents(text))
    return {entry["action"].lower(): entry for entry in document["actions"]}


def implicit_pull(action: str, inputs: dict[str, Any]) -> ImplicitPull | None:
    """The image ACTION (`owner/name`, no ref) pulls with these `with:` INPUTS, or None."""
    entry = _table().get(action.lower())
    if entry is None:
        return None
    skip = entry.get("skip_when")
    if isinstance(skip, dict):
        value = inputs.get(skip["input"], skip.get("default"))
        if isinstance(value, str) and value.strip() in skip.get("values", []):
            return None
    spec = entry["image"]
    default = str(spec["default"])  # a plain str: the table's own line numbers must not reach a record
    if "input" in spec:
        given = inputs.get(spec["input"])
        if isinstance(given, str) and given.strip():
            return ImplicitPull(given.strip(), True, f"input {spec['input']}", getattr(given, "line", None))
        return ImplicitPull(default, False, f"the action's default {spec['input']}")
    options = inputs.get(spec["option_input"])
    if isinstance(options, str):
        for option in re.split(r"[\n,]", options):
            key, _, value = option.strip().partition("=")
            if key.strip() == spec["option"] and value.strip():
                return ImplicitPull(value.strip(), True, f"{spec['option_input']} {spec['option']}=")
    return ImplicitPull(default, False, f"the action's default {spec['option']}")
