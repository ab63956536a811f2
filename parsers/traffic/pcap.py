"""Packet captures (pcap and pcapng, any byte order, optionally compressed): DNS, TLS SNI, HTTP Host/Location.

The capture is streamed in big buffers (parsers/traffic/capture/reader.py); only frames whose headers say they may
carry DNS, a ClientHello or an HTTP head are decoded (parsers/traffic/capture/scanner.py). Identical observations
are folded into one record with a count and first/last time, flushed in first-seen order whenever the table
reaches its bound, so memory stays flat whatever the capture's size.
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from auditor.core.model import (
    Confidence,
    EdgeVia,
    Evidence,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
)
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.lazy import lazy_module
from parsers.traffic.capture.magic import is_capture

if TYPE_CHECKING:
    from parsers.traffic.capture.scanner import Event
    from parsers.traffic.capture.tls import ClientHello

# the decoders load when a capture is read: detection, which every input goes through, needs only the magic
dns = lazy_module("parsers.traffic.capture.dns")
http = lazy_module("parsers.traffic.capture.http")
reader = lazy_module("parsers.traffic.capture.reader")

NAME = "pcap"
SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
MAX_ERRORS = 100  # per file; beyond this only a count is reported
MAX_FOLDED = 20_000  # distinct observations held before they are flushed
MAX_EDGE_SOURCES = 5
MAX_DETAIL = 200


def detect(inp: InputFile) -> bool:
    return is_capture(inp.head) or inp.name.lower().endswith(SUFFIXES)


class _Folder:
    """Folds identical observations and edges, keeping first-seen order, first source and time range."""

    def __init__(self, inp: InputFile) -> None:
        self.inp = inp
        self.observations: dict[tuple, list] = {}
        self.edges: dict[tuple, list] = {}
        self.dns_plans: dict[bytes, _DnsPlan] = {}

    def source(self, frame: int) -> Source:
        return self.inp.source(packet=frame, parser=NAME)

    def observe(self, event: Event, kind: ObservationKind, host: str, client: str | None, server: str | None,
                detail: str = "", rcode: str | None = None) -> None:
        key = (kind, host, client, server, rcode, detail[:MAX_DETAIL])
        slot = self.observations.get(key)
        if slot is None:
            self.observations[key] = [event.frame, event.time, event.time, 1]
            return
        slot[3] += 1
        _widen(slot, event.time)

    def edge(self, event: Event, from_host: str, to_host: str, via: EdgeVia, confidence: Confidence,
             detail: str, client: str | None) -> None:
        if not from_host or not to_host or from_host == to_host:
            return
        key = (from_host, to_host, via, confidence, detail[:MAX_DETAIL])
        slot = self.edges.get(key)
        if slot is None:
            self.edges[key] = [[event.frame], event.time, client]
        elif len(slot[0]) < MAX_EDGE_SOURCES:
            slot[0].append(event.frame)

    def full(self) -> bool:
        return len(self.observations) + len(self.edges) >= MAX_FOLDED

    def drain(self) -> Iterator[Evidence]:
        path = self.inp.display  # Source made here, not through inp.source: one call less per record
        for (kind, host, client, server, rcode, detail), (frame, first, last, count) in self.observations.items():
            yield Observation(host=host, kind=kind, time=first, client=client, server=server, rcode=rcode,
                              detail=detail, source=Source(path, None, frame, NAME), count=count,
                              last_time=last if count > 1 else None)
        for (from_host, to_host, via, confidence, detail), (frames, time, client) in self.edges.items():
            yield RedirectEdge(from_host=from_host, to_host=to_host, via=via, confidence=confidence,
                               evidence=tuple(self.source(f) for f in frames), detail=detail, time=time,
                               client=client)
        self.observations.clear()
        self.edges.clear()


def _widen(slot: list, time: float | None) -> None:
    """Stretch a folded observation's [frame, first, last, count] SLOT to include TIME."""
    if time is not None:
        if slot[1] is None or time < slot[1]:
            slot[1] = time
        if slot[2] is None or time > slot[2]:
            slot[2] = time


def _host(name: str) -> str:
    return name.rstrip(".").lower()


# What one DNS message yields, less the endpoints: (observations as (kind, host, rcode, detail), edges as
# (from, to, via, confidence, detail)). Memoized by the message's bytes (DnsMessage.key), so a name looked up
# again costs one lookup here, not the record walk, the name clean-up and the text formatting again.
_DnsPlan = tuple[tuple[tuple[ObservationKind, str, str | None, str], ...],
                 tuple[tuple[str, str, EdgeVia, Confidence, str], ...]]
MAX_DNS_PLANS = 8192


# Looked up once here: `dns` is a lazy module (every attribute read is a call) and enum members are slow to read.
_A_OR_AAAA = frozenset({1, 28})  # dns.TYPE_A, dns.TYPE_AAAA
_CNAME = 5  # dns.TYPE_CNAME
_QUERY, _ANSWER, _CNAME_KIND = ObservationKind.DNS_QUERY, ObservationKind.DNS_ANSWER, ObservationKind.CNAME
_VIA_CNAME, _HIGH, _MEDIUM = EdgeVia.DNS_CNAME, Confidence.HIGH, Confidence.MEDIUM


