"""Walk pcap and pcapng files in big buffers and hand the scanner only frames that may matter.

Per frame the loops do one struct.unpack_from for the record header and, for Ethernet/IPv4/TCP (the bulk
of any capture), a handful of byte tests that rule out payloads which cannot start a ClientHello, an HTTP
head or DNS. Nothing per frame is allocated on that path; everything else goes to `Scanner.packet`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from parsers.traffic.capture import http
from parsers.traffic.capture.magic import PCAP_MAGICS, PCAPNG_MAGIC
from parsers.traffic.capture.scanner import (
    DNS_PORTS,
    ETH_IPV4,
    ETH_IPV6,
    LINK_ETHERNET,
    LINK_LOOP,
    LINK_NULL,
    LINK_RAW,
    LINK_SLL,
    LINK_SLL2,
    VLAN_TAGS,
    Scanner,
)

CHUNK_BYTES = 4 * 1024 * 1024
# Real link layers stay under 256 KiB per frame (tshark's own limit); a bigger record is a corrupt header.
MAX_CAPLEN = 1024 * 1024
MAX_BLOCK_BYTES = 16 * 1024 * 1024
BLOCK_SHB, BLOCK_IDB, BLOCK_PB, BLOCK_SPB, BLOCK_EPB = 0x0A0D0D0A, 1, 2, 3, 6
# Blocks that carry no packet but that tshark still numbers as frames (custom blocks, systemd journal
# entries): counted too, so packet numbers in messages match what tshark/Wireshark show.
NUMBERED_NON_PACKET_BLOCKS = frozenset({0x00000BAD, 0x40000BAD, 0x00000009})
OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 9, 14


def _dns_ports(swap: bool) -> frozenset[int]:
    """The DNS ports as a record-order unpack of the big-endian wire value reads them."""
    return frozenset(((p & 0xFF) << 8) | (p >> 8) for p in DNS_PORTS) if swap else DNS_PORTS


# First payload bytes that can start a ClientHello record (0x16) or an HTTP request/response head.
_WORTH_A_LOOK = bytes(1 if b == 0x16 or b in http.FIRST_BYTES else 0 for b in range(256))


def scan(stream: BinaryIO, scanner: Scanner, advance: Callable[[int], None], filter_bulk: bool = True
         ) -> Iterator[int]:
    """Feed every frame of STREAM to SCANNER; yields after each buffer (the frames seen so far).

    FILTER_BULK False sends every frame to the full decoder: the tests use it to prove the header-only
    filter never drops a frame the decoder would have used.
    """
    magic = stream.read(4)
    advance(len(magic))
    if not magic:
        scanner.error(0, "empty file: no capture header")
        return
    if magic in PCAP_MAGICS:
        yield from _pcap(stream, magic, scanner, advance, filter_bulk)
    elif magic == PCAPNG_MAGIC:
        yield from _pcapng(stream, magic, scanner, advance, filter_bulk)
    else:
        scanner.error(0, f"not a pcap or pcapng file (starts with {magic.hex()})")


# Where the IP header starts on the link layers other than Ethernet that the decoder reads by the IP version
# nibble alone (Scanner._packet), so the header test may read them the same way.
_L3_OFFSET = {LINK_SLL: 16, LINK_SLL2: 20, LINK_NULL: 4, LINK_LOOP: 4, **dict.fromkeys(LINK_RAW, 0)}
HEADER_TESTED_LINKS = frozenset({LINK_ETHERNET, *_L3_OFFSET})


def _skippable(data: bytes, p: int, end: int, pending: dict[bytes, object], linktype: int = LINK_ETHERNET) -> bool:
    """An IPv4/IPv6 TCP frame (Ethernet with or without VLAN tags, Linux cooked, raw IP, loopback) whose payload
    cannot start anything we decode.

    The general form of the inline test in _pcap; IPv6 extension headers and anything else unusual are
    left to the full decoder. LINKTYPE is one of HEADER_TESTED_LINKS. The IP version is read from the nibble,
    as the decoder reads it, whatever the link layer's protocol field says.
    """
    if linktype == LINK_ETHERNET:
        l3 = p + 14
        if end - l3 < 40:
            return False
        ethertype = (data[p + 12] << 8) | data[p + 13]
        while ethertype in VLAN_TAGS and l3 + 24 < end:
            ethertype = (data[l3 + 2] << 8) | data[l3 + 3]
            l3 += 4
        if ethertype != ETH_IPV4 and ethertype != ETH_IPV6:
            return False
    else:  # `tcpdump -i any` (SLL, SLL2), raw IP and loopback captures: every frame would reach the decoder
        l3 = p + _L3_OFFSET[linktype]
        if end - l3 < 40:
            return False
    version = data[l3] >> 4
    if version == 4:
        if data[l3 + 9] != 6:
            return False
        t = l3 + ((data[l3] & 15) << 2)
        addresses = data[l3 + 12:l3 + 20] if pending else b""
    elif version == 6:
        if data[l3 + 6] != 6:
            return False
        t = l3 + 40
        addresses = data[l3 + 8:l3 + 40] if pending else b""
    else:
        return False
    if t + 20 > end:
        return False
    pl = t + ((data[t + 12] >> 4) << 2)
    if pl >= end:
        return True  # no payload: a bare ACK, SYN or FIN
    if _WORTH_A_LOOK[data[pl]] or (data[t] == 0 and data[t + 1] == 53) or (data[t + 2] == 0 and data[t + 3] == 53):
        return False
    return not pending or (addresses + data[t:t + 4]) not in pending


def _pcap(stream: BinaryIO, magic: bytes, scanner: Scanner, advance: Callable[[int], None],
          filter_bulk: bool) -> Iterator[int]:
    header = stream.read(20)
    advance(len(header))
    endian, scale = PCAP_MAGICS[magic]
    if len(header) < 20:
        scanner.error(0, f"file ends inside the 24-byte pcap header ({4 + len(header)} bytes)")
        return
    linktype = struct.unpack_from(endian + "I", header, 16)[0] & 0x0FFFFFFF  # upper bits: FCS length
    record = struct.Struct(endian + "IIII").unpack_from
    # Record header plus, if the frame is Ethernet/IPv4 (IHL 5)/TCP, the fields the bulk test needs:
    # ethertype, version+IHL, protocol, ports, TCP data offset. One unpack per frame instead of ten lookups.
    # Fields read past a short frame are ignored: the caplen test comes first.
    bulk = struct.Struct(endian + "IIII12xHB8xB10xHH8xB").unpack_from
    bulk_size = bulk.__self__.size  # type: ignore[attr-defined]
    swap = endian == "<"
    ipv4_type = 0x0008 if swap else 0x0800  # the big-endian wire values as the record's byte order reads them
    port53 = 0x3500 if swap else 53
    worth = _WORTH_A_LOOK
    pending = scanner.pending
    packet = scanner.packet
    udp_dns = scanner.ipv4_udp
    dns_ports = _dns_ports(swap)
    ethernet = linktype == LINK_ETHERNET and filter_bulk
    header_tested = linktype in HEADER_TESTED_LINKS and filter_bulk
    frame = 0
    data = b""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        advance(len(chunk))
        data = data + chunk if data else chunk
        n = len(data)
        pos = 0
        fast_limit = n - bulk_size if ethernet else -1
        while pos + 16 <= n:
            if pos <= fast_limit:
                ts_s, ts_f, caplen, origlen, ethertype, ver_ihl, proto, sport, dport, offset = bulk(data, pos)
                end = pos + 16 + caplen
                if end > n:
                    if caplen > MAX_CAPLEN:
                        scanner.error(frame + 1, _too_long(caplen))
                        return
                    break
                frame += 1
                if ethertype == ipv4_type and ver_ihl == 0x45 and proto == 6 and caplen >= 54:
                    payload_at = pos + 50 + ((offset >> 4) << 2)
                    if payload_at >= end or not (worth[data[payload_at]] or sport == port53 or dport == port53
                                                 or (pending and _flow_key(data, pos) in pending)):
                        pos = end
                        continue
                elif (ethertype == ipv4_type and ver_ihl == 0x45 and proto == 17 and caplen >= 42
                      and (sport in dns_ports or dport in dns_ports)):
                    udp_dns(data, pos + 30, end, frame, ts_s + ts_f * scale, caplen < origlen)
                    pos = end
                    continue
                elif _skippable(data, pos + 16, end, pending):  # VLAN tags, IPv6, IPv4 options
                    pos = end
                    continue
                packet(data, pos + 16, end, frame, ts_s + ts_f * scale, linktype, caplen < origlen)
                pos = end
                continue
            ts_s, ts_f, caplen, origlen = record(data, pos)
            end = pos + 16 + caplen
            if end > n:
                if caplen > MAX_CAPLEN:
                    scanner.error(frame + 1, _too_long(caplen))
                    return
                break
            frame += 1
            p = pos + 16
            pos = end
            if header_tested and _skippable(data, p, end, pending, linktype):
                continue
            packet(data, p, end, frame, ts_s + ts_f * scale, linktype, caplen < origlen)
        data = data[pos:]
        scanner.expire(frame)
        yield frame
        if not chunk:
            break
    _report_tail(scanner, frame, data, 16, "record header")


def _flow_key(data: bytes, pos: int) -> bytes:
    """Addresses and ports of the Ethernet/IPv4 (IHL 5)/TCP frame whose pcap record starts at POS."""
    return data[pos + 42:pos + 54]


def _too_long(caplen: int) -> str:
    return (f"record header claims {caplen} captured bytes (over the {MAX_CAPLEN}-byte limit): corrupt file, "
            "the rest cannot be read")


def _report_tail(scanner: Scanner, frame: int, rest: bytes, header_size: int, what: str) -> None:
    if not rest:
        return
    if len(rest) < header_size:
        scanner.error(frame + 1, f"file ends inside the {what} of packet {frame + 1} ({len(rest)} bytes): "
                                 "capture truncated")
    else:
        scanner.error(frame + 1, f"file ends inside packet {frame + 1} ({len(rest)} bytes of its record "
                                 "present): capture truncated")


class _Interface:
    __slots__ = ("linktype", "offset", "scale")

    def __init__(self, linktype: int, scale: float, offset: int) -> None:
        self.linktype = linktype
        self.scale = scale
        self.offset = offset


def _interface(block: bytes, endian: str) -> _Interface:
    linktype = struct.unpack_from(endian + "H", block, 8)[0]
    scale, offset = 1e-6, 0
    pos, end = 16, len(block) - 4
    while pos + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", block, pos)
        value = block[pos + 4:pos + 4 + length]
        if code == 0:
            break
        if code == OPT_IF_TSRESOL and length == 1:
            resol = value[0]
            scale = 2.0 ** -(resol & 0x7F) if resol & 0x80 else 10.0 ** -resol
        elif code == OPT_IF_TSOFFSET and length == 8:
            offset = struct.unpack_from(endian + "q", value)[0]
        pos += 4 + ((length + 3) & ~3)
    return _Interface(linktype, scale, offset)


def _pcapng_bulk(endian: str) -> tuple[Callable, int, int, int]:
    """EPB header plus the Ethernet/IPv4/TCP fields of the bulk test (see _pcap), in a section's byte order."""
    bulk = struct.Struct(endian + "IIIIIII12xHB8xB10xHH8xB")
    swap = endian == "<"
    return bulk.unpack_from, bulk.size, (0x0008 if swap else 0x0800), (0x3500 if swap else 53)


