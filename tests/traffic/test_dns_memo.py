"""The scanner's DNS memo is invisible in what it yields: a repeat gets its own identifier and the same
decoded content, and a flood of new names (where memoizing only costs) pauses it without changing a record."""

from __future__ import annotations

import struct

from parsers.traffic.capture import dns
from parsers.traffic.capture.scanner import MAX_DNS_MEMO, Scanner


def _name(host: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in host.split(".")) + b"\x00"


def _response(ident: int, host: str) -> bytes:
    question = _name(host) + struct.pack("!HH", 1, 1)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([203, 0, 113, 9])
    return struct.pack("!6H", ident, 0x8180, 1, 1, 0, 0) + question + answer


def _fields(msg: dns.DnsMessage) -> tuple:
    return (msg.ident, msg.is_response, msg.rcode, msg.questions,
            [(r.section, r.owner, r.rtype, r.value) for r in msg.records], msg.error)


def test_a_repeat_keeps_its_own_identifier() -> None:
    scanner = Scanner()
    for ident in (7, 9):
        scanner._dns(_response(ident, "registry.example.com"), ident, None, "10.0.0.53", "10.0.0.5", False)
    first, second = (event.data for event in scanner.events)
    assert (first.ident, second.ident) == (7, 9)
    assert _fields(second)[1:] == _fields(first)[1:] == _fields(dns.decode(_response(9, "registry.example.com")))[1:]
    assert second.records is first.records  # decoded once


def test_a_flood_of_new_names_pauses_the_memo_and_changes_nothing() -> None:
    scanner = Scanner()
    payloads = [_response(i & 0xFFFF, f"h{i}.flood.example") for i in range(MAX_DNS_MEMO * 2 + 10)]
    paused = False
    for frame, payload in enumerate(payloads, 1):
        scanner._dns(payload, frame, None, "10.0.0.53", "10.0.0.5", False)
        paused = paused or scanner.dns_memo_pause > 0
    assert paused
    assert [_fields(e.data) for e in scanner.events] == [_fields(dns.decode(p)) for p in payloads]
