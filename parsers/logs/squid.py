"""Squid `access.log`, native format and common log format (`logformat common` / emulate_httpd_log).

    1286536309.450    154 192.168.0.68 TCP_DENIED/403 3617 CONNECT registry-1.docker.io:443 - HIER_NONE/- text/html
    192.168.0.68 - - [08/Oct/2010:10:31:49 +0000] "CONNECT ghcr.io:443 HTTP/1.1" 403 3617 TCP_DENIED:HIER_NONE
`TCP_DENIED/403` (and TCP_DENIED_REPLY/403) is the proxy refusing by policy -> a blocked attempt
(proxy-denied) for the host of the URL or the CONNECT target. A 407 is an authentication challenge, not a
policy decision: ignored. Every other request is an http-host observation of the host, with `/v2/` (or `/v2`)
as detail when its path is a registry API call (visible when TLS is bumped), else none: the path says nothing
more to a decision, and a log of blob pulls names a new path on every line; CONNECT carries no path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from auditor.core.model import BlockReason, Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs import squid_fast
from parsers.logs.line_reader import LineParser, LineStats, head_lines, host_name, is_ip, preview, strip_port

NAME = "squid"

_NATIVE = re.compile(
    r"(?P<ts>\d+(?:\.\d+)?) +(?P<elapsed>-?\d+) (?P<client>\S+) (?P<code>[A-Z_]+)/(?P<status>\d{3}) "
    r"(?P<bytes>-?\d+) (?P<method>\S+) (?P<url>\S+)")
_COMMON = re.compile(
    r"(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] \"(?P<method>[A-Z_]+) (?P<url>\S+)(?: [^\"]*)?\" "
    r"(?P<status>\d{3}) (?P<bytes>-|\d+) (?P<code>[A-Z_]+):\S+")
# How a line _NATIVE can match starts (a digit, ASCII or the lead byte of another script's; a \r head_lines
# strips): a head none of whose first 40 lines starts so, and without _COMMON's `] "`, is no access log. The test
# is on the raw head (its lines are head_lines' lines), before any decoding or splitting of text.
_NATIVE_STARTS = frozenset(bytes([byte]) for byte in (*b"0123456789\r", *range(0x80, 0x100)))


def detect(inp: InputFile) -> bool:
    head = inp.head
    if b'] "' not in head and _NATIVE_STARTS.isdisjoint([line[:1] for line in head.split(b"\n", 40)[:40]]):
        return False
    return any(_NATIVE.match(line) or _COMMON.match(line) for line in head_lines(inp, 10))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _SquidParser(inp, ctx, stats).run()


def target_of(method: str, url: str) -> tuple[str, str]:
    """(host, path) of a request: CONNECT's `host:port`, or an absolute URL; ('', '') if neither."""
    if method == "CONNECT":
        return strip_port(url), ""
    if "://" not in url:
        return "", ""
    plain = _plain_target(url)
    if plain is not None:
        return plain
    try:
        parts = urlsplit(url)
        return (parts.hostname or "", parts.path or "/")
    except ValueError:
        return "", ""


_PLAIN_SCHEMES = ("http://", "https://")
_NETLOC_ENDS = re.compile(r"[/?#]")


def _plain_target(url: str) -> tuple[str, str] | None:
    """What urlsplit gives for the usual proxy URL, `http(s)://host[:port]/path`, without its general
    machinery (urlsplit was 40% of a line's cost in a log of distinct URLs: blob digests); None for anything
    else (user info, brackets, a zone id, control or non-ASCII bytes, another scheme), which urlsplit reads.
    tests/logs/test_squid_target.py checks it against urlsplit."""
    if not url.startswith(_PLAIN_SCHEMES) or not url.isascii() or not url.isprintable():
        return None
    start = 7 if url[4] == ":" else 8
    end = _NETLOC_ENDS.search(url, start)
    stop = end.start() if end is not None else len(url)
    netloc = url[start:stop]
    if "@" in netloc or "[" in netloc or "]" in netloc or "%" in netloc:
        return None
    host = netloc.partition(":")[0].lower()
    path = url[stop:].partition("#")[0].partition("?")[0]
    return host, path or "/"


_IGNORE, _BAD, _BLOCK, _OBSERVE = squid_fast.IGNORE, squid_fast.BAD, squid_fast.BLOCK, squid_fast.OBSERVE
_VERDICT_LIMIT = 100_000  # distinct (code, status, method, URL) remembered per file


