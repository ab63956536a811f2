"""Windows DNS Server debug log (`dns.log`, "Log packets for debugging"), summary and detail mode.

    5/21/2015 1:51:18 PM 0D48 PACKET  000000000181D1C0 UDP Rcv 10.250.2.246    0c6b   Q [0001   D   NOERROR] A
        (10)sitecheck2(5)opera(3)com(0)                          (one line in the file)
Fields: date, time, thread, PACKET, context, UDP/TCP, Snd/Rcv, remote IP, xid, R (response) or blank,
opcode, [flags, flag letters, rcode], qtype, qname in wire-like `(len)label...(0)` form.
- `Rcv` without R: a client's query -> dns-query (client = remote IP).
- `Snd` with R: the answer to that client -> its rcode (dns-answer without detail), and in detail mode
  the ANSWER SECTION's A/AAAA data (dns-answer with the address) and CNAME data (cname + edge).
- `Snd` without R / `Rcv` with R: the server's own recursive lookup to a forwarder: ignored.
Detail mode adds indented lines after each PACKET line up to a blank line; the file starts with a
header (creation time and the field legend): both are ignored with their reason.
Dates are server-locale text: `M/D/YYYY h:mm:ss AM/PM` (en-US), `D/M/YYYY` when the first number is over
12 or no AM/PM is given with a day over 12, `D.M.YYYY`, `YYYY-MM-DD`; local time, read as UTC.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator

from auditor.core.model import Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import LineParser, LineStats, head_lines, host_name, is_ip, preview

NAME = "windows_dns"

# Possessive quantifiers (`++`, `*+`) throughout: each field ends where a different character class begins, so
# nothing needs to be given back, and a hostile line cannot make the engine try every split of a long run
# (`[A-Z]* *[A-Z]+` on 60 KB of capitals took 20 s). The flag letters are the words before the last one in
# the brackets, the rcode the last (`[8081   DR  NOERROR]`, `[0001       NOERROR]`).
_PACKET = re.compile(
    r"(?P<date>\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}) (?P<time>\d{1,2}:\d\d:\d\d)(?: (?P<ampm>[AaPp][Mm]))? "
    r"(?P<thread>[0-9A-Fa-f]++) PACKET ++(?P<context>[0-9A-Fa-f]++) (?P<proto>UDP|TCP) (?P<dir>Rcv|Snd) "
    r"(?P<remote>[0-9A-Fa-f.:]++) ++(?P<xid>[0-9A-Fa-f]{1,4}) (?P<response>[R ]) (?P<opcode>[QNU?]) "
    r"\[(?P<flags>[0-9A-Fa-f]{4})(?P<letters>(?: ++[A-Z]++)*?) ++(?P<rcode>[A-Z]++)\] ++(?P<qtype>\S++) "
    r"++(?P<qname>\S*+)")
_EVENT = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4} \d{1,2}:\d\d:\d\d(?: [AaPp][Mm])? [0-9A-Fa-f]++ [A-Z]+")
_LABEL = re.compile(r"\((\d{1,2})\)")
_HEADER_MARKS = ("DNS Server log", "Log file wrap", "Message logging key", "Field #", "-------",
                 "Date", "Time", "Thread ID", "Context", "Internal packet", "UDP/TCP", "Send/Receive",
                 "Remote IP", "Xid", "Query/Response", "Opcode", "Flags", "ResponseCode", "Question",
                 "R = Response", "blank = Query", "Q = Standard", "N = Notify", "U = Update", "? = Unknown",
                 "A = Authoritative", "T = Truncated", "D = Recursion", "R = Recursion", "Snd/Rcv")


# detect() accepts no head without one of these (a packet line or the log's banner):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b" PACKET ", b"DNS Server log file creation at")


def detect(inp: InputFile) -> bool:
    return any(_PACKET.match(line) or line.startswith("DNS Server log file creation at")
               for line in head_lines(inp, 40))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _WindowsDnsParser(inp, ctx, stats).run()


def starts_record(line: str) -> bool:
    """Whether LINE is a PACKET line, where a record starts and every state of the one before ends."""
    return _PACKET.match(line) is not None


def wire_name(text: str, question: str | None = None) -> str | None:
    """`(3)www(6)google(3)com(0)` -> `www.google.com`.

    In detail mode an answer's name is written `[C00C](3)www(6)google(3)com(0)`: the compression pointer,
    then the name it expands to. A bare pointer can only be resolved when it points at the question (C00C).
    """
    text = text.strip().strip('"')
    pointer = ""
    if "[" in text:
        start = text.find("[")
        text, pointer = text[:start] + text[text.find("]", start) + 1:], text[start + 1:text.find("]", start)]
    labels = [label for label in _LABEL.split(text)[2::2] if label]
    if pointer and not labels:
        if pointer.upper() != "C00C" or question is None:
            return None  # a pointer into the packet we cannot see
        labels.append(question)
    return ".".join(labels) if labels else None


def windows_time(date: str, clock_text: str, ampm: str | None) -> float | None:
    parts = re.split(r"[/.-]", date)
    try:
        numbers = [int(part) for part in parts]
        if len(parts[0]) == 4:
            year, month, day = numbers
        elif "." in date or (numbers[0] > 12 and "/" in date):
            day, month, year = numbers
        else:
            month, day, year = numbers
        if year < 100:
            year += 2000
        hour, minute, second = (int(part) for part in clock_text.split(":"))
        if ampm:
            hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
        if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour < 24):
            return None
        return float(calendar.timegm((year, month, day, hour, minute, second)))
    except (ValueError, OverflowError):
        return None


class _WindowsDnsParser(LineParser):
    NAME = NAME

    def __init__(self, inp: InputFile, ctx: ParseContext, stats: LineStats) -> None:
        super().__init__(inp, ctx, stats)
        self.packet: dict[str, object] | None = None  # the response packet whose detail lines follow
        self.section = ""
        self.rr_type = ""
        self.rr_owner: str | None = None
        self.times: dict[tuple[str, str, str | None], float | None] = {}

    def block(self, text: str, first_line: int) -> None:
        line_no = first_line
        for line in text.split("\n"):
            if line.strip():
                self.line(line, line_no)
            else:
                self.packet = None  # a blank line ends a packet's detail
                self.stats.ignore("empty line")
            line_no += 1

    def line(self, text: str, number: int) -> None:
        match = _PACKET.match(text)
        if match is not None:
            self.packet_line(match, number)
            return
        if text[:1].isspace() or text.startswith(("UDP ", "TCP ")) or self.packet is not None:
            if self.packet is not None and self.detail_line(text.strip(), number):
                return
            self.stats.ignore("packet detail line")
            return
        if _EVENT.match(text):
            self.stats.ignore("non-packet event line")
        elif text.lstrip().startswith(_HEADER_MARKS) or text.lstrip()[:2].strip().isdigit():
            self.stats.ignore("log header or legend")
        else:
            self.malformed(number, f"not a Windows DNS debug log line: {preview(text)}")

    def time(self, match: re.Match[str]) -> float | None:
        key = (match["date"], match["time"], match["ampm"])
        if key not in self.times:
            if len(self.times) > 100_000:
                self.times.clear()
            self.times[key] = windows_time(*key)
        return self.times[key]

    def packet_line(self, match: re.Match[str], number: int) -> None:
        # a PACKET line starts a record: nothing of the record before it carries over (a byte range starts at
        # one, parsers/logs/range_cuts.py, and reads it as the whole file does)
        self.packet, self.section, self.rr_type, self.rr_owner = None, "", "", None
        response = match["response"] == "R"
        incoming = match["dir"] == "Rcv"
        if response == incoming:  # Snd query / Rcv response: the server asking a forwarder
            self.stats.ignore("the server's own lookup to a forwarder (not a client's)")
            return
        raw = wire_name(match["qname"])
        if raw is None:
            self.malformed(number, f"question name not in (len)label form: {preview(match['qname'])}")
            return
        host = self.host(raw, number, "question name")
        if host is None:
            return
        self.stats.parsed += 1
        time, client = self.time(match), match["remote"]
        if not response:
            self.batch.observe(host, ObservationKind.DNS_QUERY, number, time, client, None, None, match["qtype"])
            return
        self.batch.observe(host, ObservationKind.DNS_ANSWER, number, time, client, None, match["rcode"], "")
        self.packet = {"host": host, "time": time, "client": client, "rcode": match["rcode"]}

    def detail_line(self, text: str, number: int) -> bool:
        """Take an answer record from a response's detail; True if the line was used."""
        packet = self.packet
        assert packet is not None
        if text.endswith("SECTION:"):
            self.section, self.rr_owner = text, None
            return False
        if self.section != "ANSWER SECTION:":
            return False
        if text.startswith("Name "):
            self.rr_owner = wire_name(text[5:], str(packet["host"]))
        elif text.startswith("TYPE "):
            self.rr_type = text.split()[1]
        elif text.startswith("DATA ") and self.rr_owner:
            data = text[5:].strip()
            owner, _ = host_name(self.rr_owner)
            client, time, rcode = str(packet["client"]), packet["time"], str(packet["rcode"])
            if owner is None:
                return False
            if self.rr_type in ("A", "AAAA") and is_ip(data):
                self.batch.observe(owner, ObservationKind.DNS_ANSWER, number, time, client, None, rcode, data)  # type: ignore[arg-type]
                self.stats.parsed += 1
                return True
            if self.rr_type == "CNAME":
                target_raw = wire_name(data, str(packet["host"]))
                target, _ = host_name(target_raw) if target_raw else (None, None)
                if target:
                    self.batch.cname(owner, target, number, time, client)  # type: ignore[arg-type]
                    self.stats.parsed += 1
                    return True
        return False
