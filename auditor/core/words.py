"""Counted nouns in report text: `1 note`, `2 notes`, `1 entry`, `3 entries`, never `attempt(s)`."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"
