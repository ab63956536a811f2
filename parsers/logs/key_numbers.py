"""Numbering a block's keys (requests, messages) for the numpy block paths of the Squid and dnsmasq parsers.

Each distinct key of a file gets the next number the first time it is met, so the Python work of judging a key
is done once per key, and numpy then counts lines per number. Shared so both parsers number the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from itertools import repeat
from typing import Any

from parsers.common.lazy import lazy_module

np = lazy_module("numpy")  # imported on first use: start-up stays fast


def number_keys(ids: dict[Any, int], keys: Sequence[Hashable], on_new: Callable[[Any], None]) -> Any:
    """The number of each of KEYS (an int64 array): a key not in IDS yet is numbered len(IDS) in the order of its
    first place, and ON_NEW(key) is called once for it (the caller appends what it keeps per number)."""
    numbers = np.fromiter(map(ids.get, keys, repeat(-1)), np.int64, len(keys))
    unknown = np.flatnonzero(numbers < 0)
    if len(unknown):
        for key in dict.fromkeys(map(keys.__getitem__, unknown.tolist())):
            ids[key] = len(ids)
            on_new(key)
        numbers[unknown] = np.fromiter(map(ids.__getitem__, map(keys.__getitem__, unknown.tolist())), np.int64,
                                       len(unknown))
    return numbers
