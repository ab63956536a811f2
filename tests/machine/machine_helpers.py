"""Helpers the machine-bundle parser tests share: run a file through detection and its parser, pick records."""

from __future__ import annotations

from pathlib import Path

from auditor.core.model import Evidence, InputError, MachineSetting
from parsers import parser_for
from parsers.common.inputs import InputFile, ParseContext
from tests.conftest import FIXTURES

MACHINE = FIXTURES / "machine"
BUNDLES = MACHINE / "bundles"


def parse_detected(path: Path) -> tuple[str | None, list[Evidence]]:
    """The kind parser_for picks for PATH and what that parser yields (the way the collector runs it)."""
    inp = InputFile.from_path(path)
    spec = parser_for(inp)
    if spec is None:
        return None, []
    return spec.name, list(spec.parse(inp, ParseContext()))


def settings(items: list[Evidence]) -> dict[str, MachineSetting]:
    return {i.key: i for i in items if isinstance(i, MachineSetting)}


def errors(items: list[Evidence]) -> list[tuple[int | None, str]]:
    return [(i.source.line, i.message) for i in items if isinstance(i, InputError)]
