"""The DNS and TLS decoders against dpkt, an independent decoder, on every fixture capture.

For each frame dpkt can take apart (Ethernet with VLAN tags, Linux cooked v1/v2, BSD loopback, raw IP), every
UDP payload on a DNS port and every TCP payload that holds a whole ClientHello record is decoded twice: by
dpkt and by parsers/traffic/capture. Names, types, rcodes, answers and SNI must agree. dpkt does its own framing
(link layers, IP, UDP, TCP), so the payloads compared are the ones an independent reader finds.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.traffic.capture import dns as our_dns
from parsers.traffic.capture import tls as our_tls
from parsers.traffic.capture.scanner import DNS_PORTS
from tests.conftest import REPO_ROOT

dpkt = pytest.importorskip("dpkt")

CAPTURES = sorted([*(REPO_ROOT / "tests" / "fixtures" / "traffic" / "pcap").glob("*.pcap*"),
                   *(REPO_ROOT / "sample_pcaps").glob("*.pcap")])
_RAW_LINKS = {12, 14, 101, 228, 229}
LYING_LENGTHS = {"malformed.pcap"}  # make_fixtures.py writes a ClientHello whose SNI list length lies


def _frames(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(frame number, link type, bytes) as dpkt reads them; stops quietly where dpkt gives up on the file."""
    with path.open("rb") as handle:
        magic = handle.read(4)
        handle.seek(0)
        try:
            reader = dpkt.pcapng.Reader(handle) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(handle)
        except (ValueError, dpkt.dpkt.Error):
            return
        link = reader.datalink()
        number = 0
        try:
            for _, data in reader:
                number += 1
                yield number, link, data
        except (ValueError, dpkt.dpkt.Error, struct.error):
            return


def _network(link: int, data: bytes) -> object | None:
    """dpkt's IP or IP6 object of one frame, or None when dpkt cannot reach the network layer."""
    try:
        if link == 1:
            layer = dpkt.ethernet.Ethernet(data).data
        elif link in (0, 108):
            layer = dpkt.loopback.Loopback(data).data
        elif link == 113:
            layer = dpkt.sll.SLL(data).data
        elif link == 276:
            layer = dpkt.sll2.SLL2(data).data
        elif link in _RAW_LINKS and data:
            layer = dpkt.ip.IP(data) if data[0] >> 4 == 4 else dpkt.ip6.IP6(data)
        else:
            return None
    except (dpkt.dpkt.Error, ValueError, IndexError, struct.error):
        return None
    return layer if isinstance(layer, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _payloads(path: Path) -> Iterator[tuple[int, str, bytes]]:
    """(frame, 'udp-dns' | 'tcp', payload) of unfragmented UDP on DNS ports and TCP with data."""
    for frame, link, data in _frames(path):
        net = _network(link, data)
        if net is None:
            continue
        if isinstance(net, dpkt.ip.IP) and (net.mf or net.offset):
            continue  # a fragment: the reassembled datagram is not dpkt's to give
        transport = net.data
        if isinstance(transport, dpkt.udp.UDP) and (transport.sport in DNS_PORTS or transport.dport in DNS_PORTS):
            yield frame, "udp-dns", bytes(transport.data)
        elif isinstance(transport, dpkt.tcp.TCP) and transport.data:
            yield frame, "tcp", bytes(transport.data)


def _dpkt_answer(record: object) -> tuple[str, int, str] | None:
    if record.type == dpkt.dns.DNS_A:
        return record.name.lower(), record.type, socket.inet_ntop(socket.AF_INET, record.rdata)
    if record.type == dpkt.dns.DNS_AAAA:
        return record.name.lower(), record.type, socket.inet_ntop(socket.AF_INET6, record.rdata)
    if record.type == dpkt.dns.DNS_CNAME:
        return record.name.lower(), record.type, record.cname.lower()
    return None


def _dpkt_sni(payload: bytes) -> list[str] | None:
    """SNI of a ClientHello that fits its first record, per dpkt; None when dpkt does not see one."""
    try:
        record = dpkt.ssl.TLSRecord(payload)
        handshake = dpkt.ssl.TLSHandshake(record.data)
    except (dpkt.dpkt.Error, ValueError, struct.error):
        return None
    if not isinstance(handshake.data, dpkt.ssl.TLSClientHello):
        return None
    names = []
    for ext_type, ext_data in getattr(handshake.data, "extensions", ()):
        if ext_type == 0:  # server_name: list length, then (type 0, length, name)*
            off = 2
            while off + 3 <= len(ext_data):
                length = int.from_bytes(ext_data[off + 1:off + 3], "big")
                if ext_data[off] == 0:
                    names.append(ext_data[off + 3:off + 3 + length].decode("ascii").lower())
                off += 3 + length
    return names


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_dns_and_tls_decoders_agree_with_dpkt(path: Path) -> None:
    for frame, kind, payload in _payloads(path):
        if kind == "udp-dns":
            try:
                theirs = dpkt.dns.DNS(payload)
            except (dpkt.dpkt.Error, ValueError, IndexError, struct.error):
                continue  # dpkt refuses it: malformed fixtures test that path on regaudit's side
            ours = our_dns.decode(payload)
            if ours.error is not None:
                continue  # regaudit stopped early on a part dpkt tolerates (tested in test_pcap)
            where = f"{path.name} frame {frame}"
            assert ours.ident == theirs.id, where
            assert ours.is_response == bool(theirs.qr), where
            assert ours.rcode == theirs.rcode, where
            assert [(name.lower(), qtype) for name, qtype in ours.questions] == \
                [(q.name.lower(), q.type) for q in theirs.qd], where
            expected = [a for a in map(_dpkt_answer, theirs.an) if a is not None]
            got = [(r.owner.lower(), r.rtype, r.value.lower()) for r in ours.records if r.section == "answer"
                   and r.rtype in (our_dns.TYPE_A, our_dns.TYPE_AAAA, our_dns.TYPE_CNAME)]
            assert got == expected, where
        elif our_tls.looks_like_client_hello(payload):
            handshake, complete = our_tls.handshake_bytes(payload)
            record_length = int.from_bytes(payload[3:5], "big")
            if not complete or len(payload) < 5 + record_length or len(handshake) > record_length:
                continue  # spread over records or segments: dpkt decodes one record at a time
            expected_names = _dpkt_sni(payload)
            if expected_names is None:
                continue
            try:
                names = our_tls.parse_client_hello(handshake).server_names
            except our_tls.TlsError:
                # a length that lies: regaudit refuses the hello (test_pcap checks the message) where dpkt reads
                # on past the field; only the fixture built with lying lengths may do that
                assert path.name in LYING_LENGTHS, f"{path.name} frame {frame}: {expected_names}"
                continue
            assert names == expected_names, f"{path.name} frame {frame}"


def test_the_cross_check_compares_real_traffic() -> None:
    """Across the fixtures, dpkt and regaudit agree on many DNS messages and ClientHellos (not a vacuous pass)."""
    dns_messages = hellos = 0
    for path in CAPTURES:
        for _, kind, payload in _payloads(path):
            if kind == "udp-dns":
                dns_messages += 1
            elif our_tls.looks_like_client_hello(payload) and _dpkt_sni(payload):
                hellos += 1
    assert dns_messages >= 20
    assert hellos >= 5
