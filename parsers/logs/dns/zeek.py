"""Zeek `dns.log` and `ssl.log`, as TSV (with the `#fields` header) or as JSON lines.

dns.log: one record per query/response pair -> dns-query (host = query, client = id.orig_h, server =
id.resp_h, detail = qtype, rcode); its `answers` vector, for address-type queries, is the CNAME chain in
order followed by the addresses -> cname records (+ RedirectEdge) and dns-answer records on the last name.
ssl.log: `server_name` (the TLS SNI) -> tls-sni, detail = the negotiated protocol (ALPN/NPN) if any.

TSV speed: a dns.log block of data lines that is ASCII and has the header's column count on every line
goes through the fast path (`_zeek_fast`: columns read and lines grouped per distinct key by polars,
sums kept in numpy and written into the Batch when it is flushed). Anything else, and ssl.log, goes
through one regular expression built from the `#fields` header, capturing only the columns used (one
tuple per line); identical tuples (same client, name, type, rcode, answers) are counted in C and only
the distinct ones handled in Python. Both give the same records. Queries are folded per client;
answers and CNAMEs per name only (without the client, which the query record carries), so a name that a
thousand clients resolve yields one answer record, not a thousand. A `#fields` line later in the file (concatenated
logs) switches the layout from there on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import compress
from operator import itemgetter

from auditor.core import safe_json
from auditor.core.model import Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.dns.zeek_fast import MIN_CHARS, DnsFolder
from parsers.logs.dns.zeek_layout import COLUMNS, ZeekLayout
from parsers.logs.line_reader import LineParser, LineStats, head_lines, host_name, is_ip, iso_time, preview

NAME = "zeek"

_REQUIRED = {"dns": ("ts", "query"), "ssl": ("ts", "server_name")}
_CHAIN_TYPES = frozenset({"A", "AAAA", "CNAME", "HTTPS", "SVCB", "ANY", "*", "1", "28", "5"})
_UNSET = frozenset({"-", "(empty)", ""})


# detect() accepts no head without one of these (a TSV header, or a JSON record's id.orig_h key, which a JSON text
# may also spell with \u escapes): the registry checks them before it calls detect()
DETECT_NEEDS = (b"#fields\t", b"id.orig_h", b"\\u")


def detect(inp: InputFile) -> bool:
    for line in head_lines(inp, 12):
        if line.startswith("#fields\t"):
            fields = line.split("\t")
            return "query" in fields or "server_name" in fields
        if line.startswith("{"):
            try:
                record = safe_json.loads(line)
            except ValueError:
                return False
            return isinstance(record, dict) and "id.orig_h" in record and (
                "query" in record or "server_name" in record or record.get("_path") in COLUMNS)
    return False


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _ZeekParser(inp, ctx, stats).run()


class _ZeekParser(LineParser):
    NAME = NAME

    def __init__(self, inp: InputFile, ctx: ParseContext, stats: LineStats) -> None:
        super().__init__(inp, ctx, stats)
        self.layout: ZeekLayout | None = None
        self.path_hint = ""  # from `#path`
        self.bad_times = 0
        self.bad_time_line: int | None = None
        self.fast = DnsFolder(self)
        self.batch.before_flush = self.fast.settle_and_reset

    # -- TSV ---------------------------------------------------------------------------------------

    def block(self, text: str, first_line: int) -> None:
        position, line_no, size = 0, first_line, len(text)
        while position <= size:
            if text.startswith(("#", "{", "["), position) or self.layout is None:
                end = text.find("\n", position)
                end = size if end < 0 else end
                line = text[position:end]
                if line.strip():
                    self.line(line, line_no)
                else:
                    self.stats.ignore("empty line")
                position, line_no = end + 1, line_no + 1
                continue
            if self.fold_rest(text, position, line_no):
                return
            end = text.find("\n#", position)
            end = size if end < 0 else end
            segment = text[position:end]
            self.segment(segment, line_no)
            line_no += segment.count("\n") + 1
            position = end + 1

    def fold_rest(self, text: str, position: int, first_line: int) -> bool:
        """The rest of the block through the fast path, if it holds no header line and qualifies."""
        layout = self.layout
        if layout is None or layout.path != "dns" or len(text) - position < MIN_CHARS:
            return False
        raw = self.reader.ascii_block  # the block's own bytes, if they are its text: no re-encoding
        if raw is None or len(raw) != len(text):
            raw = None
        elif position:
            raw = raw[position:]
        return self.fast.fold(text[position:] if position else text, first_line, layout, raw)

    def segment(self, text: str, first_line: int) -> None:
        layout = self.layout
        assert layout is not None
        if layout.path == "dns" and len(text) >= MIN_CHARS and self.fast.fold(text, first_line, layout):
            return
        self.fast.settle()  # what the fast path folded goes first, as its lines came first
        rows = layout.regex.findall(text)
        # keys are cut from the rows by itemgetter (C); a column the header lacks reads as unset ("-")
        padded = [(*row, "-") for row in rows] if None in layout.positions else rows
        pick = [layout.width + 1 if p is None else p for p in layout.positions]
        stamps = list(map(itemgetter(pick[0]), padded))
        # queries fold per (client, server, name, type, rcode); answers per (name, type, rcode, answers),
        # so a name resolved by a thousand clients is one answer record, not a thousand
        odd = False
        for key, count, index, last in _distinct(list(map(itemgetter(*pick[1:6]), padded))):
            if not key[2]:  # a line the layout did not match (no Zeek field is ever empty)
                odd = True
                continue
            first_time, last_time = self.time(stamps[index], first_line + index), self.time(stamps[last], None)
            self.query(layout.path, key, first_line + index, first_time, last_time, count)
        if layout.path == "dns":
            for key, count, index, last in _distinct(list(map(itemgetter(*pick[3:]), padded))):
                query, qtype, rcode, answers = key
                if query and answers not in _UNSET and qtype in _CHAIN_TYPES:
                    self.answers(query, answers, first_line + index, self.time(stamps[index], None),
                                 self.time(stamps[last], None), count, None, None, _value(rcode))
        if odd:
            query_column = pick[3]
            for index in compress(range(len(rows)), (not row[query_column] for row in rows)):
                line = rows[index][layout.width]
                if line.strip():
                    self.malformed(first_line + index, f"not a {layout.path}.log line for the #fields header "
                                                       f"({len(line.split(chr(9)))} columns): {preview(line)}")
                else:
                    self.stats.ignore("empty line")

    def time(self, text: str, line: int | None) -> float | None:
        try:
            return float(text)
        except ValueError:
            value = iso_time(text) if "-" in text else None
            if value is None:
                self.bad_times += 1
                if self.bad_time_line is None:
                    self.bad_time_line = line
            return value

    # -- one record (TSV key or JSON object) ----------------------------------------------------------

    def query(self, path: str, key: tuple[str, ...], line: int, first: float | None, last: float | None,
              count: int) -> None:
        """A dns.log query (client, server, query, qtype, rcode) or an ssl.log handshake (client, server,
        server_name, protocol)."""
        client, server = _value(key[0]), _value(key[1])
        if path == "ssl":
            server_name, protocol = key[2], key[3]
            if server_name in _UNSET:
                self.stats.ignore("TLS connection without a server name (SNI)", count)
                return
            host, problem = host_name(server_name)
            if host is None:
                self.reader.malformed(line, f"server_name: {problem}", count)
                return
            self.stats.parsed += count
            self.batch.observe(host, ObservationKind.TLS_SNI, line, first, client, server, None,
                               "" if protocol in _UNSET else protocol, count, last)
            return
        query, qtype, rcode = key[2], key[3], key[4]
        if query in _UNSET:
            self.stats.ignore("DNS record without a query name", count)
            return
        host, problem = host_name(query)
        if host is None:
            self.reader.malformed(line, f"query: {problem}", count)
            return
        self.stats.parsed += count
        self.batch.observe(host, ObservationKind.DNS_QUERY, line, first, client, server, _value(rcode),
                           "" if qtype in _UNSET else qtype, count, last)

    def answers(self, query: str, answers: str, line: int, first: float | None, last: float | None, count: int,
                client: str | None, server: str | None, rcode: str | None) -> None:
        """The answers vector of an address query: the CNAME chain in order, then the addresses."""
        owner, _ = host_name(query)
        if owner is None:
            return  # reported with the query
        for answer in answers.split(","):
            if is_ip(answer):
                self.batch.observe(owner, ObservationKind.DNS_ANSWER, line, first, client, server, rcode,
                                   answer, count, last)
                continue
            target, _ = host_name(answer)
            if target is None:
                continue  # TXT-like data in an address query's answers: not a name, not an address
            self.batch.cname(owner, target, line, first, client, server, count, last)
            owner = target

    # -- headers and JSON ----------------------------------------------------------------------------

    def line(self, text: str, number: int) -> None:
        if text.startswith("#"):
            self.header(text, number)
        elif text.startswith(("{", "[")):
            self.json_line(text, number)
        else:
            self.malformed(number, f"data line before any #fields header: {preview(text)}")

    def header(self, text: str, number: int) -> None:
        if text.startswith("#path\t"):
            self.path_hint = text[6:].strip()
        elif text.startswith("#fields\t"):
            fields = text.rstrip().split("\t")[1:]
            path = self.path_hint if self.path_hint in COLUMNS else (
                "dns" if "query" in fields else "ssl" if "server_name" in fields else "")
            missing = [name for name in _REQUIRED.get(path, ("query",)) if name not in fields]
            if not path or missing:
                self.layout = None
                self.malformed(number, f"#fields header of a log this parser does not read "
                                       f"(path {self.path_hint or '?'}, missing {', '.join(missing) or 'fields'})")
                return
            self.layout = ZeekLayout(fields, path)
            self.stats.parsed += 1
            return
        elif text.startswith("#separator") and "\\x09" not in text:
            self.malformed(number, f"unsupported separator {preview(text[11:])} (only tab-separated logs)")
            return
        self.stats.ignore("Zeek header or comment line")

    def json_line(self, text: str, number: int) -> None:
        self.fast.settle()
        try:
            record = safe_json.loads(text)
        except safe_json.JsonInputError as exc:
            self.malformed(number, exc.message)
            return
        if not isinstance(record, dict):
            self.malformed(number, "JSON line is not an object")
            return
        path = record.get("_path")
        if path not in COLUMNS:
            path = "dns" if "query" in record else "ssl" if "server_name" in record else None
        if path is None:
            self.stats.ignore("JSON record of another Zeek log")
            return
        stamp = record.get("ts")
        time = float(stamp) if isinstance(stamp, int | float) else self.time(str(stamp), number)
        values = []
        for name in COLUMNS[path][1:]:
            value = record.get(name, "-")
            if isinstance(value, list):
                value = ",".join(str(item) for item in value) or "-"
            values.append("-" if value is None else str(value))
        self.query(path, tuple(values[:5]), number, time, None, 1)
        if path == "dns" and values[3] in _CHAIN_TYPES and values[5] not in _UNSET and values[2] not in _UNSET:
            self.answers(values[2], values[5], number, time, None, 1, _value(values[0]), _value(values[1]),
                         _value(values[4]))

    def finish(self) -> None:
        if self.bad_times:
            self.reader.note(self.bad_time_line, f"{self.bad_times} records with an unreadable time stamp "
                                                 "(masked or corrupt); their time is left empty")


def _distinct(keys: list[tuple[str, ...]]) -> Iterator[tuple[tuple[str, ...], int, int, int]]:
    """(key, count, index of its first line, index of its last line) per distinct key; counted in C."""
    counts = Counter(keys)
    first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    last = dict(zip(keys, range(len(keys)), strict=True))
    for key, count in counts.items():
        yield key, count, first[key], last[key]


def _value(text: str) -> str | None:
    return None if text in _UNSET else text
