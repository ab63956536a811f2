"""CoreDNS `log` plugin lines (the {common} and {combined} formats), plain or wrapped in Kubernetes JSON.

    [INFO] 172.17.0.1:42114 - 64820 "A IN host.example.com. udp 57 false 1232" NOERROR qr,aa,rd 66 0.000150566s
    2019-03-06T08:55:28.903Z [INFO] 172.17.0.4:36413 - 21583 "A IN name. udp 43 false 512" NXDOMAIN qr,rd,ra 136 ...
    {"log":"[INFO] ...\n","stream":"stdout","time":"2019-03-06T08:55:28.903Z"}     (container runtime JSON)
One line is a query and its response: a dns-query record with the client, query type and rcode.
Kubernetes search-path expansions (`name.cluster.local.` NXDOMAIN) are ordinary queries, not blocks.
Lines without a time stamp get none (the plugin does not write one; `kubectl logs --timestamps` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core import safe_json
from auditor.core.model import Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import LineParser, LineStats, head_lines, preview, strip_port

NAME = "coredns"

_ENTRY = re.compile(
    r"(?:(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) )?"
    r"\[(?P<level>INFO|WARNING|ERROR|DEBUG)\] (?P<rest>.*)")
_QUERY = re.compile(
    r"(?P<remote>\[[0-9A-Fa-f:.%\w]+\]:\d+|[0-9.]+:\d+) - (?P<id>\d+) "
    r"\"(?P<qtype>\S+) (?P<qclass>\S+) (?P<name>\S+) (?P<proto>udp|tcp|\S+) \d+ (?:true|false) \d+\" "
    r"(?P<rcode>[A-Z]+|\d+|-) (?P<flags>\S+) \d+ [\d.]+s")

_QUERY_START = re.compile(r"\S+:\d+ - \d+ \"")
_BANNER = re.compile(r"(?:\S*:\d+|CoreDNS-[\d.]+|linux/\w+, go[\d.]+, \w+)$")


# detect() accepts no head without one of these (a level tag, literal or JSON-escaped in a wrapped line):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b"[INFO] ", b"[WARNING] ", b"[ERROR] ", b"[DEBUG] ", b"\\u")


def detect(inp: InputFile) -> bool:
    for line in head_lines(inp, 20):
        text = _unwrap(line)
        entry = _ENTRY.match(text) if text else None
        if entry and _QUERY.match(entry["rest"]):
            return True
    return False


def _unwrap(line: str) -> str | None:
    if not line.startswith("{"):
        return line
    try:
        record = safe_json.loads(line)
    except ValueError:
        return None
    value = record.get("log") if isinstance(record, dict) else None
    if not isinstance(value, str):
        return None
    stamp = record.get("time")
    text = value.rstrip("\n")
    return f"{stamp} {text}" if isinstance(stamp, str) and not text[:1].isdigit() else text


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _CoreDNSParser(inp, ctx, stats).run()


class _CoreDNSParser(LineParser):
    NAME = NAME

    def line(self, text: str, number: int) -> None:
        unwrapped = _unwrap(text)
        if unwrapped is None:
            self.malformed(number, f"JSON line without a CoreDNS log message: {preview(text)}")
            return
        entry = _ENTRY.match(unwrapped)
        if entry is None and _BANNER.match(unwrapped):
            self.stats.ignore("start-up banner")
            return
        if entry is None:
            self.malformed(number, f"not a CoreDNS log line: {preview(text)}")
            return
        query = _QUERY.match(entry["rest"])
        if query is None and _QUERY_START.match(entry["rest"]):
            self.malformed(number, f"CoreDNS query entry not in the common/combined format: {preview(text)}")
            return
        if query is None:
            self.stats.ignore("other CoreDNS message (not a query log entry)")
            return
        host = self.host(query["name"], number, "query name")
        if host is None:
            return
        self.stats.parsed += 1
        time = self.clock.iso(entry["time"]) if entry["time"] else None
        rcode = query["rcode"] if query["rcode"] != "-" else None
        self.batch.observe(host, ObservationKind.DNS_QUERY, number, time, strip_port(query["remote"]), None, rcode,
                           query["qtype"])
