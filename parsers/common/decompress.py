"""The guard around every decompressed input: codec errors become one exception, expansion is capped.

gzip, bz2 and xz each fail in their own way (`zlib.error`, `OSError`, `EOFError`, `lzma.LZMAError`); a parser
must not need to know them all, and one it forgot ended whole runs. `GuardedStream` turns every one of them
into `DecompressionError` (an `OSError`, so the readers' existing handlers catch it), saying how far the
content was good.

A decompression bomb (a few MB on disk expanding to gigabytes of newlines) is refused once the content
passes both a floor (small files may expand a lot) and a ratio to the compressed size, or an absolute size
whatever the ratio. Real logs and captures compress 3:1 to 30:1; the ratio leaves them far below the cap.
"""

from __future__ import annotations

import io
import lzma
import zlib
from typing import BinaryIO

# Decompressed bytes always allowed, whatever the ratio (a small file may compress very well).
EXPANSION_FLOOR = 256 * 1024 * 1024
# Past the floor: decompressed content may reach this many times the file's size on disk.
MAX_RATIO = 100
# Past this the content is refused whatever the ratio.
MAX_EXPANDED = 32 * 1024 * 1024 * 1024
_CHUNK = 1024 * 1024
_CODEC_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError)


class DecompressionError(OSError):
    """The compressed content is corrupt, truncated, or expands past the cap; what came before was good."""


class ExpansionLimit(DecompressionError):
    """The content expands past the cap (a decompression bomb, most likely)."""


def expansion_limit(compressed_size: int) -> int:
    return min(MAX_EXPANDED, max(EXPANSION_FLOOR, MAX_RATIO * compressed_size))


class GuardedStream(io.RawIOBase):
    """A decompressing binary stream that counts what it yields and speaks one error."""

    def __init__(self, inner: BinaryIO, codec: str, compressed_size: int, limit: int | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._codec = codec
        self._compressed_size = compressed_size
        self._limit = expansion_limit(compressed_size) if limit is None else limit
        self.produced = 0

    # -- the accounting ---------------------------------------------------------------------------

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self._limit:
            ratio = self.produced // max(1, self._compressed_size)
            raise ExpansionLimit(
                f"{self._codec} content expands past {self._limit:,} bytes ({ratio:,} times its "
                f"{self._compressed_size:,} bytes on disk; the cap is {MAX_RATIO}x past "
                f"{EXPANSION_FLOOR // (1024 * 1024)} MiB, at most {MAX_EXPANDED // (1024 ** 3)} GiB): refused as a "
                "likely decompression bomb")
        return data

    def _call(self, method: str, *args: int) -> bytes:
        try:
            data = getattr(self._inner, method)(*args)
        except DecompressionError:
            raise
        except _CODEC_ERRORS as exc:
            raise DecompressionError(
                f"corrupt or truncated {self._codec} data after {self.produced:,} good bytes "
                f"({type(exc).__name__}: {exc})") from exc
        return self._count(data)

    # -- the stream face --------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        return self._call("read", size)

    def readall(self) -> bytes:
        # in chunks, so the cap is checked before a bomb is held whole in memory
        pieces = []
        while piece := self._call("read", _CHUNK):
            pieces.append(piece)
        return b"".join(pieces)

    def read1(self, size: int = -1) -> bytes:
        return self._call("read1", _CHUNK if size is None or size < 0 else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        # a line without an end is read in bounded pieces (the caller sees a long partial line, not a hang)
        return self._call("readline", _CHUNK if size is None or size < 0 else size)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()
