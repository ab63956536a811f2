"""Inputs named by fsspec URL (file://, memory://, s3://, gs://...): copied to a local temporary file, parsed
from there under the URL's name, and the copy removed after.

Both engines read a URL through here: the local engine in this process (`with_urls`, the hook in
`collect`), the Dask engine on a worker (`local_copy`). fsspec is imported only when a URL is given; an
object store's backend (s3fs, gcsfs, adlfs) must be installed where the URL is read (see docs/dask.md).
A URL names one object: prefixes are not listed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from auditor.core.model import InputError, Source
from parsers.common.inputs import InputFile

COPY_BLOCK = 4 * 1024 * 1024
Opened = tuple[InputFile | None, bool, InputError | None]  # as collect.iter_inputs yields them


def is_url(name: str) -> bool:
    return "://" in name


def with_urls(inputs: Iterable[str], local: Callable[[list[str]], Iterator[Opened]]) -> Iterator[Opened]:
    """What LOCAL yields for INPUTS, in their order, a URL opened here instead (always a named input)."""
    for name in inputs:
        if is_url(name):
            yield from open_url(name)
        else:
            yield from local([name])


def open_url(name: str, data: bytes | None = None) -> Iterator[Opened]:
    """The input at URL NAME (DATA: its content, already read), valid until the generator is resumed."""
    try:
        with local_copy(name, data) as path:
            inp = InputFile.from_path(path, display=name)
            yield inp, True, None
    except OSError as exc:
        yield None, True, InputError(f"cannot read: {exc.strerror or exc}", Source(name))


@contextlib.contextmanager
def local_copy(name: str, data: bytes | None = None) -> Iterator[Path]:
    """URL NAME copied to a temporary file (removed after), with the object's modification time when the
    store gives one (a syslog stamp's year is read from it); OSError when the URL cannot be read."""
    handle, temp = tempfile.mkstemp(prefix="regaudit-url-")
    try:
        try:
            with os.fdopen(handle, "wb") as out:
                if data is not None:
                    out.write(data)
                else:
                    import fsspec

                    with fsspec.open(name, "rb") as src:
                        while block := src.read(COPY_BLOCK):
                            out.write(block)
                    _keep_mtime(name, temp)
        except (ValueError, ImportError) as exc:  # an unknown protocol, a missing fsspec backend (s3fs, gcsfs)
            raise OSError(str(exc)) from None
        yield Path(temp)
    finally:
        os.unlink(temp)


def _keep_mtime(name: str, temp: str) -> None:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(name)
        moment = fs.modified(path)
    except (NotImplementedError, OSError, ValueError, KeyError, AttributeError):
        return  # a store that keeps no modification time: the copy's own is used
    os.utime(temp, (moment.timestamp(), moment.timestamp()))
