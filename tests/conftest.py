"""Shared test helpers. Fixtures live beside the tests that use them, under tests/fixtures/<kind>/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.core.model import Evidence
from parsers.common.inputs import InputFile, ParseContext

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).parent.parent
SHARED = REPO_ROOT.parent / "shared"


def run_parser(parse, path: Path, variables: dict[str, str] | None = None) -> list[Evidence]:  # type: ignore[no-untyped-def]
    """Run one parser module's parse() over PATH, the way the collector does."""
    inp = InputFile.from_path(path)
    ctx = ParseContext(variables=dict(variables or {}))
    items: Iterator[Evidence] = parse(inp, ctx)
    return list(items)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
