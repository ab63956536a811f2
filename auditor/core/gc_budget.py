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
import threading
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
    its loop (a decorator would only cover the call that makes the generator).

    A block inside another freezes again at its start: what the outer block made so far (the redirect graph,
    when the required hosts start) is then not walked by the inner block's passes either. Only the outermost
    block unfreezes and restores the threshold, so an inner one ending does not thaw what the outer froze."""
    global _depth
    old = gc.get_threshold()
    if old[0] == 0:  # the collector is off
        yield
        return
    with _depth_lock:
        outermost = _depth == 0
        _depth += 1
        if outermost:
            gc.set_threshold(max(old[0], FEW_COLLECTIONS_THRESHOLD), *old[1:])
        gc.freeze()
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if outermost:
                gc.unfreeze()
                gc.set_threshold(*old)


_depth = 0  # blocks open now, in any thread: the freeze is the process's, so is the count
_depth_lock = threading.Lock()
