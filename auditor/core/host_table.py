"""Columnar tables for the evidence store's per-host aggregates and its timeline of connection starts.

A resolver log or an all-DNS capture names hundreds of thousands of hosts, and a fleet's evidence 10^5 required
ones: one Python object per host, with a dict of kinds and a tuple per timeline event, cost about 800 bytes a
host. Here a host is a row number (`HostTable._ids`: the one dict entry a host needs), its numbers sit in typed
arrays (8 bytes each), and what varies in shape (clients, kinds, rcodes, source samples) is held in its
smallest form: nothing, one bare value, or a container made only for the second distinct one. The timeline is
four parallel columns (24 bytes and one kind byte per event, not an 80-byte tuple).

Readers keep their interface: `store.activity` is a mapping of host -> HostActivity, where a HostActivity is
a light view of one row (made on access, reading and writing the columns), and `store.timeline` iterates,
slices and compares as the list of (time, client, host, kind) tuples it was.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# The row views are auditor.core.evidence.HostActivity, which sets this (the evidence module imports this one, not
# the other way round): a row view is `HostActivity` as far as readers know.
HostActivity = Any

_NONE = math.nan  # a missing time in a float column (no real timestamp is NaN)


def _time(value: float) -> float | None:
    return None if value != value else value  # NaN is the one value not equal to itself


def _copied(held: Any) -> Any:
    """A held value no other row shares: sets, dicts and lists are copied, bare values are immutable."""
    return held.copy() if isinstance(held, set | dict | list) else held


class HostTable:
    """host -> HostActivity, stored by column. Iteration is in insertion order (where each host was first seen),
    as the dict it replaces."""

    __slots__ = (
        "_ids",
        "api_calls",
        "clients",
        "count",
        "first",
        "hosts",
        "kinds",
        "last",
        "overflow",
        "rcodes",
        "sources",
    )

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.hosts: list[str] = []
        self.count = array("q")
        self.first = array("d")
        self.last = array("d")
        self.api_calls = array("q")  # HTTP requests with a /v2/ path
        self.overflow = bytearray()  # 1: more clients than `clients` holds
        self.clients: list[Any] = []  # None, one client as a str, or a set of them
        # None (no observation yet), the one kind seen (all of `count`), or a dict kind -> count from the second
        self.kinds: list[Any] = []
        self.rcodes: dict[int, dict[str, int]] = {}  # row -> responses per rcode, for the few rows with any
        self.sources: list[Any] = []  # None, one Source, or a list of the first few

    # -- rows ------------------------------------------------------------------------------------------

    def row(self, host: str) -> int | None:
        return self._ids.get(host)

    def new_row(self, host: str) -> int:
        row = self._ids[host] = len(self.hosts)
        self.hosts.append(host)
        self.count.append(0)
        self.first.append(_NONE)
        self.last.append(_NONE)
        self.api_calls.append(0)
        self.overflow.append(0)
        self.clients.append(None)
        self.kinds.append(None)
        self.sources.append(None)
        return row

    view_of: Callable[[HostTable, int], Any]  # set by auditor.core.evidence: HostActivity.of_row

    def view(self, row: int) -> HostActivity:
        return HostTable.view_of(self, row)

    # -- the mapping readers use ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.hosts)

    def __contains__(self, host: object) -> bool:
        return host in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.hosts)

    def keys(self) -> Iterator[str]:
        return iter(self.hosts)

    def get(self, host: str, default: Any = None) -> Any:
        row = self._ids.get(host)
        return default if row is None else self.view(row)

    def __getitem__(self, host: str) -> HostActivity:
        row = self._ids.get(host)
        if row is None:
            raise KeyError(host)
        return self.view(row)

    def __setitem__(self, host: str, activity: HostActivity) -> None:
        """HOST's row set to ACTIVITY's values (a view of another table's row, as the merge of stores gives)."""
        row = self._ids.get(host)
        if row is None:
            row = self.new_row(host)
        self.count[row] = activity.count
        self.first[row] = _NONE if activity.first is None else activity.first
        self.last[row] = _NONE if activity.last is None else activity.last
        self.api_calls[row] = activity.registry_api_calls
        self.overflow[row] = 1 if activity.clients_overflow else 0
        self.clients[row] = _copied(activity.held_clients)
        self.kinds[row] = _copied(activity.held_kinds)
        rcodes = activity.held_rcodes
        if rcodes:
            self.rcodes[row] = dict(rcodes)
        else:
            self.rcodes.pop(row, None)
        self.sources[row] = _copied(activity.held_sources)

    def values(self) -> Iterator[HostActivity]:
        return (self.view(row) for row in range(len(self.hosts)))

    def items(self) -> Iterator[tuple[str, HostActivity]]:
        return ((host, self.view(row)) for row, host in enumerate(self.hosts))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HostTable):
            return list(self.items()) == list(other.items())
        if isinstance(other, dict):
            return list(self.items()) == list(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HostTable({len(self)} hosts)"

    def time_span(self) -> tuple[float | None, float | None]:
        """The earliest first time and the latest last time of all rows (a row without a last time counts its
        first), read off the columns: no row view made per host."""
        firsts = [value for value in self.first if value == value]  # NaN (no time) is not equal to itself
        lasts = [late if late == late else early for early, late in zip(self.first, self.last, strict=True)]
        lasts = [value for value in lasts if value == value]
        return (min(firsts) if firsts else None), (max(lasts) if lasts else None)

    def first_time(self, row: int) -> float | None:
        return _time(self.first[row])

    def last_time(self, row: int) -> float | None:
        return _time(self.last[row])


_KIND_CODES: dict[str, int] = {}
_KINDS: list[str] = []


def _kind_code(kind: str) -> int:
    code = _KIND_CODES.get(kind)
    if code is None:
        code = _KIND_CODES[kind] = len(_KINDS)
        _KINDS.append(kind)
    return code


class Timeline:
    """The connection starts, (time, client, host, kind) in arrival order, as columns: times in a float array,
    clients and hosts as references to the strings the store already holds, the kind as one byte."""

    __slots__ = ("clients", "hosts", "kinds", "times")

    def __init__(self, events: Iterable[tuple[float, str, str, str]] = ()) -> None:
        self.times = array("d")
        self.clients: list[str] = []
        self.hosts: list[str] = []
        self.kinds = bytearray()
        self.extend(events)

    def append(self, event: tuple[float, str, str, str]) -> None:
        time, client, host, kind = event
        self.times.append(time)
        self.clients.append(client)
        self.hosts.append(host)
        self.kinds.append(_kind_code(kind))

    def extend(self, events: Iterable[tuple[float, str, str, str]]) -> None:
        if isinstance(events, Timeline):
            self.times.extend(events.times)
            self.clients.extend(events.clients)
            self.hosts.extend(events.hosts)
            self.kinds.extend(events.kinds)
            return
        for event in events:
            self.append(event)

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[tuple[float, str, str, str]]:
        kinds = _KINDS
        return ((time, client, host, kinds[code])
                for time, client, host, code in zip(self.times, self.clients, self.hosts, self.kinds, strict=True))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            part = Timeline()
            part.times = self.times[index]
            part.clients = self.clients[index]
            part.hosts = self.hosts[index]
            part.kinds = self.kinds[index]
            return part
        return (self.times[index], self.clients[index], self.hosts[index], _KINDS[self.kinds[index]])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timeline | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Timeline({len(self)} events)"

    def __reduce__(self) -> tuple[Any, ...]:
        # by value, kinds as their names: the byte codes are this process's own (a Dask worker's may differ)
        return (Timeline, (list(self),))
