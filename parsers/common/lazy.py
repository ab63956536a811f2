"""Modules imported on first use: numpy costs 0.13 s of start-up that `regaudit --version` or a
Dockerfile-only `discover` never needs. `np = lazy_module("numpy")` at the top of a parser keeps its code
as written; the first attribute read imports the module, later reads go straight to it."""

from __future__ import annotations

from types import ModuleType
from typing import Any


class _LazyModule:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = __import__(self._name, fromlist=["__name__"])  # counted by -X importtime
        return getattr(module, attribute)


def lazy_module(name: str) -> Any:
    """A stand-in for module NAME that imports it on the first attribute read."""
    return _LazyModule(name)
