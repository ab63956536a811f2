"""The fast path for Squid's native access.log: a block's lines cut into fields by numpy, grouped by request.

A line qualifies when it is printable ASCII, starts with its time stamp, has at least seven words and
the shape `_NATIVE` (squid.py) reads: a stamp `\\d+(\\.\\d+)?` of at most 15 digits, then spaces, elapsed
`-?\\d+`, client, `CODE/STATUS`, bytes `-?\\d+`, method and URL, one space between each of those. Those
checks run in numpy over the block (word boundaries from the positions of spaces and newlines, the short
numeric words through fixed-width windows), so no Python runs per line. What varies on every line of a
proxy log (stamp, elapsed, bytes) is read apart; the rest, (client, CODE/STATUS) and (method, URL), is the
request's key, the URL of an http(s) request cut four bytes into its path (its host and whether it calls
/v2/ are all a verdict reads: a log of blob pulls, a new digest on every line, repeats its requests so). Each
part is read through a fixed-width window as 64-bit words (bytes past its end zeroed), hashed and grouped in
numpy, and every line's words are compared with its group's first; a group whose hash a request of an earlier
block had is checked against that request's remembered words, in numpy too, and takes its number. So only the
first line of each new key (or one whose key is wider than the window, or whose hash collides) has its key cut
out as bytes and numbered through a dict; only a new request is looked at in Python (the shape of
CODE/STATUS, the verdict). Per request number, numpy sums the line count,
earliest and latest time and first line across blocks (`RequestMemo.add_lines`), and each request goes into the Batch
once, when the batch flushes or the numbers start over (`settle`), not once per block.

The time stamp's digits are read as one integer N with F digits after the point: N < 2^53 and 10^F are
exact doubles, so N / 10^F is the correctly rounded value of the decimal, the float `float()` reads.

Every other line (a common-log-format line, a damaged one, an empty one, a request whose host is refused)
goes, in line order, through the parser's own `line()`: the errors, their line numbers and the cap on
reported errors stay exactly those of the line-by-line path.
"""

from __future__ import annotations

import functools
import re
from itertools import repeat
from typing import Any

from auditor.core.model import BlockReason, ObservationKind
from parsers.common.lazy import lazy_module
from parsers.logs.key_numbers import number_keys
from parsers.logs.line_reader import FOLD_LIMIT

np = lazy_module("numpy")  # imported on first use: start-up stays fast

# what a request's lines are (squid.py's verdicts); defined here, as squid.py imports this module
IGNORE, BAD, BLOCK, OBSERVE = "ignore", "bad", "block", "observe"
_SquidParser = Any  # squid.py's parser (the type is not imported: squid.py imports this module)

MIN_BYTES = 64 * 1024  # below this a block goes line by line: numpy's set-up would cost more
_CODE_STATUS = re.compile(r"[A-Z_]+/\d{3}")
_WINDOW = 16  # bytes looked at of each numeric word; longer words send their line the slow way
_MAX_DIGITS = 15  # a stamp of at most this many digits is an exact integer in a double
_KEY_LIMIT = 200_000  # distinct requests remembered across blocks
_SLOW = None  # a request whose lines go through `line()`
# widths of the windows the two key parts, (client, CODE/STATUS) and (method, URL), are compared through (multiples
# of 8: a window is hashed as 64-bit words); a wider part has its key cut out as bytes
_KEY_WINDOWS = (64, 128)
_PATH_KEPT = 4  # bytes of an http(s) URL's path a request's key keeps: `/v2/`, all squid.api_path reads
# 64-bit words of each key part a request numbered from its windows is remembered by across blocks (RequestMemo.known):
# 32 bytes of client and CODE/STATUS, 96 of method and URL, 128 bytes a request
_REMEMBERED_WORDS = (4, 12)
_UNHELD, _HELD_BY_ANOTHER = -1, -2  # RequestMemo.known's answers for a representative without a number


