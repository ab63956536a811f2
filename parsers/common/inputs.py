"""Opening inputs: files or standard input, gzip/bz2/xz decompressed transparently, read by streaming."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from auditor.core.model import Evidence, InputError, Source
from parsers.common.decompress import DecompressionError, GuardedStream

HEAD_BYTES = 64 * 1024
# Repository configuration files bigger than this are refused: no real Dockerfile, compose or CI file
# is this large, and a hostile one must not make a YAML or regex pass run for minutes.
MAX_CONFIG_BYTES = 16 * 1024 * 1024

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


# allocations between two young-generation collections while parsing (CPython's default: 700)
BULK_GC_THRESHOLD = 100_000


@contextmanager
def bulk_parsing() -> Iterator[None]:
    """Fewer cyclic-garbage passes while inputs are parsed. A large log allocates millions of short-lived
    tuples and lists while tens of thousands of folded records stay alive; at CPython's default threshold
    the collector walks those survivors again and again (a fifth of a dns.log parse). Cycles are still
    collected, only less often; the old threshold is restored after."""
    old = gc.get_threshold()
    gc.set_threshold(BULK_GC_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _compression_of(first: bytes) -> str | None:
    for magic, name in _MAGIC:
        if first.startswith(magic):
            return name
    return None


def _open_decompressed(path: Path, compression: str | None) -> BinaryIO:
    if compression is None:
        return open(path, "rb")
    return open_compressed(path, compression)


def open_compressed(path: Path, compression: str) -> BinaryIO:
    """PATH decompressed as COMPRESSION (gzip, bz2, xz) behind the guard every input read goes through."""
    import bz2  # the codecs only when a compressed input is met (start-up: issue 13)
    import gzip
    import lzma

    openers = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
    return GuardedStream(openers[compression](path, "rb"), compression, path.stat().st_size)  # type: ignore[return-value]


@dataclass
class InputFile:
    """One input as the parsers see it: a display name, its decompressed head, and a way to stream it.

    `path` is the file on disk (for standard input, a spooled temporary copy); `display` is what
    messages and sources name. `head` holds up to HEAD_BYTES of decompressed content for detection.
    """

    path: Path
    display: str
    size: int
    head: bytes
    compression: str | None = None
    root: Path | None = None  # the directory the walk started from, when the file came from a walk
    # views of the head computed once per file, shared by every detector that asks (see `memo`)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_path(cls, path: Path, display: str | None = None, root: Path | None = None) -> InputFile:
        # one open for the common case (not compressed): the head read is the size check and the magic check
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            head = raw.read(HEAD_BYTES)
        compression = _compression_of(head[:8])
        if compression is not None:
            try:
                with _open_decompressed(path, compression) as stream:
                    head = stream.read(HEAD_BYTES)
            except DecompressionError:
                # A corrupt archive is reported by the parser that reads it; detection sees raw bytes.
                compression = None
        return cls(path=path, display=display or str(path), size=size, head=head,
                   compression=compression, root=root)

    @classmethod
    def unopened(cls, path: Path, display: str, root: Path) -> InputFile:
        """A file a walk found under a name no parser claims (parsers.may_claim_walked): its kind is None whatever
        it holds, so it is not opened (no head, size unknown: 0)."""
        return cls(path=path, display=display, size=0, head=b"", root=root)

    @classmethod
    def from_stdin(cls, spool_dir: str | None = None) -> InputFile:
        """Copy standard input to a temporary file so it can be detected, then streamed like any file."""
        import shutil
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="regaudit-stdin-", dir=spool_dir, delete=False) as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, 1024 * 1024)
        return cls.from_path(Path(spool.name), display="<stdin>")

    def open(self) -> BinaryIO:
        """A fresh binary stream over the decompressed content."""
        return _open_decompressed(self.path, self.compression)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """COMPUTE() the first time KEY is asked for on this file, the same value after: detection tries some
        forty kinds on every file of a walk, and each decoded or split the same head again (issue 18)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    @property
    def name(self) -> str:
        try:
            return self._memo["name"]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo["name"] = self.path.name if self.display != "<stdin>" else "<stdin>"
            return value

    @property
    def lower_name(self) -> str:
        """The file name in lower case (detectors compare suffixes and names case-insensitively)."""
        return self.memo("lower_name", lambda: self.name.lower())  # type: ignore[no-any-return]

    @property
    def looks_binary(self) -> bool:
        """NUL bytes in the head: not a text file (a text parser must not try it)."""
        try:
            return self._memo["binary"]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo["binary"] = b"\x00" in self.head[:8192]
            return value

    @property
    def head_text(self) -> str:
        """The head decoded as UTF-8, undecodable bytes replaced (decoded once per file)."""
        return self.memo("head_text", lambda: self.head.decode("utf-8", "replace"))  # type: ignore[no-any-return]

    def source(self, line: int | None = None, packet: int | None = None, parser: str = "") -> Source:
        return Source(path=self.display, line=line, packet=packet, parser=parser)

    def error(self, message: str, line: int | None = None, packet: int | None = None,
              parser: str = "") -> InputError:
        return InputError(message=message, source=self.source(line, packet, parser))


