"""Writing what a command produces: to a file, or to standard output for `-`, with one clear error on failure."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

STDIO = "-"


class OutputError(Exception):
    """An output could not be written; the message names it and the path, for a person."""


def write_output(text: str | list[str] | Iterator[str], target: str | Path | None, what: str = "output") -> None:
    """TEXT to TARGET: a path (parent directories made), or standard output when TARGET is None or `-`. TEXT may
    be a list of pieces, written one by one, never joined or encoded whole; or an iterator of them as they are made
    (reports/json_text.iter_indented_pieces), each written and let go: a file is started over at a Restart piece,
    standard output (which cannot be) gets the pieces collected first."""
    from reports.json_text import Restart, settled

    pieces: Iterable[str] = [text] if isinstance(text, str) else text
    if target is None or str(target) == STDIO:
        if not isinstance(pieces, list):
            pieces = settled(pieces)
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    path = Path(target)
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for piece in pieces:
                if isinstance(piece, Restart):  # what was written is void: the whole text follows
                    handle.seek(0)
                    handle.truncate()
                handle.write(piece)
    except OSError as exc:
        raise OutputError(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None