def _pcapng_heads(endian: str) -> tuple[Callable, Callable]:
    """A block's type and length, and an Enhanced Packet Block's interface, time and lengths, in a section's byte
    order: made once per section, not per block."""
    return struct.Struct(endian + "II").unpack_from, struct.Struct(endian + "IIIII").unpack_from


def _pcapng(stream: BinaryIO, magic: bytes, scanner: Scanner, advance: Callable[[int], None],
            filter_bulk: bool) -> Iterator[int]:
    pending = scanner.pending
    packet = scanner.packet
    worth = _WORTH_A_LOOK
    interfaces: list[_Interface] = []
    ethernet: list[bool] = []  # per interface: is its link type Ethernet (the inline bulk test applies)
    header_tested: list[bool] = []  # per interface: does _skippable read its link type
    endian = "<"
    bulk, bulk_size, ipv4_type, port53 = _pcapng_bulk(endian)
    block_head, epb_fields = _pcapng_heads(endian)
    udp_dns = scanner.ipv4_udp
    dns_ports = _dns_ports(endian == "<")
    frame = 0
    data = magic
    while True:
        chunk = stream.read(CHUNK_BYTES)
        advance(len(chunk))
        data = data + chunk if data else chunk
        n = len(data)
        pos = 0
        fast_limit = n - bulk_size
        while pos + 12 <= n:
            if pos <= fast_limit:
                # The bulk test on an Enhanced Packet Block, as in _pcap: one unpack, no allocation.
                (btype, blen, iface_id, th, tl, caplen, origlen, ethertype, ver_ihl, proto, sport, dport,
                 offset) = bulk(data, pos)
                if (btype == BLOCK_EPB and ethertype == ipv4_type and ver_ihl == 0x45
                        and 32 + caplen <= blen <= MAX_BLOCK_BYTES and pos + blen <= n
                        and iface_id < len(ethernet) and ethernet[iface_id]):
                    if proto == 6 and caplen >= 54:
                        end = pos + 28 + caplen
                        payload_at = pos + 62 + ((offset >> 4) << 2)
                        if payload_at >= end or not (worth[data[payload_at]] or sport == port53 or dport == port53
                                                     or (pending and data[pos + 54:pos + 66] in pending)):
                            frame += 1
                            pos += blen
                            continue
                    elif proto == 17 and caplen >= 42 and (sport in dns_ports or dport in dns_ports):
                        frame += 1
                        iface = interfaces[iface_id]
                        udp_dns(data, pos + 42, pos + 28 + caplen, frame,
                                iface.offset + ((th << 32) | tl) * iface.scale, caplen < origlen)
                        pos += blen
                        continue
            btype, blen = block_head(data, pos)
            if btype == BLOCK_SHB:
                bom = data[pos + 8:pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    scanner.error(frame + 1, f"pcapng section header with bad byte-order magic {bom.hex()}")
                    return
                bulk, bulk_size, ipv4_type, port53 = _pcapng_bulk(endian)
                block_head, epb_fields = _pcapng_heads(endian)
                dns_ports = _dns_ports(endian == "<")
                fast_limit = n - bulk_size
                blen = block_head(data, pos)[1]  # in the section's own byte order
            if blen < 12 or blen % 4 or blen > MAX_BLOCK_BYTES:
                scanner.error(frame + 1, f"pcapng block of type {btype} claims length {blen}: corrupt file "
                                         f"after packet {frame}, the rest cannot be read")
                return
            if pos + blen > n:
                break
            block_end = pos + blen
            if btype in (BLOCK_EPB, BLOCK_SPB, BLOCK_PB):
                frame += 1
                if btype == BLOCK_EPB:
                    iface_id, th, tl, caplen, origlen = epb_fields(data, pos + 8)
                    p = pos + 28
                elif btype == BLOCK_SPB:
                    iface_id, th, tl = 0, -1, 0
                    origlen = struct.unpack_from(endian + "I", data, pos + 8)[0]
                    caplen = min(origlen, blen - 16)
                    p = pos + 12
                else:
                    iface_id, _drops, th, tl, caplen, origlen = struct.unpack_from(endian + "HHIIII", data, pos + 8)
                    p = pos + 28
                pos = block_end
                end = p + caplen
                if end > block_end - 4:
                    scanner.error(frame, f"captured length {caplen} runs past its pcapng block; packet skipped")
                    continue
                if iface_id >= len(interfaces):
                    scanner.error(frame, f"packet names interface {iface_id}, but only {len(interfaces)} "
                                         "were described; packet skipped")
                    continue
                iface = interfaces[iface_id]
                if header_tested[iface_id] and _skippable(data, p, end, pending, iface.linktype):
                    continue
                ts = None if th < 0 else iface.offset + ((th << 32) | tl) * iface.scale
                packet(data, p, end, frame, ts, iface.linktype, caplen < origlen)
                continue
            if btype in NUMBERED_NON_PACKET_BLOCKS:
                frame += 1
            elif btype == BLOCK_SHB:
                interfaces = []  # a new section starts its own interface numbering
                ethernet = []
                header_tested = []
            elif btype == BLOCK_IDB:
                if blen < 20:
                    scanner.error(frame + 1, "pcapng interface description block too short; ignored")
                else:
                    interfaces.append(_interface(data[pos:block_end], endian))
                    ethernet.append(interfaces[-1].linktype == LINK_ETHERNET and filter_bulk)
                    header_tested.append(interfaces[-1].linktype in HEADER_TESTED_LINKS and filter_bulk)
            pos = block_end  # other blocks (statistics, name resolution, custom ...) are skipped
        data = data[pos:]
        scanner.expire(frame)
        yield frame
        if not chunk:
            break
    _report_tail(scanner, frame, data, 12, "block header")