def _width(length: np.ndarray) -> int:
    """The window for words of LENGTH: the longest, rounded up to 8 bytes (a window is read as 64-bit words)."""
    return max(8, -(-int(length.max(initial=1)) // 8) * 8)


def _words_at(arr: np.ndarray, start: np.ndarray, length: np.ndarray, width: int) -> np.ndarray:
    """The words at START (each inside ARR for WIDTH bytes) as little-endian 64-bit words, the bytes past each
    one's LENGTH zeroed: the block is printable, so equal word rows are equal words."""
    words = np.lib.stride_tricks.sliding_window_view(arr, width)[start].view("<u8")
    for column in range(width // 8):
        words[:, column] &= _byte_masks()[np.clip(length - 8 * column, 0, 8)]
    return words


@functools.cache
def _byte_masks() -> np.ndarray:
    """Per count of bytes kept (0 to 8), the little-endian mask that keeps them."""
    return np.array([(1 << (8 * kept)) - 1 for kept in range(9)], dtype="<u8")


@functools.cache
def _hash_factors() -> np.ndarray:
    """Fixed odd 64-bit multipliers, one per word of the windows (numpy only when a big block is met): the hash
    only groups lines, every group is then checked byte for byte."""
    return np.array([(0x9E3779B97F4A7C15 * (2 * index + 1) + index) % 2**64 | 1
                     for index in range(max(_KEY_WINDOWS) // 8)], dtype=np.uint64)
_SETTLE_CHUNK = 8192  # requests settled into the batch per slice of the memo's arrays


class RequestMemo:
    """Requests ((client, CODE/STATUS), (method, URL)) numbered once per file, with what their lines are."""

    def __init__(self) -> None:
        self.ids: dict[tuple[bytes, bytes], int] = {}
        # per number: None (_SLOW) or (tag, value, extra, client)
        self.judged: list[tuple[str, str, str, str] | None] = []
        # per number, what its lines since the last `settle` add up to: line count, earliest and latest time,
        # first line; and whether its lines go the slow way (arrays made on first use, grown with the numbers)
        self.counts: np.ndarray | None = None
        self.earliest: np.ndarray | None = None
        self.latest: np.ndarray | None = None
        self.first_lines: np.ndarray | None = None
        self.slow: np.ndarray | None = None
        self._flagged = 0  # numbers whose slow flag is set from `judged`
        # the requests numbered from a window, by their windows' hash, with those windows (the two parts' first
        # 64-bit words, zero-padded to _REMEMBERED_WORDS) per number: a request met again in a later block is found by
        # its hash and checked word for word in numpy, without its key cut out as bytes and looked up (`known`)
        self.by_hash: dict[int, int] = {}
        self.key_words: np.ndarray | None = None

    def slow_flags(self) -> np.ndarray:
        """Per number, whether its lines go through `line()` (numbers judged since the last call added)."""
        size = len(self.judged)
        self._grow(size)
        assert self.slow is not None
        if self._flagged < size:
            self.slow[self._flagged:size] = [judged is _SLOW for judged in self.judged[self._flagged:size]]
            self._flagged = size
        return self.slow

    def _grow(self, size: int) -> None:
        if self.counts is not None and len(self.counts) >= size:
            return
        old = 0 if self.counts is None else len(self.counts)
        grown = max(size, 2 * old, 1024)
        for name, fill, dtype in (("counts", 0, np.int64), ("earliest", np.inf, np.float64),
                                  ("latest", -np.inf, np.float64), ("first_lines", np.iinfo(np.int64).max, np.int64),
                                  ("slow", False, bool)):
            array = np.full(grown, fill, dtype=dtype)
            if old:
                array[:old] = getattr(self, name)
            setattr(self, name, array)

    @property
    def pending(self) -> int:
        """Requests with lines not settled yet."""
        return 0 if self.counts is None else int(np.count_nonzero(self.counts))

    def add_lines(self, numbers: np.ndarray, lines: np.ndarray, times: np.ndarray) -> None:
        """A block's lines (request NUMBERS, LINE numbers in order, TIMES): added up in numpy across blocks with
        unbuffered ufuncs (no sort per block), and folded into the batch once per request when it settles."""
        self._grow(len(self.judged))
        assert self.counts is not None and self.earliest is not None and self.latest is not None
        assert self.first_lines is not None
        np.add.at(self.counts, numbers, 1)
        np.minimum.at(self.earliest, numbers, times)
        np.maximum.at(self.latest, numbers, times)
        np.minimum.at(self.first_lines, numbers, lines)

    def settle(self, parser: _SquidParser) -> None:
        """Fold what the requests' lines added up to into PARSER's batch and stats (before the batch flushes,
        and before the numbers start over)."""
        if self.counts is None:
            return
        stats, batch, judged = parser.stats, parser.batch, self.judged
        pending = np.flatnonzero(self.counts)
        # a slice at a time: five Python lists of 10^5 numbers at once were the peak of a Squid log's parse
        for number, count, line, early, late in (
                row for at in range(0, len(pending), _SETTLE_CHUNK) for part in (pending[at:at + _SETTLE_CHUNK],)
                for row in zip(part.tolist(), self.counts[part].tolist(), self.first_lines[part].tolist(),
                               self.earliest[part].tolist(), self.latest[part].tolist(), strict=True)):
            tag, value, extra, client = judged[number]  # type: ignore[misc]
            if tag is IGNORE:
                stats.ignore(value, count)
            elif tag is BLOCK:
                stats.parsed += count
                batch.block(value, BlockReason.PROXY_DENIED, line, early, client, extra, count=count,
                            last_time=late)
            else:
                stats.parsed += count
                batch.fold_observation((value, ObservationKind.HTTP_HOST, client, None, None, extra), line, early,
                                       late, count)
        self.counts[pending] = 0
        self.earliest[pending], self.latest[pending] = np.inf, -np.inf  # type: ignore[index]
        self.first_lines[pending] = np.iinfo(np.int64).max  # type: ignore[index]

    def number_spans(self, arr: np.ndarray, raw: bytes, spans: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                     parser: _SquidParser) -> np.ndarray:
        """The numbers of the requests at SPANS (starts and ends of the two key parts per line) of the block ARR,
        as `number` gives them for the keys cut out line by line, without a bytes object per line: each key is
        read through a zero-padded fixed-width window (the block's bytes are printable, so the window is the key),
        windows are hashed and grouped in numpy, every line's window is compared byte for byte with its group's
        first, and only the first line of each distinct key (and any line that fails the comparison or whose key
        is wider than the window) has its key cut out. The keys go to `number` in line order, so new requests
        are numbered in the order of their first lines, as before."""
        first_start, first_end, second_start, second_end = spans
        first_length, second_length = first_end - first_start, second_end - second_start
        fits = np.flatnonzero((first_length <= _KEY_WINDOWS[0]) & (second_length <= _KEY_WINDOWS[1]))
        fallback = np.flatnonzero((first_length > _KEY_WINDOWS[0]) | (second_length > _KEY_WINDOWS[1]))
        widths = [_width(first_length[fits]), _width(second_length[fits])]
        # a window must lie inside the block: a key that ends closer than that to its end is cut out instead
        inside = (first_start[fits] + widths[0] <= len(arr)) & (second_start[fits] + widths[1] <= len(arr))
        if not inside.all():
            fallback = np.sort(np.concatenate([fallback, fits[~inside]]))
            fits = fits[inside]
        if len(self.ids) >= _KEY_LIMIT:  # before any number is read: the numbers start over here
            self.settle(parser)
            self.ids.clear()
            self.judged.clear()
            self._flagged = 0
            self.by_hash.clear()
        representatives = fits[:0]
        inverse = fits[:0]
        unique = np.zeros(0, np.uint64)
        known = np.zeros(0, np.int64)
        representative_words: list[np.ndarray] = []
        if len(fits):
            words = [_words_at(arr, start[fits], length[fits], width) for start, length, width in
                     ((first_start, first_length, widths[0]), (second_start, second_length, widths[1]))]
            factors = _hash_factors()
            first_hash, second_hash = ((part * factors[:part.shape[1]]).sum(axis=1, dtype=np.uint64) for part in words)
            hashes = first_hash * np.uint64(0x9E3779B97F4A7C15) + second_hash
            unique, first_of, inverse = np.unique(hashes, return_index=True, return_inverse=True)
            same = np.ones(len(fits), bool)
            for part in words:
                same &= (part == part[first_of[inverse]]).all(axis=1)
            if not same.all():  # the same hash for another key: those lines are numbered one by one
                fallback = np.sort(np.concatenate([fallback, fits[~same]]))
            representatives = fits[first_of]
            representative_words = [part[first_of] for part in words]
            known = self.known(unique, representative_words)
        new = np.flatnonzero(known < 0)  # representatives whose key is cut out: new, or not found by its hash
        cut = np.concatenate([representatives[new], fallback])
        order = np.argsort(cut, kind="stable")
        cut = cut[order]
        piece = raw.__getitem__
        keys = list(zip(map(piece, map(slice, first_start[cut].tolist(), first_end[cut].tolist())),
                        map(piece, map(slice, second_start[cut].tolist(), second_end[cut].tolist())), strict=True))
        cut_numbers = np.empty(len(cut), np.int64)
        cut_numbers[order] = self.number(keys, parser)
        numbers = np.empty(len(first_start), np.int64)
        if len(fits):
            unheld = known[new] == _UNHELD  # not a failed check: no other key holds the hash
            known[new] = cut_numbers[:len(new)]
            self.remember(unique[new][unheld], [part[new][unheld] for part in representative_words],
                          known[new][unheld])
            numbers[fits] = known[inverse]
        numbers[fallback] = cut_numbers[len(new):]
        return numbers

    def known(self, hashes: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
        """The number of each representative whose HASHES is remembered and whose window words (PARTS, per key
        part) are the remembered ones, word for word (zero past a shorter key's end); else _UNHELD (no request has
        the hash) or _HELD_BY_ANOTHER (the check failed)."""
        numbers = np.fromiter(map(self.by_hash.get, hashes.tolist(), repeat(_UNHELD)), np.int64, len(hashes))
        hit = np.flatnonzero(numbers >= 0)
        if len(hit) and self.key_words is not None:
            stored = self.key_words[numbers[hit]]
            same = np.ones(len(hit), bool)
            offset = 0
            for part, room in zip(parts, _REMEMBERED_WORDS, strict=True):
                columns = min(part.shape[1], room)
                same &= (stored[:, offset:offset + columns] == part[hit, :columns]).all(axis=1)
                same &= ~stored[:, offset + columns:offset + room].any(axis=1)
                if part.shape[1] > room:  # a key longer than any remembered one is none of them
                    same &= ~part[hit, room:].any(axis=1)
                offset += room
            numbers[hit[~same]] = _HELD_BY_ANOTHER  # cut out and numbered by its bytes
        return numbers

    def remember(self, hashes: np.ndarray, parts: list[np.ndarray], numbers: np.ndarray) -> None:
        """HASHES (none of them held: a hash another key holds keeps its number) -> NUMBERS, with the window words
        PARTS, for the next blocks: the keys short enough to be held in _REMEMBERED_WORDS (the usual client,
        CODE/STATUS, method and URL; a longer one is cut out in every block, as before)."""
        keep = np.ones(len(hashes), bool)
        for part, room in zip(parts, _REMEMBERED_WORDS, strict=True):
            if part.shape[1] > room:
                keep &= ~part[:, room:].any(axis=1)
        if not keep.any():
            return
        hashes, numbers, parts = hashes[keep], numbers[keep], [part[keep] for part in parts]
        size = int(numbers.max()) + 1
        held = self.key_words
        if held is None or len(held) < size:
            old = 0 if held is None else len(held)
            grown = np.zeros((max(size, old + old // 2, 1024), sum(_REMEMBERED_WORDS)), np.uint64)
            if held is not None:
                grown[:old] = held
            self.key_words = held = grown
        offset = 0
        for part, room in zip(parts, _REMEMBERED_WORDS, strict=True):
            columns = min(part.shape[1], room)
            held[numbers, offset:offset + columns] = part[:, :columns]
            held[numbers, offset + columns:offset + room] = 0
            offset += room
        self.by_hash.update(zip(hashes.tolist(), numbers.tolist(), strict=True))

    def number(self, keys: list[tuple[bytes, bytes]], parser: _SquidParser) -> np.ndarray:
        judged = self.judged
        return number_keys(self.ids, keys, lambda key: judged.append(_judge(key, parser)))


def _judge(key: tuple[bytes, bytes], parser: _SquidParser) -> tuple[str, str, str, str] | None:
    first, second = key[0].decode("ascii"), key[1].decode("ascii")
    client, code_status = first.split(" ")
    if not _CODE_STATUS.fullmatch(code_status):
        return _SLOW
    code, status = code_status.split("/")
    method, url = second.split(" ")
    tag, value, extra = parser.fresh_verdict(code, status, method, url)
    if tag is BAD:
        return _SLOW  # the line-by-line path reports each such line
    return tag, value, extra, client


def _request_ends(arr: np.ndarray, method_start: np.ndarray, method_end: np.ndarray, url_start: np.ndarray,
                  url_end: np.ndarray) -> np.ndarray:
    """Where each request's key (method, URL) ends: _PATH_KEPT bytes into the path of an `http://` or `https://`
    URL (the host ends at the first `/`, `?` or `#`, never after the first `/`, and squid.api_path reads no more of
    the path), else at the URL's end (a CONNECT's target, another scheme). A log of blob pulls names a new URL on
    every line; cut so, its requests repeat."""
    size = len(arr)
    ends = url_end.copy()
    # only a URL starting `h` can be cut, and not a CONNECT's: no seven-letter method starting `C` is (a tunnel's
    # log is all CONNECTs, and the test is one comparison a line)
    maybe = np.flatnonzero((arr[url_start] == 104) & ~((method_end - method_start == 7) & (arr[method_start] == 67)))
    if not len(maybe):
        return ends

    def starts_with(starts: np.ndarray, text: bytes) -> np.ndarray:
        window = arr[np.minimum(starts[:, None] + np.arange(len(text)), size - 1)]
        return (window == np.frombuffer(text, np.uint8)).all(axis=1)

    starts = url_start[maybe]
    http, https = starts_with(starts, b"http://"), starts_with(starts, b"https://")
    cut = maybe[http | https]
    if not len(cut):
        return ends
    host_start = url_start[cut] + np.where(https[http | https], 8, 7)
    slashes = np.flatnonzero(arr == 47)
    at = np.minimum(np.searchsorted(slashes, host_start), len(slashes) - 1)
    first_slash = slashes[at] if len(slashes) else np.full(len(cut), size)
    first_slash = np.where(first_slash >= host_start, first_slash, size)
    ends[cut] = np.minimum(url_end[cut], first_slash + _PATH_KEPT)
    return ends


def _numeric(arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray, minus: bool) -> np.ndarray:
    """Whether each word (START, LENGTH <= _WINDOW) is `-?\\d+` (MINUS) or `\\d+`."""
    width = int(lengths.max(initial=1))
    window = arr[np.minimum(starts[:, None] + np.arange(width), len(arr) - 1)]
    inside = np.arange(width) < lengths[:, None]
    digit = (window >= 48) & (window <= 57)
    if minus:
        digit[:, 0] |= (window[:, 0] == 45) & (lengths >= 2)
    return (digit | ~inside).all(axis=1) & (lengths >= 1)


def _stamps(arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valid, value) of each stamp word `\\d+(\\.\\d+)?` of at most _MAX_DIGITS digits."""
    same = _same_shape_stamps(arr, starts, lengths)
    if same is not None:
        return same
    width = int(np.minimum(lengths, _WINDOW).max(initial=1))
    window = arr[np.minimum(starts[:, None] + np.arange(width), len(arr) - 1)]
    columns = np.arange(width)
    inside = columns < lengths[:, None]
    digit = (window >= 48) & (window <= 57) & inside
    dot = (window == 46) & inside
    dots = dot.sum(axis=1)
    dot_at = np.where(dots == 1, dot.argmax(axis=1), -1)
    valid = ((digit | dot | ~inside).all(axis=1) & (dots <= 1) & (lengths >= 1)
             & (lengths - dots <= _MAX_DIGITS) & (lengths <= _WINDOW)
             & ((dots == 0) | ((dot_at > 0) & (dot_at < lengths - 1))))
    number = np.zeros(len(starts), np.int64)
    values = window.astype(np.int64) - 48
    for column in range(width):
        use = digit[:, column]
        number = np.where(use, number * 10 + values[:, column], number)
    fraction = np.where(dots == 1, lengths - 1 - dot_at, 0)
    return valid, number.astype(np.float64) / np.power(10.0, fraction)


def _same_shape_stamps(arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """The usual block, every stamp of one shape (`1714557600.123`: the same length, the dot at the same place):
    its digits read as one matrix product, not a pass per column; None for any other block. The value is the
    same integer N over 10^F as `_stamps` computes, so the same correctly rounded float."""
    if not len(starts) or not (lengths == lengths[0]).all():
        return None
    length = int(lengths[0])
    if not 1 <= length <= _WINDOW or int(starts.max()) + length > len(arr):
        return None
    window = arr[starts[:, None] + np.arange(length)]
    dots = np.flatnonzero(window[0] == 46)
    if len(dots) > 1 or (len(dots) and not 0 < dots[0] < length - 1):
        return None
    digits = np.delete(window, dots, axis=1).astype(np.int64) - 48
    if len(dots) and not (window[:, dots[0]] == 46).all():
        return None
    if digits.shape[1] > _MAX_DIGITS or not ((digits >= 0) & (digits <= 9)).all():
        return None
    number = digits @ (10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64))
    fraction = length - 1 - int(dots[0]) if len(dots) else 0
    return np.ones(len(starts), bool), number.astype(np.float64) / 10.0 ** fraction


def _words(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(word starts, word ends, newline positions, positions of other bytes outside printable ASCII).
    The usual block has no such bytes: then every byte up to a space is a separator, found in one pass
    over the block, and words are the gaps between separators (work per separator, not per byte)."""
    size = len(arr)
    low = np.count_nonzero(arr < 32)
    separators = np.flatnonzero(arr <= 32)
    newlines = separators[arr[separators] == 10]
    if low == len(newlines) and (not size or arr.max() <= 126):
        odd = separators[:0]
    else:
        odd = np.flatnonzero((arr - np.uint8(32)) > 94)  # below space or above '~' (uint8 wraps)
        odd = odd[arr[odd] != 10]
        separators = np.flatnonzero((arr == 32) | (arr == 10))
    bounds = np.concatenate([[-1], separators, [size]])
    gap = np.flatnonzero(np.diff(bounds) > 1)
    return bounds[gap] + 1, bounds[gap + 1], newlines, odd


def scan_block(parser: _SquidParser, text: str, first_line: int, memo: RequestMemo) -> None:
    """Fold the block TEXT (first line FIRST_LINE) into PARSER's batch and stats, as `line()` per line would."""
    raw = parser.reader.ascii_block
    if raw is None:
        raw = text.encode("utf-8")  # a newline is a newline either way: line numbers stay right
    arr = np.frombuffer(raw, np.uint8)
    size = len(arr)
    word_starts, word_ends, newlines, odd = _words(arr)
    line_count = len(newlines) + 1
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [size]])
    usable = np.ones(line_count, bool)
    if len(odd):
        usable[np.searchsorted(newlines, odd)] = False
    first_word = np.searchsorted(word_starts, starts)
    words = np.searchsorted(word_starts, ends) - first_word
    usable &= words >= 7
    usable &= word_starts[np.minimum(first_word, max(len(word_starts) - 1, 0))] == starts if len(word_starts) else False
    rows = np.flatnonzero(usable)
    first = first_word[rows]
    begin = [word_starts[first + k] for k in range(7)]
    finish = [word_ends[first + k] for k in range(7)]
    ok = np.ones(len(rows), bool)
    for k in range(1, 6):  # one space between elapsed, client, CODE/STATUS, bytes, method and URL
        ok &= begin[k + 1] - finish[k] == 1
    for k in (1, 4):
        length = finish[k] - begin[k]
        ok &= (length <= _WINDOW) & _numeric(arr, begin[k], np.minimum(length, _WINDOW), minus=True)
    stamp_ok, times = _stamps(arr, begin[0], finish[0] - begin[0])
    ok &= stamp_ok
    rows, times = rows[ok], times[ok]
    begin = [b[ok] for b in begin]
    finish = [f[ok] for f in finish]
    request_ends = _request_ends(arr, begin[5], finish[5], begin[6], finish[6])
    numbers = memo.number_spans(arr, raw, (begin[2], finish[3], begin[5], request_ends), parser)
    fast = ~memo.slow_flags()[numbers]
    slow = np.ones(line_count, bool)
    slow[rows[fast]] = False
    rows, times, numbers = rows[fast], times[fast], numbers[fast]
    for row in np.flatnonzero(slow).tolist():  # in line order: errors and their cap as line by line
        line = raw[starts[row]:ends[row]].decode("utf-8")
        if line.strip():
            parser.line(line, first_line + row)
        else:
            parser.stats.ignore("empty line")
    if not len(rows):
        return
    memo.add_lines(numbers, rows + first_line, times)
    if memo.pending >= FOLD_LIMIT:  # into the batch, which then hands its records on as it would line by line
        memo.settle(parser)
