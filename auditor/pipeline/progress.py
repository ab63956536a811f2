"""A byte-based progress bar on standard error, shown only when it is a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType

# Small inputs finish before a bar would be readable; it would only flicker.
MIN_BYTES_FOR_BAR = 8 * 1024 * 1024
REDRAW_SECONDS = 0.2


class Progress:
    def __init__(self, label: str, total: int, enabled: bool | None = None) -> None:
        self.label = label if len(label) <= 40 else "…" + label[-39:]
        self.total = max(total, 1)
        wanted = sys.stderr.isatty() if enabled is None else enabled
        self.enabled = wanted and total >= MIN_BYTES_FOR_BAR
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= REDRAW_SECONDS:
            self._last_draw = now
            self._draw(now)

    def step(self, nbytes: int) -> None:
        """Advance by NBYTES and redraw at once: a bar fed by task completions (a few, each worth showing)."""
        self.done += nbytes
        if self.enabled:
            self._last_draw = time.monotonic()
            self._draw(self._last_draw)

    def _draw(self, now: float) -> None:
        fraction = min(self.done / self.total, 1.0)
        width = 30
        filled = int(fraction * width)
        rate = self.done / max(now - self.started, 1e-6) / 1e6
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{fraction * 100:5.1f}% {rate:7.1f} MB/s")
        sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()
