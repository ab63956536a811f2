"""Which file names a parser can claim, compiled into one lookup for the walk (issue 18).

A walk over a checkout meets thousands of files no parser reads (sources, docs, images). Offering each to the
forty-odd detectors of the registration list cost ~150 us a file; a name lookup rejects it before its head is
read. Every registered kind declares its `Claims`: a necessary condition on the file name of what its detect()
accepts (a superset is fine: the detector still decides). Kinds recognized by content under any name (logs, a
capture by its magic, `docker info` output) are `sniffed`: they are candidates for every name except one whose
extension says it is another format (OTHER_FORMATS: a `.py`, a `.png`, a `.md`).

Because the claims are supersets and the candidates are tried in registration order, the first detector that
accepts a file is the one the full chain finds. The one difference: a file found by a walk whose name no kind
claims and whose extension is in OTHER_FORMATS is not read (a README.md quoting a registry error is not a Docker
log; a name some kind claims, such as `Dockerfile.md`, still gets the full chain's answer). A file named on the
command line is always offered to the full chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Compression suffixes detection looks through (InputFile decompresses by magic): `web.dockerfile.gz` is also
# looked up as `web.dockerfile`.
COMPRESSION_EXTENSIONS = frozenset({"gz", "bz2", "xz"})

# Extensions that name a format of their own (source code, documents, media, fonts, archives, binaries, lock
# files): no log, capture or command output found by a walk is stored under them. No kind claims one of them by
# name (a test checks), so a file under one is either read by the full chain as sniffed content or not at all.
OTHER_FORMATS = frozenset({
    # source code
    "py", "pyc", "pyo", "pyi", "pyx", "pxd", "ipynb", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx",
    "vue", "svelte", "go", "rs", "java", "kt", "kts", "scala", "sc", "clj", "cljs", "c", "h", "cc", "cpp",
    "cxx", "hpp", "hh", "hxx", "m", "mm", "swift", "cs", "fs", "vb", "rb", "erb", "php", "pl", "pm", "lua", "r",
    "dart", "ex", "exs", "erl", "hrl", "hs", "elm", "ml", "mli", "zig", "nim", "sql", "proto", "graphql", "gql",
    "css", "scss", "sass", "less", "map",
    # documents and markup
    "md", "markdown", "mdx", "rst", "adoc", "asciidoc", "tex", "html", "htm", "xhtml", "svg", "pdf", "doc",
    "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "epub",
    # images, audio, video, fonts
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "avif", "tif", "tiff", "psd", "xcf", "mp3",
    "mp4", "m4a", "wav", "flac", "ogg", "opus", "webm", "mov", "avi", "mkv", "woff", "woff2", "ttf", "otf",
    "eot",
    # archives and binaries (gz, bz2 and xz are looked through, not refused)
    "zip", "jar", "war", "ear", "whl", "egg", "7z", "rar", "tar", "tgz", "zst", "class", "so", "dylib",
    "dll", "exe", "o", "obj", "a", "lib", "pyd", "wasm", "iso", "dmg", "deb", "rpm", "apk",
    # lock files and checksums
    "lock", "sum",
})

# Case-insensitive regexes (the detectors' name patterns) match these letters to ASCII ones str.lower() keeps:
# folding them keeps every name a pattern accepts a name the lookup finds.
_FOLDS = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": None})
_CACHE_LIMIT = 16_384  # distinct names remembered (a tree repeats `index.js`, `__init__.py`, `README.md`)


@dataclass(frozen=True)
class Claims:
    """The names a kind's detect() can accept, all in lower case.

    names: whole file names; extensions: the part after the last dot (no dot); prefixes: how names start;
    sniffed: also any name whose extension is not in OTHER_FORMATS (the kind is recognized by content).
    """

    names: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    sniffed: bool = False


SNIFFED = Claims(sniffed=True)


def fold_case(text: str) -> str:
    """TEXT in lower case with the letters a case-blind regex matches to ASCII ones folded to them: a case-blind
    match of ASCII text in TEXT is then a plain substring of fold_case(TEXT) (what the name lookup compares, and
    a cheap test before a case-blind regex)."""
    lower = text.lower()
    return lower if lower.isascii() else lower.translate(_FOLDS)


def extension_of(lower: str) -> str:
    _stem, dot, extension = lower.rpartition(".")
    return extension if dot else ""


class NameIndex:
    """The claims of a registration list compiled into dictionaries: `candidates(name)` is the positions (in
    registration order) of the kinds that may accept a file of that name; an entry without claims (None: a
    parser planted by a test) is a candidate for every name."""

    def __init__(self, claims: Sequence[Claims | None]) -> None:
        self._by_name: dict[str, set[int]] = {}
        self._by_extension: dict[str, set[int]] = {}
        self._by_prefix: dict[str, set[int]] = {}
        self._sniffed: set[int] = set()
        self._everywhere: set[int] = set()
        for index, claim in enumerate(claims):
            if claim is None:
                self._everywhere.add(index)
                continue
            for name in claim.names:
                self._by_name.setdefault(fold_case(name), set()).add(index)
            for extension in claim.extensions:
                self._by_extension.setdefault(extension.lower(), set()).add(index)
            for prefix in claim.prefixes:
                self._by_prefix.setdefault(fold_case(prefix), set()).add(index)
            if claim.sniffed:
                self._sniffed.add(index)
        self._prefixes = tuple(self._by_prefix)
        self._cache: dict[str, tuple[int, ...]] = {}

    def candidates(self, name: str) -> tuple[int, ...]:
        try:
            return self._cache[name]
        except KeyError:
            pass
        lower = fold_case(name)
        claimed: set[int] = set()
        extension = self._claim(lower, claimed)
        sniffable = extension not in OTHER_FORMATS
        while extension in COMPRESSION_EXTENSIONS:  # `a.dockerfile.xz.gz` is read through both
            lower = lower[: -len(extension) - 1]
            extension = self._claim(lower, claimed)
        # a name some kind claims gets the whole chain's answer, sniffed kinds included (`Jenkinsfile.py`)
        found = claimed | self._everywhere
        if sniffable or claimed:
            found |= self._sniffed
        value = tuple(sorted(found))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[name] = value
        return value

    def _claim(self, lower: str, claimed: set[int]) -> str:
        """Add the kinds that claim LOWER by name, extension or prefix; return its extension."""
        claimed.update(self._by_name.get(lower, ()))
        extension = extension_of(lower)
        if extension:
            claimed.update(self._by_extension.get(extension, ()))
        if self._prefixes and lower.startswith(self._prefixes):
            for prefix in self._prefixes:
                if lower.startswith(prefix):
                    claimed.update(self._by_prefix[prefix])
        return extension
