"""The audit document's required hosts as compact rows.

At 10^5 required hosts a dict per host was about 50 MB of an audit, held from the document's making until the
last of the five renderers: the rows keep each host's values as a tuple and make the dict when a renderer reads
one. Nothing here imports a decision: the HTML renderer reads documents parsed from JSON too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload


class Deferred:
    """A row value made when the row is read: the sorted distinct texts of ITEMS, the first LIMIT of them.

    A required host's needs and locations are texts of their own (about 30 MB at 10^5 hosts, held for all five
    renderers), read by one renderer, the JSON, a chunk of rows at a time. The items they are made from, the
    required host's sealed needs and sources, are already in memory when the document is made; held by the row
    after the decisions are let go, they are smaller than their texts."""

    __slots__ = ("items", "limit", "text")

    def __init__(self, items: Sequence[Any], text: Callable[[Any], str], limit: int) -> None:
        self.items = items
        self.text = text
        self.limit = limit

    def value(self) -> list[str]:
        items, text = self.items, self.text
        if len(items) == 1:  # most required hosts: one need, one location
            return [text(items[0])]
        return sorted({text(item) for item in items})[:self.limit]


def _row(keys: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(keys, values, strict=True))
    for key, value in row.items():
        if type(value) is Deferred:
            row[key] = value.value()
    return row


class RequiredRows(Sequence[dict[str, Any]]):
    """The audit document's `required`: one row per required host, held as the tuple of its values (a dict per
    host was about 50 MB of an audit at 10^5 hosts, held for all five renderers) and read as the dict
    required_dict made, each Deferred value made then. Equal to the list of those dicts; `column` reads one
    field of every row."""

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
            return [_row(keys, values) for keys, values in self._rows[index]]
        return _row(*self._rows[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_row(keys, values) for keys, values in self._rows)

    def column(self, key: str) -> Iterator[Any]:
        """KEY's value in every row, without making the rows."""
        for keys, values in self._rows:
            value = values[keys.index(key)]
            yield value.value() if type(value) is Deferred else value

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
