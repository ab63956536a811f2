"""The audit document's required hosts as compact rows.

At 10^5 required hosts a dict per host was about 50 MB of an audit, held from the document's making until the
last of the five renderers: the rows keep each host's values as a tuple and make the dict when a renderer reads
one. Nothing here imports a decision: the HTML renderer reads documents parsed from JSON too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload


class RequiredRows(Sequence[dict[str, Any]]):
    """The audit document's `required`: one row per required host, held as the tuple of its values (a dict per
    host was about 50 MB of an audit at 10^5 hosts, held for all five renderers) and read as the dict
    required_dict made. Equal to the list of those dicts; `column` reads one field of every row."""

    __slots__ = ("_keys", "_rows")

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}  # the few key layouts, each held once
        self._rows: list[tuple[tuple[str, ...], tuple[Any, ...]]] = []
        for row in rows:
            layout = tuple(row)
            self._rows.append((self._keys.setdefault(layout, layout), tuple(row.values())))

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [dict(zip(keys, values, strict=True)) for keys, values in self._rows[index]]
        keys, values = self._rows[index]
        return dict(zip(keys, values, strict=True))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(keys, values, strict=True)) for keys, values in self._rows)

    def column(self, key: str) -> Iterator[Any]:
        """KEY's value in every row, without making the rows."""
        return (values[keys.index(key)] for keys, values in self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RequiredRows | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RequiredRows({len(self)} hosts)"


def required_column(rows: Sequence[dict[str, Any]], key: str) -> Iterator[Any]:
    """KEY of every row of a document's `required` (RequiredRows, or the list a parsed JSON report holds)."""
    return rows.column(key) if isinstance(rows, RequiredRows) else (row[key] for row in rows)
