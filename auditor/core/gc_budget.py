"""Fewer cyclic-garbage passes while a decision or its reports build their records.

A decision over 10^5 hosts allocates millions of small objects (needs, chains, tree nodes, report dicts)
while the evidence store's hundreds of thousands of objects stay alive; at CPython's default threshold
(700 allocations) the collector walks those survivors again and again: a third of `propose` at 3x10^4
hosts. The objects alive when the block starts are also frozen (`gc.freeze`) for its length, so the passes it
does make walk only what the block made. Cycles are still collected, only less often, and the caller's
threshold is restored after (the same measure the parsers take while they read, parsers/common/inputs.py
`bulk_parsing`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

FEW_COLLECTIONS_THRESHOLD = 100_000  # allocations between two young-generation collections

_P = ParamSpec("_P")
_R = TypeVar("_R")


def few_collections(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """FUNCTION run with the young-generation threshold raised (never lowered: a caller's higher one stays)."""
    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with fewer_collections():
            return function(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """few_collections for a block: a generator that renders a big document piece by piece holds it around
    its loop (a decorator would only cover the call that makes the generator)."""
    old = gc.get_threshold()
    if old[0] >= FEW_COLLECTIONS_THRESHOLD or old[0] == 0:  # already relaxed, or the collector is off
        yield
        return
    gc.set_threshold(FEW_COLLECTIONS_THRESHOLD, *old[1:])
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)