def _verdict(code: str, status: str, method: str, url: str) -> tuple[str, str, str]:
    """What a request says, whoever made it: (_IGNORE, reason, ''), (_BAD, error, ''), (_BLOCK, host,
    detail) or (_OBSERVE, host, api_path(path))."""
    if status == "407":
        return _IGNORE, "proxy authentication challenge (407)", ""
    raw_host, path = target_of(method, url)
    if not raw_host:
        return _IGNORE, "request without a host (error or internal entry)", ""
    host: str | None = raw_host
    if not is_ip(raw_host):
        host, problem = host_name(raw_host)
        if host is None:
            return _BAD, f"request host: {problem}", ""
    if code.startswith("TCP_DENIED") and status == "403":
        return _BLOCK, host, f"squid {code}/{status} {method}"
    return _OBSERVE, host, api_path(path)


def api_path(path: str) -> str:
    """What an observation keeps of a request's PATH: whether it calls the registry API. squid_fast.py keys a
    request on the URL up to four bytes after its host, which is all this reads."""
    return "/v2/" if path.startswith("/v2/") else "/v2" if path == "/v2" else ""


class _SquidParser(LineParser):
    NAME = NAME

    def __init__(self, inp: InputFile, ctx: ParseContext, stats: LineStats) -> None:
        super().__init__(inp, ctx, stats)
        self.common_times: dict[str, float | None] = {}
        self.verdicts: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}
        self.requests = squid_fast.RequestMemo()
        self.batch.before_flush = lambda: self.requests.settle(self)  # the block path's sums go in first

    def block(self, text: str, first_line: int) -> None:
        """Big blocks go the numpy way (squid_fast.py), small ones line by line: the same records and errors."""
        if len(text) >= squid_fast.MIN_BYTES and self.fast:
            squid_fast.scan_block(self, text, first_line, self.requests)
        else:
            super().block(text, first_line)

    fast = True  # the equivalence tests turn it off to get the line-by-line path

    def release(self) -> None:
        # one verdict and one numbered request key per distinct request: 80 MB at 10^5 hosts, alive until the
        # run ended, while the store took the records
        self.requests = squid_fast.RequestMemo()
        self.verdicts = {}
        self.common_times = {}

    def line(self, text: str, number: int) -> None:
        match = _NATIVE.match(text)
        if match is not None:
            try:
                time: float | None = float(match["ts"])
            except ValueError:
                time = None
        else:
            match = _COMMON.match(text)
            if match is None:
                self.malformed(number, f"not a Squid access.log line: {preview(text)}")
                return
            time = self.common_time(match["time"])
        self.request(number, time, match["client"], match["code"], match["status"], match["method"], match["url"])

    def request(self, number: int, time: float | None, client: str, code: str, status: str, method: str,
                url: str) -> None:
        """Fold the request on line NUMBER. What a request says is decided once per distinct (code, status,
        method, URL): urlsplit and the host-name check are most of a line's cost, and a proxy log repeats
        the same CONNECTs all day."""
        tag, value, extra = self.verdict(code, status, method, url)
        if tag is _IGNORE:
            self.stats.ignore(value)
        elif tag is _BAD:
            self.malformed(number, value)
        elif tag is _BLOCK:
            self.stats.parsed += 1
            self.batch.block(value, BlockReason.PROXY_DENIED, number, time, client, extra)
        else:
            self.stats.parsed += 1
            self.batch.observe(value, ObservationKind.HTTP_HOST, number, time, client, None, None, extra)

    # the block path's verdict: its requests are numbered once each already (squid_fast.RequestMemo), so a memo
    # here would only hold a second key and verdict per distinct request, 10^5 of them in a fleet's log
    fresh_verdict = staticmethod(_verdict)

    def verdict(self, code: str, status: str, method: str, url: str) -> tuple[str, str, str]:
        verdicts = self.verdicts
        verdict = verdicts.get((code, status, method, url))
        if verdict is None:
            if len(verdicts) >= _VERDICT_LIMIT:
                verdicts.clear()
            verdict = verdicts[(code, status, method, url)] = _verdict(code, status, method, url)
        return verdict

    def common_time(self, text: str) -> float | None:
        if text not in self.common_times:
            try:
                self.common_times[text] = datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
            except ValueError:
                self.common_times[text] = None
        return self.common_times[text]
