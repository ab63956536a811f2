"""From one link-layer frame to the few payloads worth decoding: DNS, TLS ClientHello, HTTP heads.

`Scanner.packet` is the slow path: it decodes link, IP and transport headers completely. The readers
(reader.py) call it only for frames their inline header test cannot rule out, so bulk TCP costs a few
byte comparisons. State kept across packets is bounded: partial ClientHellos and HTTP heads, DNS-over-TCP
streams, and the queue of unanswered HTTP requests per connection.
"""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field

from parsers.traffic.capture import dns, http, tls
from parsers.traffic.capture.fragments import Datagram, Reassembler

DNS_PORTS = frozenset({53, 5353, 5355})  # DNS, mDNS, LLMNR: the ports tshark decodes as DNS by default
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
PPPOE_SESSION = 0x8864
LINK_ETHERNET, LINK_NULL, LINK_LOOP, LINK_SLL, LINK_SLL2 = 1, 0, 108, 113, 276
LINK_RAW = frozenset({12, 14, 101, 228, 229})
IPV6_EXTENSIONS = frozenset({0, 43, 60, 51})  # hop-by-hop, routing, destination options, AH
# Bounds on cross-packet state, whatever the capture holds.
MAX_PENDING_FLOWS = 1024
PENDING_FRAME_AGE = 200_000  # a first flight still incomplete this many frames later is given up
MAX_DNS_STREAMS = 256  # each holds at most one unfinished message (< 64 KiB)
MAX_DNS_STREAM_BYTES = 256 * 1024
MAX_HTTP_FLOWS = 4096
MAX_QUEUED_REQUESTS = 16
# Decoded DNS messages kept by their bytes less the identifier: a resolver answers the same names again and
# again, and each repeat then costs a dict lookup instead of a decode. Bounded in entries and message size.
MAX_DNS_MEMO = 8192
MAX_DNS_MEMO_BYTES = 512
DNS_MEMO_PAUSE = 8 * MAX_DNS_MEMO
MAX_ADDRESS_NAMES = 65536


@dataclass(slots=True)
class Event:
    """One decoded thing, with the frame it came from. `kind`: dns, tls, http-request, http-response, error."""

    kind: str
    frame: int
    time: float | None
    src: str = ""
    dst: str = ""
    data: object = None
    request: http.Request | None = None  # for http-response: the request it answers, when seen


@dataclass(slots=True)
class _Stream:
    """The start of one TCP direction's payload, gathered until a ClientHello or HTTP head is complete."""

    kind: str  # "tls", "http-request", "http-response", "dns"
    frame: int
    time: float | None
    src: str
    dst: str
    next_seq: int
    data: bytearray = field(default_factory=bytearray)
    reverse: bytes = b""  # for an HTTP response: the key of the request direction
    consumed: int = 0  # DNS over TCP: stream bytes already decoded, for the bound


def _ahead(seq: int, expected: int) -> int:
    """Signed distance from EXPECTED to SEQ in 32-bit sequence space."""
    diff = (seq - expected) & 0xFFFFFFFF
    return diff - 0x100000000 if diff & 0x80000000 else diff