def decode_text(data: bytes) -> tuple[str, bool]:
    """Decode DATA as UTF-8 (BOM stripped); undecodable bytes become U+FFFD. Returns (text, had_errors)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def read_config_text(inp: InputFile, parser: str, keep_binary: bool = False
                     ) -> tuple[str | None, list[InputError]]:
    """Read a repository configuration file as text, or say why not (too large, binary, undecodable).

    With `keep_binary`, NUL bytes do not refuse the file: the parser meets the junk where it is (and names
    that line), and the readable rest is still used.
    """
    errors: list[InputError] = []
    if inp.size > MAX_CONFIG_BYTES and inp.compression is None:
        return None, [inp.error(
            f"file is {inp.size} bytes, over the {MAX_CONFIG_BYTES} byte limit for a {parser} file; skipped",
            parser=parser)]
    if inp.looks_binary and not keep_binary:
        return None, [inp.error(f"binary content (NUL bytes) in a {parser} file; skipped", parser=parser)]
    with inp.open() as stream:
        data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        return None, [inp.error(
            f"content over the {MAX_CONFIG_BYTES} byte limit for a {parser} file; skipped", parser=parser)]
    text, had_errors = decode_text(data)
    first_nul = text.find("\x00")
    if first_nul >= 0:
        errors.append(inp.error("binary content (NUL bytes) from this line; the readable rest is still used",
                                line=text.count("\n", 0, first_nul) + 1, parser=parser))
    if had_errors:
        bad_line = text[: text.index("\ufffd")].count("\n") + 1
        errors.append(inp.error("undecodable bytes (not UTF-8) replaced with U+FFFD", line=bad_line,
                                parser=parser))
    return text, errors


def is_regular_file(path: Path) -> bool:
    """Path.is_file() for a name taken from an input: a name too long (or otherwise unusable) is no file,
    where Path.is_file raises OSError (ENAMETOOLONG) and lost the file that named it."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ParseContext:
    """What a parser may know beyond its own file.

    `variables`: values given with `--set VAR=VALUE` (they override `.env` files and Dockerfile ARG
    defaults, like `--build-arg`). `env_files`: files given with `--env-file`. `advance(n)`: report n
    more bytes read, for the progress bar. `values_files`: Helm values files given with `--values`, applied
    in order over every chart found (as `helm install -f`).
    """

    variables: dict[str, str] = field(default_factory=dict)
    env_files: list[Path] = field(default_factory=list)
    advance: Callable[[int], None] = lambda _n: None
    values_files: list[Path] = field(default_factory=list)


ParseFunction = Callable[[InputFile, ParseContext], Iterator[Evidence]]
