"""Writing what a command produces: to a file, or to standard output for `-`, with one clear error on failure."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

STDIO = "-"


def _regular_file_offset() -> int | None:
    """Where standard output stands in its file when it is a regular file opened for writing without O_APPEND
    (`> file`, not `>> file`, whose offset says nothing of where its text starts), else None."""
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        import fcntl  # not on Windows: there standard output is always collected first

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            return None
        sys.stdout.flush()
        return os.lseek(fd, 0, os.SEEK_CUR)
    except (OSError, ValueError, AttributeError, ImportError):  # no descriptor (a test's capture), a closed one
        return None


def _write_restartable(handle: TextIO, pieces: Iterable[str], start: int) -> None:
    """Each piece written as it comes; at a Restart (what was written is void: the whole text follows) HANDLE is
    cut back to START, where the text began."""
    from reports.json_text import Restart

    for piece in pieces:
        if isinstance(piece, Restart):
            handle.flush()
            handle.seek(start)
            handle.truncate()
        handle.write(piece)


class OutputError(Exception):
    """An output could not be written; the message names it and the path, for a person."""


def write_output(text: str | list[str] | Iterator[str], target: str | Path | None, what: str = "output") -> None:
    """TEXT to TARGET: a path (parent directories made), or standard output when TARGET is None or `-`. TEXT may
    be a list of pieces, written one by one, never joined or encoded whole; or an iterator of them as they are made
    (reports/json_text.iter_indented_pieces), each written and let go: a file is started over at a Restart piece,
    and so is standard output redirected to one (`> file`); a pipe or terminal gets the pieces collected first."""
    from reports.json_text import settled

    pieces: Iterable[str] = [text] if isinstance(text, str) else text
    if target is None or str(target) == STDIO:
        start = None if isinstance(pieces, list) else _regular_file_offset()
        if start is None:  # a pipe or a terminal cannot be started over: the pieces are collected first
            if not isinstance(pieces, list):
                pieces = settled(pieces)
            for piece in pieces:
                sys.stdout.write(piece)
        else:  # `> report.json`: written as made, like a named file (the text of a fleet is 100 MB)
            _write_restartable(sys.stdout, pieces, start)
        sys.stdout.flush()
        return
    path = Path(target)
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            _write_restartable(handle, pieces, 0)
    except OSError as exc:
        raise OutputError(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None
