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

Speed: a block of lines goes through one regular expression (`findall`, one tuple per line), identical
(verb, name, answer, client) tuples are counted in C (`Counter`, `dict(zip(...))`), and only the distinct
ones are looked at in Python. The prefix (stamp and `dnsmasq[pid]:` tag) is checked on the first and
last line of each distinct message, so a corrupt line that carries a valid message after a damaged stamp
counts as parsed, with the times of its neighbours.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from operator import itemgetter

from auditor.model import BlockReason, Evidence, ObservationKind
from parsers._io import InputFile, ParseContext
from parsers.dnslogs._common import Batch, Clock, LineStats, LogReader, head_lines, host_name, is_ip, preview

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
_PAIR_WINDOW = 8  # lines to look ahead/back for the line that completes a pair (interleaved queries)


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


def detect(inp: InputFile) -> bool:
    return any(_DETECT.match(line) for line in head_lines(inp, 20))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    reader = LogReader(inp, ctx, NAME, stats, hold_back=_CNAME_END.encode())
    clock = Clock.for_input(inp)
    batch = Batch(inp, NAME)
    for text, first_line in reader.blocks():
        _Block(text, first_line, reader, clock, batch).scan()
        yield from batch.flush_if_full()
        yield from reader.take_errors()
    yield from batch.flush()
    yield from reader.summary()


class _Block:
    """One block of lines. Lines are keyed by their message (what follows `dnsmasq[pid]: `); identical
    messages are counted in C, and only distinct ones are split and judged in Python."""

    def __init__(self, text: str, first_line: int, reader: LogReader, clock: Clock, batch: Batch) -> None:
        self.lines = text.split("\n")
        self.first_line = first_line
        self.reader = reader
        self.clock = clock
        self.batch = batch
        # map/partition/itemgetter run in C: no Python bytecode per line
        self.messages: list[str] = list(map(itemgetter(2), map(str.partition, self.lines, repeat(_TAG_END))))
        self.entries: dict[str, Entry | None] = {}

    def time_of(self, index: int) -> float | None:
        line = self.lines[index]
        if line[15:16] == " " and line[3:4] == " ":  # syslog stamp, the usual case: no regex needed
            return self.clock.syslog(line[:15])
        match = _PREFIX.match(line)
        return self.clock.any(match.group(1)) if match else None

    def entry(self, message: str) -> Entry | None:
        if message not in self.entries:
            self.entries[message] = split_message(message)
        return self.entries[message]

    def scan(self) -> None:
        messages = self.messages
        total = len(messages)
        counts = Counter(messages)
        first_index = dict(zip(reversed(messages), range(total - 1, -1, -1), strict=True))
        last_index = dict(zip(messages, range(total), strict=True))
        stats = self.reader.stats
        odd: set[str] = set()
        blocked: set[str] = set()
        for message, count in counts.items():
            index = first_index[message]
            entry = self.entry(message)
            if entry is None or _PREFIX.match(self.lines[index]) is None:
                odd.add(message)
                continue
            kind = _classify(entry)
            if kind == "forward":
                stats.ignore("forwarded upstream (the server's own lookup, not a client's)", count)
                continue
            if kind == "other":
                stats.ignore(f"dnsmasq '{entry.source}' line (not a lookup or answer)", count)
                continue
            line = self.first_line + index
            host, problem = host_name(entry.name)
            if host is None:
                self.reader.malformed(line, f"dnsmasq {entry.source} line: {problem}", count)
                continue
            stats.parsed += count
            first, last = self.time_of(index), self.time_of(last_index[message])
            if kind == "query":
                self.batch.observe(host, ObservationKind.DNS_QUERY, line, first, entry.client or entry.dest, None,
                                   None, entry.source[6:-1], count, last)
            elif kind == "block":
                blocked.add(message)
            elif entry.dest == _CNAME:
                pass  # paired with its target below
            elif is_ip(entry.dest):
                self.batch.observe(host, ObservationKind.DNS_ANSWER, line, first, entry.client or None, None, None,
                                   entry.dest, count, last)
            else:
                rcode = "NOERROR" if entry.dest.startswith("NODATA") else entry.dest if entry.dest in _NEGATIVE \
                    else None
                self.batch.observe(host, ObservationKind.DNS_ANSWER, line, first, entry.client or None, None, rcode,
                                   "" if rcode else entry.dest, count, last)
        aliases = {message for message in counts if message.endswith(_CNAME_END)}
        if aliases:
            self.cnames(aliases)
        if blocked:
            self.blocks(blocked)
        if odd:
            self.odd_lines(odd)

    def indices(self, wanted: set[str]) -> list[int]:
        """Indices of the lines whose message is in WANTED (compress/map: C speed)."""
        return list(compress(range(len(self.messages)), map(wanted.__contains__, self.messages)))

    def cnames(self, aliases: set[str]) -> None:
        """A `<CNAME>` reply names the alias; the next reply (same serial in extra mode) names the target."""
        pairs: Counter[tuple[str, str, str]] = Counter()
        first_seen: dict[tuple[str, str, str], int] = {}
        last_seen: dict[tuple[str, str, str], int] = {}
        messages = self.messages
        total = len(messages)
        # the usual case, the target on the very next line: (alias line, next line) pairs counted in C
        selected = list(map(aliases.__contains__, messages))
        indices = list(compress(range(total), selected))
        adjacent = list(zip(compress(messages, selected), compress([*messages[1:], ""], selected), strict=True))
        first_of = dict(zip(reversed(adjacent), reversed(indices), strict=True))
        last_of = dict(zip(adjacent, indices, strict=True))
        unpaired: set[tuple[str, str]] = set()
        for pair, count in Counter(adjacent).items():
            entry, target = self.entry(pair[0]), self.entry(pair[1])
            if entry is None:
                continue
            if target is None or target.verb != "is" or (entry.serial and target.serial != entry.serial):
                unpaired.add(pair)
                continue
            key = (entry.name, target.name, entry.client)
            pairs[key] += count
            first_seen[key] = min(first_seen.get(key, total), first_of[pair])
            last_seen[key] = max(last_seen.get(key, -1), last_of[pair])
        for index in (i for i, pair in zip(indices, adjacent, strict=True) if pair in unpaired):
            entry = self.entry(messages[index])
            assert entry is not None
            for ahead in range(index + 2, min(index + 1 + _PAIR_WINDOW, total)):
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

    def blocks(self, blocked: set[str]) -> None:
        """Each block line; the client from extra mode, else from the query line just before it."""
        messages = self.messages
        for index in self.indices(blocked):
            entry = self.entry(messages[index])
            assert entry is not None
            client = entry.client or None
            if client is None:
                for back in range(index - 1, max(index - 1 - _PAIR_WINDOW, -1), -1):
                    query = self.entry(messages[back])
                    if query is not None and query.name == entry.name and query.verb == "from":
                        client = query.dest
                        break
            host, _ = host_name(entry.name)
            if host:
                self.batch.block(host, BlockReason.DNS_FIREWALL, self.first_line + index, self.time_of(index),
                                 client, f"pi-hole {entry.source}")

    def odd_lines(self, odd: set[str]) -> None:
        """Lines not in the query-log shape: other dnsmasq messages, empty lines, or malformed ones."""
        for index in self.indices(odd):
            text = self.lines[index]
            if not text.strip():
                self.reader.stats.ignore("empty line")
            elif _PREFIX.match(text):
                self.reader.stats.ignore("other dnsmasq message (start-up, DHCP, DNSSEC, statistics)")
            else:
                self.reader.malformed(self.first_line + index, f"not a dnsmasq log line: {preview(text)}")


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
