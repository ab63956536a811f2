"""BIND 9 query logs (`querylog yes;`, category `queries`) and RPZ rewrite lines (category `rpz`).

    17-Feb-2018 23:06:56.326 queries: info: client 172.26.0.1#12345 (name): query: name IN A +E(0)K (172.26.0.3)
    02-May-2023 13:33:40.299 queries: info: client @0x2c11226c 127.0.0.1#59751 (name): view internal: query: ...
    client 10.0.0.5#5353: query: name IN A + (10.0.0.1)                  (BIND 9.9 and older: no "(name)")
    ... rpz: info: client @0x... 10.0.0.5#51234 (bad.example): rpz QNAME NXDOMAIN rewrite bad.example/A/IN
        via bad.example.rpz.local                                         -> blocked attempt (dns-firewall)
The prefix depends on print-time/print-category/print-severity, or is a syslog prefix
(`May 19 15:36:12 host named[123]: `); time stamps may be `dd-Mon-YYYY HH:MM:SS.mmm` (local time, read as UTC)
or ISO 8601 (`print-time iso8601[-utc]`). An RPZ PASSTHRU rewrite lets the query through: not a block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import BlockReason, Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import LineParser, LineStats, head_lines, preview, strip_port

NAME = "bind9"

_CLIENT = r"client (?:@0x[0-9a-fA-F]+ )?(?P<client>\S+?)#\d+(?: \((?P<echo>[^)]*)\))?:(?: view (?P<view>[^:]+):)?"
_QUERY = re.compile(_CLIENT + r" query: (?P<name>\S+) (?P<qclass>[A-Z0-9]+) (?P<qtype>[A-Z0-9]+) "
                              r"(?P<flags>[-+][A-Z0-9()]*)(?: \((?P<server>[^)]*)\))?")
_RPZ = re.compile(_CLIENT + r" rpz (?P<policy>[A-Za-z-]+) (?P<action>[A-Za-z-]+) rewrite "
                            r"(?P<name>[^/\s]+)/(?P<qtype>[A-Z0-9]+)/(?P<qclass>[A-Z0-9]+)(?: via (?P<via>\S+))?")
_TIME = re.compile(r"(?P<bind>\d{1,2}-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?)"
                   r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
                   r"|(?P<syslog>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)")
_NOT_A_BLOCK = frozenset({"PASSTHRU", "passthru"})


# detect() accepts no head without one of these (a query or an RPZ line):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b" query: ", b" rpz ")


def detect(inp: InputFile) -> bool:
    return any((" query: " in line and _QUERY.search(line)) or (" rpz " in line and _RPZ.search(line))
               for line in head_lines(inp, 20))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _Bind9Parser(inp, ctx, stats).run()


class _Bind9Parser(LineParser):
    NAME = NAME

    def time(self, text: str) -> float | None:
        match = _TIME.match(text)
        if match is None:
            return None
        if match.group("bind"):
            return self.clock.bind(match.group("bind"))
        if match.group("iso"):
            return self.clock.iso(match.group("iso"))
        return self.clock.syslog(match.group("syslog"))

    def line(self, text: str, number: int) -> None:
        query = _QUERY.search(text) if " query: " in text else None
        if query is not None:
            host = self.host(query["name"], number, "query name")
            if host is None:
                return
            self.stats.parsed += 1
            self.batch.observe(host, ObservationKind.DNS_QUERY, number, self.time(text), strip_port(query["client"]),
                               query["server"] or None, None, query["qtype"])
            return
        rpz = _RPZ.search(text) if " rpz " in text else None
        if rpz is not None:
            if rpz["action"] in _NOT_A_BLOCK:
                self.stats.ignore("RPZ PASSTHRU (allowed, not a block)")
                return
            host = self.host(rpz["name"], number, "RPZ name")
            if host is None:
                return
            self.stats.parsed += 1
            detail = f"rpz {rpz['policy']} {rpz['action']}" + (f" via {rpz['via']}" if rpz["via"] else "")
            self.batch.block(host, BlockReason.DNS_FIREWALL, number, self.time(text), strip_port(rpz["client"]),
                             detail)
            return
        if _TIME.match(text) or text.startswith(("client ", "named[")) or " named[" in text[:60]:
            self.stats.ignore("other BIND message (not a query or RPZ rewrite)")
        else:
            self.malformed(number, f"not a BIND log line: {preview(text)}")