class Scanner:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.pending: dict[bytes, _Stream] = {}
        self.dns_streams: dict[bytes, _Stream] = {}
        self.http_requests: dict[bytes, deque[http.Request]] = {}
        self.fragments = Reassembler()
        self.dns_memo: dict[bytes, dns.DnsMessage | dns.DnsError] = {}
        self.dns_memo_hits = 0  # since the memo was last cleared
        self.dns_memo_pause = 0  # messages still to decode without memoizing them
        self.ipv4_names: dict[bytes, str] = {}  # address text by its 4 bytes: clients and resolvers repeat

    # ---- link and network layers -------------------------------------------------------------------------
    def packet(self, data: bytes, p: int, end: int, frame: int, ts: float | None, linktype: int, cut: bool) -> None:
        """Decode the frame DATA[p:end] far enough to dispatch it. CUT: caplen < original length."""
        try:
            self._packet(data, p, end, frame, ts, linktype, cut)
        except Exception as exc:  # a decoder bug on hostile bytes costs this packet, never the capture
            self.error(frame, f"could not decode the packet ({type(exc).__name__}: {exc}); skipped")

    def _packet(self, data: bytes, p: int, end: int, frame: int, ts: float | None, linktype: int,
                cut: bool) -> None:
        if linktype == LINK_ETHERNET:
            if end - p < 14:
                return
            ethertype = (data[p + 12] << 8) | data[p + 13]
            p += 14
            while ethertype in VLAN_TAGS and p + 4 <= end:
                ethertype = (data[p + 2] << 8) | data[p + 3]
                p += 4
            if ethertype == PPPOE_SESSION and p + 8 <= end:
                ppp = (data[p + 6] << 8) | data[p + 7]
                ethertype = {0x0021: ETH_IPV4, 0x0057: ETH_IPV6}.get(ppp, 0)
                p += 8
            if ethertype not in (ETH_IPV4, ETH_IPV6):
                return
        elif linktype == LINK_SLL:
            p += 16
        elif linktype == LINK_SLL2:
            p += 20
        elif linktype in (LINK_NULL, LINK_LOOP):
            p += 4
        elif linktype not in LINK_RAW:
            return
        if p >= end:
            return
        version = data[p] >> 4
        if version == 4:
            self._ipv4(data, p, end, frame, ts, cut)
        elif version == 6:
            self._ipv6(data, p, end, frame, ts, cut)

    def ipv4_udp(self, data: bytes, p: int, end: int, frame: int, ts: float | None, cut: bool) -> None:
        """An Ethernet/IPv4 (IHL 5)/UDP frame to or from a DNS port whose IP header starts at P: what `packet`
        would do with it, without the link and transport dispatch (the reader's header test found the kind)."""
        try:
            frag = (data[p + 6] << 8) | data[p + 7]
            if frag & 0x3FFF:  # fragments take the general path
                self._ipv4(data, p, end, frame, ts, cut)
                return
            total = (data[p + 2] << 8) | data[p + 3]
            if total >= 20 and p + total < end:
                end = p + total  # drop link-layer padding
            elif p + total > end:
                cut = True
            q = p + 20
            if q + 8 > end:
                return
            ulen = (data[q + 4] << 8) | data[q + 5]
            if ulen >= 8 and q + ulen < end:
                end = q + ulen
            names = self.ipv4_names
            src, dst = data[p + 12:p + 16], data[p + 16:p + 20]
            src_name = names.get(src)
            if src_name is None:
                src_name = self._ipv4_name(src)
            dst_name = names.get(dst)
            if dst_name is None:
                dst_name = self._ipv4_name(dst)
            self._dns(data[q + 8:end], frame, ts, src_name, dst_name, cut)
        except Exception as exc:  # as in `packet`: a decoder bug on hostile bytes costs this packet only
            self.error(frame, f"could not decode the packet ({type(exc).__name__}: {exc}); skipped")

    def _ipv4_name(self, raw: bytes) -> str:
        if len(self.ipv4_names) >= MAX_ADDRESS_NAMES:
            self.ipv4_names.clear()
        name = self.ipv4_names[raw] = socket.inet_ntop(socket.AF_INET, raw)
        return name

    def _ipv4(self, data: bytes, p: int, end: int, frame: int, ts: float | None, cut: bool) -> None:
        if end - p < 20:
            return
        ihl = (data[p] & 15) * 4
        total = (data[p + 2] << 8) | data[p + 3]
        if ihl < 20:
            return
        frag = ((data[p + 6] << 8) | data[p + 7])
        if total >= ihl and p + total < end:
            end = p + total  # drop link-layer padding
        elif p + total > end:
            cut = True
        src = data[p + 12:p + 16]
        dst = data[p + 16:p + 20]
        proto = data[p + 9]
        if frag & 0x3FFF:  # a fragment: offset in 8-byte units, 0x2000 "more fragments"
            key = b"4" + src + dst + data[p + 4:p + 6] + data[p + 9:p + 10]
            if self._fragment(key, (frag & 0x1FFF) * 8, bool(frag & 0x2000), proto, socket.AF_INET, src, dst,
                              data[p + ihl:end], frame, ts, cut):
                return
            cut = True
        self._transport(proto, data, p + ihl, end, src, dst, socket.AF_INET, frame, ts, cut)

    def _ipv6(self, data: bytes, p: int, end: int, frame: int, ts: float | None, cut: bool) -> None:
        if end - p < 40:
            return
        plen = (data[p + 4] << 8) | data[p + 5]
        if plen and p + 40 + plen < end:
            end = p + 40 + plen
        elif p + 40 + plen > end:
            cut = True
        nxt = data[p + 6]
        src = data[p + 8:p + 24]
        dst = data[p + 24:p + 40]
        q = p + 40
        for _ in range(8):  # a chain longer than this is hostile
            if nxt in IPV6_EXTENSIONS:
                if q + 2 > end:
                    return
                length = (data[q + 1] + 2) * 4 if nxt == 51 else (data[q + 1] + 1) * 8
                nxt = data[q]
                q += length
            elif nxt == 44:  # fragment header
                if q + 8 > end:
                    return
                offset_flags = (data[q + 2] << 8) | data[q + 3]
                key = b"6" + src + dst + data[q + 4:q + 8]
                if self._fragment(key, offset_flags & 0xFFF8, bool(offset_flags & 1), data[q], socket.AF_INET6,
                                  src, dst, data[q + 8:end], frame, ts, cut):
                    return
                cut = cut or bool(offset_flags & 1)
                nxt = data[q]
                q += 8
            else:
                break
        self._transport(nxt, data, q, end, src, dst, socket.AF_INET6, frame, ts, cut)

    def _fragment(self, key: bytes, offset: int, more: bool, proto: int, family: int, src: bytes, dst: bytes,
                  payload: bytes, frame: int, ts: float | None, cut: bool) -> bool:
        """Route one fragment; True when it was consumed (kept, or a later piece). False: decode it as is."""
        if offset:
            done = self.fragments.add(key, offset, more, payload) if self.fragments.datagrams else None
            if done is not None:
                datagram, whole = done
                self._transport(datagram.proto, whole, 0, len(whole), datagram.src, datagram.dst, datagram.family,
                                frame, ts, False)
            return True  # a later fragment alone has no transport header to read
        if not more or cut or proto != 17 or len(payload) < 8:
            return False  # an atomic fragment, or not DNS over UDP: decode the first piece as it is
        ports = ((payload[0] << 8) | payload[1], (payload[2] << 8) | payload[3])
        if ports[0] not in DNS_PORTS and ports[1] not in DNS_PORTS:
            return False
        for old in self.fragments.start(key, Datagram(proto, family, src, dst, frame, ts), payload):
            self._partial_datagram(old)
        return True

    def _partial_datagram(self, datagram: Datagram) -> None:
        """The rest of a fragmented datagram never came: decode the bytes that did, as a cut packet."""
        data = datagram.prefix()
        self._transport(datagram.proto, data, 0, len(data), datagram.src, datagram.dst, datagram.family,
                        datagram.frame, datagram.time, True)

    # ---- transport ---------------------------------------------------------------------------------------
    def _transport(self, proto: int, data: bytes, q: int, end: int, src: bytes, dst: bytes, family: int,
                   frame: int, ts: float | None, cut: bool) -> None:
        if proto == 17:
            if q + 8 > end:
                return
            sport = (data[q] << 8) | data[q + 1]
            dport = (data[q + 2] << 8) | data[q + 3]
            if sport in DNS_PORTS or dport in DNS_PORTS:
                ulen = (data[q + 4] << 8) | data[q + 5]
                if ulen >= 8 and q + ulen < end:
                    end = q + ulen
                self._dns(data[q + 8:end], frame, ts, _addr(family, src), _addr(family, dst), cut)
        elif proto == 6:
            if q + 20 > end:
                return
            payload_at = q + (data[q + 12] >> 4) * 4
            if payload_at >= end:
                return
            ports = data[q:q + 4]
            key = src + dst + ports
            sport = (data[q] << 8) | data[q + 1]
            dport = (data[q + 2] << 8) | data[q + 3]
            seq = int.from_bytes(data[q + 4:q + 8], "big")
            payload = data[payload_at:end]
            self._tcp(key, dst + src + ports[2:] + ports[:2], sport, dport, seq, payload, family, src, dst,
                      frame, ts)

    def _tcp(self, key: bytes, reverse: bytes, sport: int, dport: int, seq: int, payload: bytes, family: int,
             src: bytes, dst: bytes, frame: int, ts: float | None) -> None:
        stream = self.pending.get(key)
        if stream is not None:
            if self._extend(stream, seq, payload):
                if self._finish(stream):
                    del self.pending[key]
            else:
                del self.pending[key]
                self._give_up(stream)
            return
        if sport == 53 or dport == 53:
            self._dns_tcp(key, seq, payload, family, src, dst, frame, ts)
            return
        first = payload[0]
        if first == 0x16:
            if tls.looks_like_client_hello(payload):
                self._start(key, "tls", seq, payload, family, src, dst, frame, ts)
        elif first in http.FIRST_BYTES and http.starts_message(payload):
            kind = "http-response" if payload.startswith(b"HTTP/") else "http-request"
            request_key = key if kind == "http-request" else reverse
            self._start(key, kind, seq, payload, family, src, dst, frame, ts, request_key)

    def _start(self, key: bytes, kind: str, seq: int, payload: bytes, family: int, src: bytes, dst: bytes,
               frame: int, ts: float | None, reverse: bytes = b"") -> None:
        stream = _Stream(kind, frame, ts, _addr(family, src), _addr(family, dst),
                         (seq + len(payload)) & 0xFFFFFFFF, bytearray(payload), reverse)
        if self._finish(stream, payload):
            return
        if len(self.pending) >= MAX_PENDING_FLOWS:
            oldest = next(iter(self.pending))
            self._give_up(self.pending.pop(oldest))
        self.pending[key] = stream

    @staticmethod
    def _extend(stream: _Stream, seq: int, payload: bytes) -> bool:
        """Append PAYLOAD in sequence order; False when a gap shows a segment was lost."""
        ahead = _ahead(seq, stream.next_seq)
        if ahead > 0:
            return False
        if ahead < 0:  # retransmission, possibly with new bytes at its end
            payload = payload[-ahead:]
        if payload:
            stream.data += payload
            stream.next_seq = (stream.next_seq + len(payload)) & 0xFFFFFFFF
        return True

    def _finish(self, stream: _Stream, data: bytes | None = None) -> bool:
        """Decode the stream if it is complete (or over its bound); True when it needs nothing more. DATA: the
        stream's bytes when the caller has them as bytes already (its first segment)."""
        if data is None:
            data = bytes(stream.data)
        if stream.kind == "tls":
            need = tls.needed_bytes(data)
            if need == 0:
                hs, _ = tls.handshake_bytes(data)
                self._hello(stream, hs, partial=False)
                return True
            if len(data) >= tls.MAX_HELLO_BYTES:
                self._give_up(stream)
                return True
            return False
        if http.head_complete(data) or len(data) >= http.MAX_HEAD_BYTES:
            self._http(stream, data)
            return True
        return False

    def _give_up(self, stream: _Stream) -> None:
        """The rest of a first flight never came: decode what did (tshark would show nothing here)."""
        data = bytes(stream.data)
        if stream.kind == "tls":
            hs, complete = tls.handshake_bytes(data)
            if len(hs) >= 4:
                self._hello(stream, hs, partial=not complete)
        else:
            self._http(stream, data)

    def flush(self) -> None:
        """End of capture: decode every partial first flight still waiting."""
        for stream in self.pending.values():
            self._give_up(stream)
        self.pending.clear()
        for datagram in self.fragments.drain():
            self._partial_datagram(datagram)

    def expire(self, frame: int) -> None:
        """Give up first flights that have waited too long, so bulk traffic stays on the fast path."""
        stale = [key for key, stream in self.pending.items() if frame - stream.frame > PENDING_FRAME_AGE]
        for key in stale:
            self._give_up(self.pending.pop(key))
        for datagram in self.fragments.expire(frame):
            self._partial_datagram(datagram)

    # ---- application payloads ------------------------------------------------------------------------------
    def _hello(self, stream: _Stream, hs: bytes, partial: bool) -> None:
        try:
            hello = tls.parse_client_hello(hs, partial=partial)
        except tls.TlsError as exc:
            if not partial:
                self.error(stream.frame, f"TLS ClientHello from {stream.src} to {stream.dst}: {exc}")
            if exc.hello is None:
                return
            hello = exc.hello  # names read before the lying length are still what the client sent
        if hello.server_names:
            self.events.append(Event("tls", stream.frame, stream.time, stream.src, stream.dst, hello))

    def _http(self, stream: _Stream, data: bytes) -> None:
        for _ in range(MAX_QUEUED_REQUESTS):  # pipelined heads arriving in one buffer
            lines = http.head_lines(data)  # read once: the message and what follows it both need them
            rest = http.next_message(data, lines)
            self._http_one(stream, lines)
            if rest is None:
                return
            data = rest

    def _http_one(self, stream: _Stream, lines: list[str]) -> None:
        if stream.kind == "http-request":
            request = http.parse_request(lines)
            if request is None:
                return
            self.events.append(Event("http-request", stream.frame, stream.time, stream.src, stream.dst, request))
            queue = self.http_requests.get(stream.reverse)
            if queue is None:
                if len(self.http_requests) >= MAX_HTTP_FLOWS:
                    del self.http_requests[next(iter(self.http_requests))]
                queue = self.http_requests[stream.reverse] = deque(maxlen=MAX_QUEUED_REQUESTS)
            queue.append(request)
            return
        response = http.parse_response(lines)
        if response is None:
            return
        queue = self.http_requests.get(stream.reverse)
        request = None
        if queue:
            interim = 100 <= response.status < 200 and response.status != 101
            # an interim 1xx answers the same request as the final response still to come
            request = queue[0] if interim else queue.popleft()
        self.events.append(Event("http-response", stream.frame, stream.time, stream.src, stream.dst, response,
                                 request))

    def _dns(self, payload: bytes, frame: int, ts: float | None, src: str, dst: str, cut: bool) -> None:
        key = payload[2:]
        known = self.dns_memo.get(key)
        if known is None:
            try:
                known = dns.decode(payload)
            except dns.DnsError as exc:
                known = exc.with_traceback(None)  # the traceback's frames would hold the read buffer
            if self.dns_memo_pause:
                self.dns_memo_pause -= 1
            elif 12 <= len(payload) <= MAX_DNS_MEMO_BYTES:  # shorter: the error names the length
                if len(self.dns_memo) >= MAX_DNS_MEMO:
                    if self.dns_memo_hits < MAX_DNS_MEMO // 16:
                        # every name new (a random-subdomain flood, a scan): memoizing only costs, so pause
                        self.dns_memo_pause = DNS_MEMO_PAUSE
                    self.dns_memo_hits = 0
                    self.dns_memo.clear()
                self.dns_memo[key] = known
                if type(known) is dns.DnsMessage:
                    known.key = key
            msg = known if type(known) is dns.DnsMessage else None
        elif type(known) is dns.DnsMessage:  # the same message again: only the identifier may differ
            self.dns_memo_hits += 1
            msg = dns.DnsMessage((payload[0] << 8) | payload[1], known.is_response, known.rcode, known.questions,
                                 known.records, known.error, key)
        else:
            msg = None
        if msg is None:
            exc = known
            if not (cut and exc.truncated):  # type: ignore[union-attr]
                self.error(frame, f"DNS message from {src} to {dst}: {exc}")
            return
        if msg.error is not None and not (cut and msg.error.truncated):
            empty = not msg.questions and not msg.records
            self.error(frame, f"DNS {'response' if msg.is_response else 'query'} from {src} to {dst}: "
                              f"{msg.error}; {'message skipped' if empty else 'records before it kept'}")
            if empty:
                return
        self.events.append(Event("dns", frame, ts, src, dst, msg))

    def _dns_tcp(self, key: bytes, seq: int, payload: bytes, family: int, src: bytes, dst: bytes, frame: int,
                 ts: float | None) -> None:
        """DNS over TCP: 2-byte length prefix, several messages per segment or one across segments."""
        stream = self.dns_streams.get(key)
        if stream is None:
            if len(self.dns_streams) >= MAX_DNS_STREAMS:
                del self.dns_streams[next(iter(self.dns_streams))]
            stream = self.dns_streams[key] = _Stream("dns", frame, ts, _addr(family, src), _addr(family, dst),
                                                      seq)
        elif stream.next_seq < 0:
            return  # past its bound or broken by a gap
        if not self._extend(stream, seq, payload):
            stream.next_seq = -1
            return
        buf = stream.data
        while len(buf) >= 2:
            length = (buf[0] << 8) | buf[1]
            if len(buf) < 2 + length:
                break
            self._dns(bytes(buf[2:2 + length]), frame, ts, stream.src, stream.dst, False)
            del buf[:2 + length]
            stream.consumed += 2 + length
        if stream.consumed + len(buf) > MAX_DNS_STREAM_BYTES:
            stream.next_seq = -1
            buf.clear()

    def error(self, frame: int, message: str) -> None:
        self.events.append(Event("error", frame, None, data=message))


def _addr(family: int, raw: bytes) -> str:
    return socket.inet_ntop(family, raw)
