"""No cyclic-garbage passes while a decision or its reports build their records.

A decision over 10^5 hosts allocates millions of small objects (needs, chains, tree nodes, report dicts)
while the evidence store's hundreds of thousands of objects stay alive; at CPython's default threshold
(700 allocations) the collector walks those survivors again and again: a third of `propose` at 3x10^4
hosts. A relaxed threshold (10^5) with the objects alive at the start frozen still spent 0.43 s of an audit at
10^5 hosts in 67 passes that found nothing to free, so the collector is paused for the blocks instead (see
fewer_collections). The parsers relax the threshold while they read (parsers/common/inputs.py `bulk_parsing`):
they do make cycles (a decoder's error and its traceback).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


def few_collections(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """FUNCTION run with the collector paused (see fewer_collections)."""
    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with fewer_collections():
            return function(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """few_collections for a block: a generator that renders a big document piece by piece holds it around
    its loop (a decorator would only cover the call that makes the generator).

    The collector is paused while any block runs, in any thread (the collector is the process's): the first
    block to start pauses it and the last to end resumes it, so a block inside another, or one in another
    thread, changes nothing. What the blocks made and kept is then moved to the oldest generation at once
    (`gc.freeze` then `gc.unfreeze`), where a pass would have moved it after walking it. Measured with
    gc.DEBUG_SAVEALL at 10^5 required hosts, the audit's blocks leave no cyclic garbage and the proposal's
    192 objects (template compilation): the passes a relaxed threshold still made there (0.43 s of an audit,
    67 passes) walked only live objects. A cycle made in a block is freed by a later full collection."""
    global _depth, _resume
    with _depth_lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.freeze()
                gc.unfreeze()
                gc.enable()


_depth = 0  # blocks running now, in any thread
_resume = False  # whether the collector ran before the first of them
_depth_lock = threading.Lock()
