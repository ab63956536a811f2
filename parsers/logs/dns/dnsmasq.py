"""dnsmasq and Pi-hole query logs (`log-queries`, `log-queries=extra`).

Line shapes (dnsmasq src/cache.c log_query(); Pi-hole FTL adds its block lines):
    May 19 15:36:12 dnsmasq[11633]: query[A] name from 10.0.0.5          -> dns-query (client 10.0.0.5)
    May 19 15:36:12 dnsmasq[11633]: forwarded name to 1.1.1.1            -> ignored: our own upstream lookup
    May 19 15:36:12 dnsmasq[11633]: reply name is <CNAME>                -> cname to the next reply's name
    May 19 15:36:12 dnsmasq[11633]: reply name is 1.2.3.4                -> dns-answer (also cached, config,
                                                                            /etc/hosts and other files)
    May 19 15:36:12 dnsmasq[11633]: reply name is NXDOMAIN               -> dns-answer with rcode NXDOMAIN
    May 19 15:36:12 dnsmasq[11633]: gravity blocked name is 0.0.0.0      -> blocked attempt (dns-firewall)
    log-queries=extra inserts "<serial> <client>/<port> " before the verb.
Pi-hole block lines: `gravity blocked`, `regex blacklisted|denied`, `exactly blacklisted|denied`,
`special domain`, and older `/etc/pihole/gravity.list` or `black.list` answers. A plain NXDOMAIN is
not a block: only these explicit signals are.

Time stamps are syslog-style: no year (taken from the file's modification time, see _common) and no
zone (read as UTC). Pi-hole v6 / ISO stamps are read with their zone.

Speed: a block of lines is cut into messages (what follows `dnsmasq[pid]: `) in C (`str.partition` over
`map`); each distinct message is numbered, split and judged once per file, and numpy counts the lines of
each number and finds its first and last line, so only distinct messages are looked at in Python. The
prefix (stamp and `dnsmasq[pid]:` tag) is checked on the first line of each distinct message per block,
so a corrupt line that carries a valid message after a damaged stamp counts as parsed, with the times of
its neighbours. `<CNAME>` replies are paired with the line after them by pairs of message numbers, also
counted in numpy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

from auditor.core.model import BlockReason, Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.lazy import lazy_module
from parsers.logs.key_numbers import number_keys
from parsers.logs.line_reader import (
    MAX_LINE_BYTES,
    Batch,
    Clock,
    LineStats,
    LogReader,
    head_lines,
    host_name,
    id_spans,
    is_ip,
    preview,
)

np = lazy_module("numpy")  # imported on first use: start-up stays fast

NAME = "dnsmasq"

_TIME = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_PREFIX = re.compile(rf"({_TIME}) (?:[^ ]+ )?(?:dnsmasq|pihole-FTL)\[[^\]]*\]: ")
_DETECT = re.compile(
    _PREFIX.pattern + r"(?:\d+ \S+/\d+ )?(?:query\[|forwarded |reply |cached |config |gravity blocked )")
_TAG_END = "]: "

_ANSWER_SOURCES = frozenset({"reply", "cached", "cached-stale", "config"})
_BLOCK_SOURCES = frozenset({
    "gravity blocked", "regex blacklisted", "exactly blacklisted", "regex denied", "exactly denied",
    "special domain", "blacklisted", "blocked",
})
_TWO_WORD_FIRST = frozenset(source.split()[0] for source in _BLOCK_SOURCES if " " in source)
_BLOCK_FILES = ("gravity.list", "black.list", "blacklist.txt", "regex.list")
_VERBS = frozenset({"from", "to", "is"})
_NEGATIVE = frozenset({"NXDOMAIN", "NODATA", "NODATA-IPv4", "NODATA-IPv6", "SERVFAIL", "REFUSED", "NOERROR"})
_CNAME = "<CNAME>"
_CNAME_END = " is " + _CNAME
PAIR_WINDOW = 8  # lines to look ahead/back for the line that completes a pair (interleaved queries)
_MEMO_LIMIT = 100_000  # distinct messages remembered across blocks (each ~0.5 KB with its verdict: a flood of new
# names holds this many; 200,000 put the 2 M-line flood of benchmarks.scale at 332 MB, this 286 MB)
_LATER = object()  # a time not converted yet


@dataclass(frozen=True, slots=True)
class Entry:
    """The message part of a query-log line, split: `[serial client/port] source name verb dest`."""

    source: str
    name: str
    verb: str
    dest: str
    serial: str = ""
    client: str = ""


def split_message(message: str) -> Entry | None:
    parts = message.split(" ")
    serial = client = ""
    if len(parts) > 4 and parts[0].isdigit() and "/" in parts[1]:
        serial, client = parts[0], parts[1].rsplit("/", 1)[0]
        parts = parts[2:]
    if len(parts) >= 4 and parts[2] in _VERBS:
        return Entry(parts[0], parts[1], parts[2], parts[3], serial, client)
    if len(parts) >= 5 and parts[3] in _VERBS and parts[0] in _TWO_WORD_FIRST:
        return Entry(f"{parts[0]} {parts[1]}", parts[2], parts[3], parts[4], serial, client)
    return None


def cut_splits_pair(lines: Sequence[str], at: int) -> bool:
    """Whether a parse of LINES[:at] and LINES[at:] apart would lose a pairing a parse of LINES makes: a `<CNAME>`
    reply before AT whose target (the first answer within PAIR_WINDOW lines after it, as `_Block.cnames` takes
    it) is at AT or later, or a block line from AT on whose client (the query within PAIR_WINDOW lines before it,
    as `_Block.blocks` takes it) is before AT. LINES: at least the PAIR_WINDOW lines either side of AT (fewer
    only at the file's ends), as the parser sees them (decoded, no line end)."""
    messages = [line.partition(_TAG_END)[2] for line in lines]  # as `_Block` cuts them
    entries = [split_message(message) for message in messages]
    for index in range(max(at - PAIR_WINDOW, 0), at):
        entry = entries[index]
        if entry is None or not messages[index].endswith(_CNAME_END):
            continue
        for ahead in range(index + 1, min(index + 1 + PAIR_WINDOW, len(lines))):
            target = entries[ahead]
            if target is not None and target.verb == "is" and not (entry.serial and target.serial != entry.serial):
                if ahead >= at:
                    return True
                break
    for index in range(at, min(at + PAIR_WINDOW, len(lines))):
        entry = entries[index]
        if entry is None or entry.client or _classify(entry) != "block":
            continue
        for back in range(index - 1, max(index - 1 - PAIR_WINDOW, -1), -1):
            query = entries[back]
            if query is not None and query.name == entry.name and query.verb == "from":
                if back < at:
                    return True
                break
    return False


def block_end(buf: bytes, last_newline: int) -> int:
    """Where a reader's block of BUF may end (a block pairs only its own lines): the last newline, within the
    last lines, after which `cut_splits_pair` finds no pairing cut; -1 (read on) when BUF holds too few lines
    to judge; LAST_NEWLINE itself when none is (a run of unpaired `<CNAME>` replies, or lines of hundreds of
    KB: the pair is lost, the block stays bounded). The same rule places a byte range's
    start (parsers/logs/range_cuts.py), so a range and a whole-file parse pair the same lines."""
    start = last_newline
    for _ in range(3 * PAIR_WINDOW):
        start = buf.rfind(b"\n", 0, start)
        if start < 0:
            break
    first = start + 1  # the first line looked at (a whole line, or the buffer's first)
    raw = buf[first:last_newline].split(b"\n")
    lines = [line.decode("utf-8", "replace").removesuffix("\r") for line in raw]
    offsets = [first]
    for line in raw:
        offsets.append(offsets[-1] + len(line) + 1)
    lowest = 1 if first == 0 else PAIR_WINDOW  # the lines a candidate reads before it are all here
    for at in range(len(lines) - PAIR_WINDOW, lowest - 1, -1):
        if not cut_splits_pair(lines, at):
            return offsets[at] - 1
    return -1 if first == 0 and len(buf) < MAX_LINE_BYTES // 2 else last_newline


# detect() accepts no head without one of these (the daemon's tag):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b"dnsmasq[", b"pihole-FTL[")


def detect(inp: InputFile) -> bool:
    return any(_DETECT.match(line) for line in head_lines(inp, 20))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    reader = LogReader(inp, ctx, NAME, stats, block_end=block_end)
    clock = Clock.for_input(inp)
    batch = Batch(inp, NAME)
    memo = _Memo()
    for text, first_line in reader.blocks():
        _Block(text, first_line, reader, clock, batch, memo).scan()
        yield from batch.flush_if_full()
        yield from reader.take_errors()
    yield from batch.flush()
    yield from reader.summary()


class _Memo:
    """What the blocks of one file share: messages numbered, split and judged once."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.messages: list[str] = []
        self.judged: list[tuple[str, object] | None] = []  # per message number: what its lines are
        self.entries: dict[str, Entry | None] = {}

    def number(self, messages: list[str]) -> np.ndarray:
        """The number of each message (new ones numbered here)."""
        if len(self.ids) >= _MEMO_LIMIT:
            self.ids.clear()
            self.messages.clear()
            self.judged.clear()
        return number_keys(self.ids, messages, self._new_message)

    def _new_message(self, message: str) -> None:
        self.messages.append(message)
        self.judged.append(None)  # judged when first asked for (entry)

    def entry(self, message: str) -> Entry | None:
        entries = self.entries
        if message not in entries:
            if len(entries) >= _MEMO_LIMIT:
                entries.clear()
            entries[message] = split_message(message)
        return entries[message]


class _Block:
    """One block of lines. Lines are keyed by their message (what follows `dnsmasq[pid]: `); identical
    messages are counted in numpy, and only distinct ones are split (once per file) and judged in Python."""

    def __init__(self, text: str, first_line: int, reader: LogReader, clock: Clock, batch: Batch,
                 memo: _Memo) -> None:
        self.text = text
        self.first_line = first_line
        self.reader = reader
        self.clock = clock
        self.batch = batch
        self.memo = memo
        self.syslog = clock.syslog
        self.entry = memo.entry
        self.lines = text.split("\n")
        # map/partition/itemgetter run in C: no Python bytecode per line
        self.messages: list[str] = list(map(itemgetter(2), map(str.partition, self.lines, repeat(_TAG_END))))

    def line(self, index: int) -> str:
        return self.lines[index]

    def time_of(self, index: int) -> float | None:
        line = self.lines[index]
        if line[15:16] == " " and line[3:4] == " ":  # syslog stamp, the usual case: no regex needed
            return self.syslog(line[:15])
        match = _PREFIX.match(line)
        return self.clock.any(match.group(1)) if match else None

    def times_of(self, rows: list[int]) -> list[float | object | None]:
        """`time_of` of each of ROWS: usual syslog stamps converted in numpy (per distinct hour through the
        Clock, then minutes and seconds added in the same order, so the same floats); _LATER for the
        others, to be asked of `time_of`."""
        found: list[float | object | None] = [_LATER] * len(rows)
        if not rows:
            return found
        lines = self.lines
        heads = "".join([lines[row][:16].ljust(16, "\0") for row in rows])
        if not heads.isascii():
            return found
        text = np.frombuffer(heads.encode("ascii"), np.uint8).reshape(len(rows), 16)
        digits = text[:, [10, 11, 13, 14]].astype(np.int64) - ord("0")
        usual = np.flatnonzero((text[:, 15] == ord(" ")) & (text[:, 3] == ord(" ")) & (text[:, 12] == ord(":"))
                               & (text[:, 9] == ord(":")) & ((digits >= 0) & (digits <= 9)).all(axis=1))
        if not len(usual):
            return found
        prefixes, which = np.unique(np.ascontiguousarray(text[usual, :9]).view("S9").ravel(), return_inverse=True)
        hours = np.array([self.clock.syslog_hour(prefix.decode("ascii")) for prefix in prefixes.tolist()], float)
        times = hours[which] + (digits[usual, 0] * 10 + digits[usual, 1]) * 60 + (digits[usual, 2] * 10
                                                                                   + digits[usual, 3])
        for row, time in zip(usual.tolist(), times.tolist(), strict=True):
            if time == time:  # NaN: an hour that is no date (`Feb 30`): `time_of` says what it is
                found[row] = time
        return found

    def scan(self) -> None:
        messages = self.messages
        self.numbers = numbers = self.memo.number(messages)
        size = len(self.memo.messages)
        present, counted, firsts, lasts = id_spans(numbers, size)
        order = np.argsort(firsts, kind="stable")  # in the order of first sight
        present, counted, firsts, lasts = present[order], counted[order], firsts[order], lasts[order]
        known, judged, lines = self.memo.messages, self.memo.judged, self.lines
        stats = self.reader.stats
        odd: set[int] = set()  # numbers of the messages
        blocked: set[int] = set()
        aliases: set[int] = set()  # numbers of the messages
        first_rows, last_rows = firsts.tolist(), lasts.tolist()
        first_times, last_times = self.times_of(first_rows), self.times_of(last_rows)
        for number, count, index, last, first_time, last_time in zip(
                present.tolist(), counted.tolist(), first_rows, last_rows, first_times, last_times,
                strict=True):
            message = known[number]
            if message.endswith(_CNAME_END):
                aliases.add(number)
            verdict = judged[number]
            if verdict is None:
                # split here without keeping the split (`entry` keeps it): only pairing looks a message up
                # again, and in a flood of new names the kept splits were a third of peak memory
                verdict = judged[number] = _judge(split_message(message))
            if verdict[0] == _ODD or _PREFIX.match(lines[index]) is None:
                odd.add(number)
                continue
            tag = verdict[0]
            if tag == _OBSERVE:
                stats.parsed += count
                first = self.time_of(index) if first_time is _LATER else first_time
                if last == index:
                    last_time = first
                elif last_time is _LATER:
                    last_time = self.time_of(last)
                self.batch.fold_observation(verdict[1], self.first_line + index, first, last_time, count)
            elif tag == _IGNORE:
                stats.ignore(verdict[1], count)
            elif tag == _BAD:
                self.reader.malformed(self.first_line + index, verdict[1], count)
            else:
                stats.parsed += count
                if tag == _BLOCK:
                    blocked.add(number)
                # _ALIAS: a `<CNAME>` reply, paired with its target below
        if aliases:
            self.cnames(aliases)
        if blocked:
            self.blocks(blocked)
        if odd:
            self.odd_lines(odd)

    def indices(self, wanted: set[int]) -> list[int]:
        """Indices of the lines whose message number is in WANTED, in order."""
        return self.rows(wanted).tolist()

    def rows(self, wanted: set[int]) -> np.ndarray:
        chosen = np.zeros(len(self.memo.messages), bool)
        chosen[list(wanted)] = True
        return np.flatnonzero(chosen[self.numbers])

    def cnames(self, aliases: set[int]) -> None:
        """A `<CNAME>` reply names the alias; the next reply (same serial in extra mode) names the target."""
        pairs: Counter[tuple[str, str, str]] = Counter()
        first_seen: dict[tuple[str, str, str], int] = {}
        last_seen: dict[tuple[str, str, str], int] = {}
        messages = self.messages
        total = len(messages)
        # the usual case, the target on the very next line: (alias line, next line) pairs of message numbers
        # counted in numpy; the line after the last is the empty message (number `size`)
        numbers, known = self.numbers, self.memo.messages
        size = len(known)
        indices = self.rows(aliases)
        following = indices + 1
        nexts = np.where(following < total, numbers[np.minimum(following, total - 1)], size)
        codes = numbers[indices] * (size + 1) + nexts
        distinct, first_at, counts = np.unique(codes, return_index=True, return_counts=True)
        last_at = len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]
        order = np.argsort(first_at, kind="stable")  # in the order of first sight
        unpaired: list[int] = []
        for code, count, first_of, last_of in zip(distinct[order].tolist(), counts[order].tolist(),
                                                   indices[first_at[order]].tolist(),
                                                   indices[last_at[order]].tolist(), strict=True):
            alias_number, next_number = divmod(code, size + 1)
            entry = self.entry(known[alias_number])
            target = self.entry(known[next_number] if next_number < size else "")
            if entry is None:
                continue
            if target is None or target.verb != "is" or (entry.serial and target.serial != entry.serial):
                unpaired.append(code)
                continue
            key = (entry.name, target.name, entry.client)
            pairs[key] += count
            first_seen[key] = min(first_seen.get(key, total), first_of)
            last_seen[key] = max(last_seen.get(key, -1), last_of)
        lonely = indices[np.isin(codes, unpaired)].tolist() if unpaired else []
        for index in lonely:
            entry = self.entry(messages[index])
            assert entry is not None
            for ahead in range(index + 2, min(index + 1 + PAIR_WINDOW, total)):
                target = self.entry(messages[ahead])
                if target is None or target.verb != "is" or (entry.serial and target.serial != entry.serial):
                    continue
                key = (entry.name, target.name, entry.client)
                pairs[key] += 1
                first_seen.setdefault(key, index)
                last_seen[key] = index
                break
        for key, count in pairs.items():
            alias, _ = host_name(key[0])
            target_host, _ = host_name(key[1])
            if alias and target_host:
                index = first_seen[key]
                self.batch.cname(alias, target_host, self.first_line + index, self.time_of(index), key[2] or None,
                                 count=count, last_time=self.time_of(last_seen[key]))

    def blocks(self, blocked: set[int]) -> None:
        """Each block line; the client from extra mode, else from the query line just before it. Lines
        alike (message and client) are folded here: count, earliest and latest time, first line, as the
        Batch would fold them one by one."""
        messages = self.messages
        folded: dict[tuple[str, str | None], list] = {}
        rows = self.indices(blocked)
        for index, time in zip(rows, self.times_of(rows), strict=True):
            message = messages[index]
            entry = self.entry(message)
            assert entry is not None
            client = entry.client or None
            if client is None:
                for back in range(index - 1, max(index - 1 - PAIR_WINDOW, -1), -1):
                    query = self.entry(messages[back])
                    if query is not None and query.name == entry.name and query.verb == "from":
                        client = query.dest
                        break
            if time is _LATER:
                time = self.time_of(index)
            group = folded.get((message, client))
            if group is None:
                folded[message, client] = [1, time, time, index]
                continue
            group[0] += 1
            if time is not None:
                group[1] = time if group[1] is None else min(group[1], time)
                group[2] = time if group[2] is None else max(group[2], time)
        for (message, client), (count, first, last, index) in folded.items():
            entry = self.entry(message)
            assert entry is not None
            host, _ = host_name(entry.name)
            if host:
                self.batch.block(host, BlockReason.DNS_FIREWALL, self.first_line + index, first, client,
                                 f"pi-hole {entry.source}", count=count, last_time=last)

    def odd_lines(self, odd: set[int]) -> None:
        """Lines not in the query-log shape: other dnsmasq messages, empty lines, or malformed ones."""
        for index in self.indices(odd):
            text = self.line(index)
            if not text.strip():
                self.reader.stats.ignore("empty line")
            elif _PREFIX.match(text):
                self.reader.stats.ignore("other dnsmasq message (start-up, DHCP, DNSSEC, statistics)")
            else:
                self.reader.malformed(self.first_line + index, f"not a dnsmasq log line: {preview(text)}")


_ODD, _OBSERVE, _IGNORE, _BAD, _BLOCK, _ALIAS = "odd", "observe", "ignore", "bad", "block", "alias"


def _judge(entry: Entry | None) -> tuple[str, object]:
    """What lines with this message are (the same for all of them, but for their prefix): (_ODD,) not a
    query-log message; (_OBSERVE, observation key); (_IGNORE, reason); (_BAD, error message);
    (_BLOCK,) a Pi-hole block; (_ALIAS,) a `<CNAME>` reply."""
    if entry is None:
        return _ODD, None
    kind = _classify(entry)
    if kind == "forward":
        return _IGNORE, "forwarded upstream (the server's own lookup, not a client's)"
    if kind == "other":
        return _IGNORE, f"dnsmasq '{entry.source}' line (not a lookup or answer)"
    host, problem = host_name(entry.name)
    if host is None:
        return _BAD, f"dnsmasq {entry.source} line: {problem}"
    if kind == "query":
        return _OBSERVE, (host, ObservationKind.DNS_QUERY, entry.client or entry.dest, None, None, entry.source[6:-1])
    if kind == "block":
        return _BLOCK, None
    if entry.dest == _CNAME:
        return _ALIAS, None
    if is_ip(entry.dest):
        return _OBSERVE, (host, ObservationKind.DNS_ANSWER, entry.client or None, None, None, entry.dest)
    rcode = "NOERROR" if entry.dest.startswith("NODATA") else entry.dest if entry.dest in _NEGATIVE else None
    return _OBSERVE, (host, ObservationKind.DNS_ANSWER, entry.client or None, None, rcode, "" if rcode else entry.dest)


def _classify(entry: Entry) -> str:
    source, verb = entry.source, entry.verb
    if source.startswith("query[") and verb == "from":
        return "query"
    if source == "forwarded" or (source.startswith("dnssec-query[") and verb == "to"):
        return "forward"
    if verb != "is":
        return "other"
    if source in _BLOCK_SOURCES or (source.startswith("/") and source.endswith(_BLOCK_FILES)):
        return "block"
    if source in _ANSWER_SOURCES or source.startswith("/"):
        return "answer"
    return "other"