def _dns_plan(msg: dns.DnsMessage) -> _DnsPlan:
    observations: list[tuple[ObservationKind, str, str | None, str]] = []
    edges: list[tuple[str, str, EdgeVia, Confidence, str]] = []
    if not msg.is_response:
        qtypes = dns.QTYPES
        for name, qtype in msg.questions:
            observations.append((_QUERY, name.rstrip(".").lower(), None,
                                 qtypes.get(qtype, f"TYPE{qtype}")[:MAX_DETAIL]))
        return tuple(observations), ()
    questions = msg.questions
    asked = _host(questions[0][0]) if questions and questions[0][0] else ""
    rcode = msg.rcode_name
    answers = [r for r in msg.records if r.section == "answer"]
    if asked and (msg.rcode != 0 or not answers):
        observations.append((_ANSWER, asked, rcode, ""))
    for record in answers:
        owner = record.owner.rstrip(".").lower()
        rtype = record.rtype
        if rtype in _A_OR_AAAA:
            observations.append((_ANSWER, owner, rcode, record.value[:MAX_DETAIL]))
        elif rtype == _CNAME:
            target = record.value.rstrip(".").lower()
            detail = f"CNAME {target}; asked for {asked}"
            observations.append((_CNAME_KIND, owner, rcode, detail[:MAX_DETAIL]))
            if owner and target and owner != target:
                edges.append((owner, target, _VIA_CNAME, _HIGH, f"CNAME; asked for {asked}"[:MAX_DETAIL]))
        elif record.value not in ("<Root>", ""):  # HTTPS/SVCB in alias or service form naming another host
            target = _host(record.value)
            kind = dns.QTYPES.get(rtype, str(rtype))
            detail = f"{kind} target {target}"
            observations.append((_ANSWER, owner, rcode, detail[:MAX_DETAIL]))
            if owner and target and owner != target:
                edges.append((owner, target, _VIA_CNAME, _MEDIUM, f"{kind} TargetName; asked for {asked}"[:MAX_DETAIL]))
    return tuple(observations), tuple(edges)


def _fold_dns(folder: _Folder, event: Event) -> None:
    msg: dns.DnsMessage = event.data  # type: ignore[assignment]
    key = msg.key
    plan = folder.dns_plans.get(key) if key else None
    if plan is None:
        plan = _dns_plan(msg)
        if key:
            if len(folder.dns_plans) >= MAX_DNS_PLANS:
                folder.dns_plans.clear()
            folder.dns_plans[key] = plan
    client, server = (event.dst, event.src) if msg.is_response else (event.src, event.dst)
    observations, frame, time = folder.observations, event.frame, event.time
    for kind, host, rcode, detail in plan[0]:
        obs_key = (kind, host, client, server, rcode, detail)
        slot = observations.get(obs_key)
        if slot is None:
            observations[obs_key] = [frame, time, time, 1]
            continue
        slot[3] += 1
        if time is not None:  # _widen inline: this runs once per DNS record
            first = slot[1]
            if first is None or time < first:
                slot[1] = time
            last = slot[2]
            if last is None or time > last:
                slot[2] = time
    if plan[1]:
        edges = folder.edges
        for from_host, to_host, via, confidence, detail in plan[1]:
            edge_key = (from_host, to_host, via, confidence, detail)
            edge = edges.get(edge_key)
            if edge is None:
                edges[edge_key] = [[frame], time, client]
            elif len(edge[0]) < MAX_EDGE_SOURCES:
                edge[0].append(frame)


def _fold_tls(folder: _Folder, event: Event) -> None:
    hello: ClientHello = event.data  # type: ignore[assignment]
    detail = ",".join(hello.alpn)
    if hello.partial:
        detail = f"{detail} (partial ClientHello)".lstrip()
    for name in hello.server_names:
        folder.observe(event, ObservationKind.TLS_SNI, _host(name), event.src, event.dst, detail)


def _path_only(path: str) -> str:
    # Query strings carry tokens and signatures: never copy them into evidence.
    return path.split("?", 1)[0].split("#", 1)[0]


def _fold_http(folder: _Folder, event: Event) -> None:
    if event.kind == "http-request":
        request: http.Request = event.data  # type: ignore[assignment]
        if request.host:
            folder.observe(event, ObservationKind.HTTP_HOST, http.host_without_port(request.host), event.src,
                           event.dst, _path_only(request.path))
        return
    response: http.Response = event.data  # type: ignore[assignment]
    if not (300 <= response.status < 400 and response.location):
        return
    request = event.request
    from_host = http.host_without_port(request.host) if request and request.host else ""
    to_host = http.location_host(response.location, request.host if request else None)
    if not to_host:
        return
    parts = urlsplit(response.location.strip())
    where = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path
    path = _path_only(request.path) if request else "?"
    folder.observe(event, ObservationKind.HTTP_REDIRECT, to_host, event.dst, event.src,
                   f"{response.status} {where} (from {from_host or '?'}{path})")
    folder.edge(event, from_host, to_host, EdgeVia.HTTP_LOCATION, Confidence.HIGH,
                f"{response.status} for {path}", event.dst)


_FOLDERS = {"dns": _fold_dns, "tls": _fold_tls, "http-request": _fold_http, "http-response": _fold_http}


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    from parsers.traffic.capture.scanner import Scanner

    scanner = Scanner()
    folder = _Folder(inp)
    errors = 0

    def drain() -> Iterator[Evidence]:
        nonlocal errors
        for event in scanner.events:
            if event.kind == "error":
                errors += 1
                if errors <= MAX_ERRORS:
                    where = f"packet {event.frame}: " if event.frame else ""
                    yield inp.error(f"{where}{event.data}", packet=event.frame or None, parser=NAME)
            else:
                _FOLDERS[event.kind](folder, event)
        scanner.events.clear()
        if folder.full():
            yield from folder.drain()

    try:
        with inp.open() as stream:
            for _ in reader.scan(stream, scanner, ctx.advance):
                yield from drain()
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        scanner.error(0, f"cannot read the rest of the file: {exc}")
    scanner.flush()
    yield from drain()
    yield from folder.drain()
    if errors > MAX_ERRORS:
        yield inp.error(f"{errors - MAX_ERRORS} more packet errors not listed", parser=NAME)
