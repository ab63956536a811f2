"""Unbound query and reply logs (`log-queries: yes`, `log-replies: yes`).

    [1551441121] unbound[1:0] info: 127.0.0.1 cloudflare.com. A IN                      -> dns-query
    [1551441121] unbound[1:0] info: 127.0.0.1 cloudflare.com. A IN NOERROR 0.000000 1 64 -> dns-answer (rcode)
    Nov 05 23:30:33 unbound[12636:0] reply: 192.168.1.5 www.wikipedia.org. A IN NOERROR 0.154989 0 80
The prefix is `[epoch]` (logfile), a syslog stamp (`log-time-ascii` or syslog, no year: see _common), or
ISO 8601 (`log-time-iso`); the tag is `info:` or, with `log-tag-queryreply`, `query:`/`reply:`.
A reply line carries the rcode but no addresses: it becomes a dns-answer record without detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import LineParser, LineStats, head_lines, preview

NAME = "unbound"

_PREFIX = re.compile(
    r"(?:\[(?P<epoch>\d+(?:\.\d+)?)\]|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"|(?P<syslog>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d))"
    r" (?:\S+ )?unbound(?:\[\d+:\w+\])?:?(?: \[\d+:\w+\])? (?P<tag>info|query|reply|debug|notice|warning|error): ")
_RECORD = re.compile(r"(?P<client>[0-9A-Fa-f.:]+) (?P<name>\S+) (?P<qtype>[A-Z0-9]+|TYPE\d+) "
                     r"(?P<qclass>IN|CH|HS|ANY|CLASS\d+)"
                     r"(?: (?P<rcode>[A-Z]+|RCODE\d+) (?P<secs>\d+\.\d+) (?P<cached>[01]) (?P<size>\d+)(?P<rest>.*))?$")


# detect() accepts no head without one of these (the daemon's name):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b"unbound",)


def detect(inp: InputFile) -> bool:
    for line in head_lines(inp, 20):
        match = _PREFIX.match(line)
        if match and _RECORD.match(line, match.end()):
            return True
    return False


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _UnboundParser(inp, ctx, stats).run()


class _UnboundParser(LineParser):
    NAME = NAME

    def line(self, text: str, number: int) -> None:
        prefix = _PREFIX.match(text)
        if prefix is None:
            if " unbound" in text[:60]:
                self.stats.ignore("other unbound message")
            else:
                self.malformed(number, f"not an unbound log line: {preview(text)}")
            return
        record = _RECORD.match(text, prefix.end())
        if record is None:
            if text[prefix.end():].split(" ", 2)[1:2] == ["-"]:
                self.stats.ignore("reply to a malformed query (FORMERR, no name)")
            else:
                self.stats.ignore("other unbound message (not a query or reply)")
            return
        host = self.host(record["name"], number, "query name")
        if host is None:
            return
        self.stats.parsed += 1
        if prefix["epoch"]:
            time: float | None = float(prefix["epoch"])
        elif prefix["iso"]:
            time = self.clock.iso(prefix["iso"])
        else:
            time = self.clock.syslog(prefix["syslog"])
        if record["rcode"]:
            self.batch.observe(host, ObservationKind.DNS_ANSWER, number, time, record["client"], None,
                               record["rcode"], "")
        else:
            self.batch.observe(host, ObservationKind.DNS_QUERY, number, time, record["client"], None, None,
                               record["qtype"])
