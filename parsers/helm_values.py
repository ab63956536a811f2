"""PLACEHOLDER: not yet written (its owner replaces this whole file)."""

from collections.abc import Iterator

from auditor.model import Evidence
from parsers._io import InputFile, ParseContext

NAME = "helm_values"


def detect(inp: InputFile) -> bool:
    return False


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return iter(())
