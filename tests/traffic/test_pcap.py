"""Capture parser: corpus captures against tshark's ground truth, edge-case fixtures, malformed input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from auditor.core.model import EdgeVia, InputError, Observation, ObservationKind, RedirectEdge
from parsers.common.inputs import InputFile
from parsers.traffic import pcap
from tests.conftest import FIXTURES, SHARED, run_parser
from tests.pcap_truth import TSHARK, Extracted, ours, parse_truth, tshark_live

CORPUS = SHARED / "corpora" / "pcaps"
PCAP_FIXTURES = FIXTURES / "traffic" / "pcap"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.name.endswith((".txt", ".md")))

# Justified differences from tshark, one per capture and field: (what tshark-only, what ours-only).
KNOWN_DIFFERENCES: dict[tuple[str, str], tuple[Counter, Counter]] = {
    # QUIC: tshark decrypts the QUIC Initial to find the SNI; we decode TCP ClientHellos only.
    ("curl-8.1.2-dev-http3-www-google-de.pcap", "sni"): (Counter({"www.google.de": 1}), Counter()),
    # The second segment of the ClientHello was never captured: tshark shows nothing, we keep the SNI that
    # was in the first segment (marked partial) because a lost segment must not hide a host.
    ("tls_missing_ch_frag.pcap", "sni"): (Counter(), Counter({"r1---sn-5f5nxgvh5o-hjul.googlevideo.com": 1})),
    # The OPT record's option claims more bytes than its RDLENGTH: tshark aborts the message there; we skip the
    # record by its RDLENGTH (the framing every resolver uses) and read the A record after it.
    ("dns-edns-bad-length.pcap", "dns"): (Counter({(("example.com",), (), (), ()): 1}),
                                          Counter({(("example.com",), (), ("203.0.113.7",), ()): 1})),
}


def _compare(name: str, truth: Extracted, got: Extracted) -> None:
    for field in ("dns", "sni", "hosts", "locations"):
        expected, actual = getattr(truth, field), getattr(got, field)
        tshark_only, ours_only = expected - actual, actual - expected
        assert (tshark_only, ours_only) == KNOWN_DIFFERENCES.get((name, field), (Counter(), Counter())), \
            f"{name} {field}: tshark-only {dict(tshark_only)}, ours-only {dict(ours_only)}"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared pcap corpus not present")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark_ground_truth(path: Path) -> None:
    truth = parse_truth(path.with_name(path.name + ".tshark.txt").read_text())
    _compare(path.name, truth, ours(path))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared pcap corpus not present")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_never_crashes_and_names_packets_in_errors(path: Path) -> None:
    for item in run_parser(pcap.parse, path):
        if isinstance(item, InputError):
            assert item.source.packet is not None and f"packet {item.source.packet}:" in item.message


# Live tshark over our own fixtures. truncated_mid_record.pcap is left out: its damaged last record makes
# tshark's format heuristics pick the 24-byte-record "modified pcap" variant and misread packet 1.
LIVE_FIXTURES = sorted(p for p in PCAP_FIXTURES.glob("*.pcap*") if p.name not in ("truncated_mid_record.pcap",))
LIVE_DIFFERENCES: dict[tuple[str, str], tuple[Counter, Counter]] = {
    # A record length that promises 16 KB which never arrive: tshark waits for them; we decode the ClientHello
    # as soon as its own handshake length is satisfied.
    ("malformed.pcap", "sni"): (Counter(), Counter({"recordlie.example.com": 1})),
    # A first fragment whose other fragments never arrive: tshark shows nothing; we read its question.
    ("ip_fragments.pcap", "dns"): (Counter(), Counter({(("lostfrag.example.com",), (), (), ()): 1})),
    # snaplen 90 cuts the response inside the CNAME record: tshark prints the question only; so do we.
}


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("path", LIVE_FIXTURES, ids=lambda p: p.name)
def test_fixtures_match_live_tshark(path: Path) -> None:
    truth, got = tshark_live(path), ours(path)
    for field in ("dns", "sni", "hosts", "locations"):
        expected, actual = getattr(truth, field), getattr(got, field)
        assert (expected - actual, actual - expected) == LIVE_DIFFERENCES.get((path.name, field),
                                                                             (Counter(), Counter())), field


SAMPLE_CAPTURES = sorted((FIXTURES.parent.parent / "sample_pcaps").glob("*.pcap"))


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("path", SAMPLE_CAPTURES, ids=lambda p: p.name)
def test_lab_captures_match_live_tshark(path: Path) -> None:
    """The shipped lab captures: DNS names and answers, SNI, HTTP Host and Location exactly as tshark sees them
    (the TLS capture's registry is on port 443 so that tshark decodes it without a hint)."""
    truth, got = tshark_live(path), ours(path)
    assert truth.dns and (truth.sni or truth.hosts)  # the capture really holds what is compared
    for field in ("dns", "sni", "hosts", "locations"):
        expected, actual = getattr(truth, field), getattr(got, field)
        assert (expected - actual, actual - expected) == SAMPLE_DIFFERENCES.get((path.name, field),
                                                                               (Counter(), Counter())), field


# skopeo first tries TLS on the plain-HTTP registry's port 5000 before falling back to HTTP. tshark decodes TLS
# only on ports it knows (with `-d tcp.port==5000,tls` it prints this SNI too); regaudit looks on every port.
SAMPLE_DIFFERENCES: dict[tuple[str, str], tuple[Counter, Counter]] = {
    ("lab-http-pull.pcap", "sni"): (Counter(), Counter({"registry.lab.test": 1})),
}


def _parse(name: str) -> list:
    return run_parser(pcap.parse, PCAP_FIXTURES / name)


def _hosts(items: list, kind: ObservationKind) -> set[str]:
    return {o.host for o in items if isinstance(o, Observation) and o.kind is kind}


def _errors(items: list) -> list[InputError]:
    return [e for e in items if isinstance(e, InputError)]


def test_detect_by_magic_and_name() -> None:
    assert pcap.detect(InputFile.from_path(PCAP_FIXTURES / "big_endian.pcap"))
    assert pcap.detect(InputFile.from_path(PCAP_FIXTURES / "two_interfaces.pcapng"))
    assert not pcap.detect(InputFile.from_path(PCAP_FIXTURES / "make_fixtures.py"))


def test_client_hello_over_three_segments_with_a_retransmission() -> None:
    items = _parse("tls_three_segments.pcap")
    sni = [o for o in items if isinstance(o, Observation) and o.kind is ObservationKind.TLS_SNI]
    assert [(o.host, o.detail, o.client, o.server, o.source.packet) for o in sni] == [
        ("split3.example.com", "h2,http/1.1", "10.0.0.5", "93.184.216.34", 1)]
    assert not _errors(items)


def test_client_hello_over_two_records() -> None:
    assert _hosts(_parse("tls_two_records.pcap"), ObservationKind.TLS_SNI) == {"tworecords.example.com"}


def test_dns_over_tcp_two_messages_in_one_segment_and_one_split() -> None:
    items = _parse("dns_tcp.pcap")
    assert _hosts(items, ObservationKind.DNS_QUERY) == {"one.example.com", "two.example.com"}
    answers = [(o.host, o.detail, o.client, o.source.packet) for o in items
               if isinstance(o, Observation) and o.kind is ObservationKind.DNS_ANSWER]
    assert answers == [("blobs.cdn.example.net", "198.51.100.7", "10.0.0.5", 3)]


def test_cname_gives_edge_linked_to_the_asked_name() -> None:
    items = _parse("big_endian.pcap")
    edges = [e for e in items if isinstance(e, RedirectEdge)]
    assert [(e.from_host, e.to_host, e.via, e.detail) for e in edges] == [
        ("registry.example.org", "blobs.cdn.example.net", EdgeVia.DNS_CNAME, "CNAME; asked for registry.example.org")]
    cname = next(o for o in items if isinstance(o, Observation) and o.kind is ObservationKind.CNAME)
    assert cname.host == "registry.example.org" and "asked for registry.example.org" in cname.detail
    assert cname.rcode == "NOERROR" and cname.client == "10.0.0.5" and cname.server == "10.0.0.53"


@pytest.mark.parametrize("name,host", [
    ("sll2.pcap", "sll2.example.com"),
    ("loopback_null.pcap", "null.example.com"),
    ("ipv6_extensions.pcap", "ipv6ext.example.com"),
    ("big_endian.pcapng", "bigendian-ng.example.com"),
    ("loop_108.pcap", "loop.example.com"),
    ("raw_12.pcap", "raw12.example.com"),
    ("ipv4_228.pcap", "ipv4-228.example.com"),
    ("ipv6_229.pcap", "ipv6-229.example.com"),
])
def test_link_types_and_ipv6_extension_headers(name: str, host: str) -> None:
    assert _hosts(_parse(name), ObservationKind.DNS_QUERY) == {host}


def test_vlan_and_qinq_with_registry_api_path() -> None:
    items = _parse("vlan_qinq.pcap")
    assert _hosts(items, ObservationKind.DNS_QUERY) == {"vlan.example.com"}
    http_host = next(o for o in items if isinstance(o, Observation) and o.kind is ObservationKind.HTTP_HOST)
    assert (http_host.host, http_host.detail, http_host.source.packet) == ("qinq.example.com", "/v2/", 2)


def test_timestamps_nanosecond_pcap_and_pcapng_resolutions() -> None:
    times = {o.host: o.time for o in _parse("nanosecond.pcap") if isinstance(o, Observation)}
    assert times["b.example.com"] == pytest.approx(1_700_000_001.001000123, abs=1e-6)
    items = _parse("two_interfaces.pcapng")
    times = {o.host: o.time for o in items if isinstance(o, Observation)}
    assert times["ns.example.com"] == pytest.approx(1_700_000_000.123456789, abs=1e-6)  # if_tsresol 9
    assert times["blobs.cdn.example.net"] == pytest.approx(1_700_000_001.25, abs=1e-6)  # default microseconds
    # packets are numbered as tshark numbers them: the unknown block is skipped, the custom block counts
    answer = next(o for o in items if isinstance(o, Observation) and o.kind is ObservationKind.DNS_ANSWER)
    assert answer.source.packet == 3


def test_http_redirects_matched_in_pipelining_order() -> None:
    items = _parse("http_pipelined.pcap")
    edges = [(e.from_host, e.to_host, e.via, e.detail) for e in items if isinstance(e, RedirectEdge)]
    # the second (relative) Location stays on the registry host: no edge to itself
    assert edges == [("registry.example.org", "blobs.cdn.example.net", EdgeVia.HTTP_LOCATION,
                      "307 for /v2/library/alpine/blobs/sha256:abc")]
    redirects = [o for o in items if isinstance(o, Observation) and o.kind is ObservationKind.HTTP_REDIRECT]
    assert [(o.host, o.source.packet) for o in redirects] == [("blobs.cdn.example.net", 2),
                                                              ("registry.example.org", 3)]
    assert "manifests/3" in redirects[1].detail  # the 2nd response answers the 2nd request
    assert all("secret" not in o.detail for o in redirects)  # signed query strings never copied


def test_malformed_packets_are_reported_and_the_rest_is_used() -> None:
    items = _parse("malformed.pcap")
    messages = {e.source.packet: e.message for e in _errors(items)}
    assert "compression pointer loop" in messages[2]
    assert "TLS ClientHello" in messages[3]
    assert "shorter than the 12-byte header" in messages[5]
    assert all(m.startswith(f"packet {n}:") for n, m in messages.items())
    assert _hosts(items, ObservationKind.DNS_QUERY) == {"before.example.com", "after.example.com"}
    sni = {o.host: o.detail for o in items if isinstance(o, Observation) and o.kind is ObservationKind.TLS_SNI}
    assert sni == {"lying.example.com": "", "recordlie.example.com": "h2"}


def test_snaplen_truncated_response_keeps_the_question_without_error() -> None:
    items = _parse("snaplen.pcap")
    assert not _errors(items)
    answer = next(o for o in items if isinstance(o, Observation))
    assert (answer.host, answer.kind, answer.detail) == ("registry.example.org", ObservationKind.DNS_ANSWER, "")


@pytest.mark.parametrize("name,packet,text", [
    ("truncated_mid_record.pcap", 2, "file ends inside packet 2"),
    ("garbage_block.pcapng", 2, "claims length 7"),
    ("empty.pcap", None, "empty file"),
])
def test_damaged_files_report_where_and_keep_what_came_before(name: str, packet: int | None, text: str) -> None:
    items = _parse(name)
    errors = _errors(items)
    assert len(errors) == 1 and text in errors[0].message and errors[0].source.packet == packet
    if name != "empty.pcap":
        assert _hosts(items, ObservationKind.DNS_QUERY) == {"kept.example.com"}


def test_fragmented_dns_responses_are_reassembled() -> None:
    items = _parse("ip_fragments.pcap")
    answers = {(o.host, o.detail): o.source.packet for o in items
               if isinstance(o, Observation) and o.kind is ObservationKind.DNS_ANSWER}
    # frames 1-3: IPv4 fragments, 4-6: IPv6 fragments, 7: a first fragment whose rest never came.
    # Reported at the frame that completes the datagram, as tshark does.
    assert answers[("frag4.example.com", "192.0.2.44")] == 3
    assert answers[("frag6.example.com", "2001:db8::66")] == 6
    # the lone first fragment: the question is still read, with no error for the missing rest
    assert answers[("lostfrag.example.com", "")] == 7
    assert not _errors(items)


def test_mutated_captures_never_crash_the_decoders() -> None:
    """Byte flips and truncations of every fixture: errors are reported, no decoder raises (seeded, repeatable)."""
    import io
    import random

    from parsers.traffic.capture import reader
    from parsers.traffic.capture.scanner import Scanner

    rng = random.Random(20240501)
    sources = [p.read_bytes() for p in sorted(PCAP_FIXTURES.glob("*.pcap*")) if p.stat().st_size > 40]
    for _ in range(1500):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(24, len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(24, len(data))]
        scanner = Scanner()
        for _ in reader.scan(io.BytesIO(bytes(data)), scanner, lambda _n: None):
            pass
        scanner.flush()
        internal = [e.data for e in scanner.events if e.kind == "error" and "could not decode" in str(e.data)]
        assert not internal


def test_rcodes_and_https_alias_target() -> None:
    items = _parse("dns_rcodes_https.pcap")
    answers = {(o.host, o.rcode, o.detail) for o in items
               if isinstance(o, Observation) and o.kind is ObservationKind.DNS_ANSWER}
    assert answers == {("registry.example.org", "NOERROR", "HTTPS target alias.cdn.example.net"),
                       ("missing.example.org", "NXDOMAIN", ""),
                       ("registry.example.org", "REFUSED", "")}
    edges = [(e.from_host, e.to_host, e.via, e.confidence.value) for e in items if isinstance(e, RedirectEdge)]
    assert edges == [("registry.example.org", "alias.cdn.example.net", EdgeVia.DNS_CNAME, "medium")]


def _events(path: Path, filter_bulk: bool) -> list[tuple]:
    from parsers.traffic.capture import reader
    from parsers.traffic.capture.scanner import Scanner

    scanner = Scanner()
    with InputFile.from_path(path).open() as stream:
        for _ in reader.scan(stream, scanner, lambda _n: None, filter_bulk=filter_bulk):
            pass
    scanner.flush()
    return [(e.kind, e.frame, e.src, e.dst, repr(e.data), repr(e.request)) for e in scanner.events]


def _bulk_frames(link_layers: list) -> list:
    """Bulk TCP with random first payload bytes over IPv4 and IPv6 under the given link layers (taken in
    turn), around split hellos. A link layer of None: the IP packet bare (raw IP)."""
    import random

    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    from tests.fixtures.traffic.pcap.make_fixtures import client_hello, record

    rng = random.Random(7)
    hello = record(client_hello("mixed.example.com", ["h2"]))
    nets = [IP(src="10.0.0.5", dst="10.0.0.6"), IPv6(src="2001:db8::5", dst="2001:db8::6")]
    frames = []

    def framed(i: int, packet):  # scapy packets
        link = link_layers[i % len(link_layers)]
        return packet if link is None else link / packet

    for i in range(600):
        net = nets[i % 2]
        bulk = framed(i, net / TCP(sport=443, dport=40000, seq=i * 1400) / bytes(rng.randbytes(1400)))
        if i % 50 == 10:  # a ClientHello in two segments with bulk frames of other flows in between
            frames.append(framed(i, net / TCP(sport=41000 + i, dport=443, seq=1) / hello[:100]))
            frames.append(bulk)
            frames.append(framed(i, net / TCP(sport=41000 + i, dport=443, seq=101) / hello[100:]))
        else:
            frames.append(bulk)
    return frames


def _bulk_mixes(folder: Path) -> list[Path]:
    """One bulk mix per link type the header filter reads: Ethernet (untagged and VLAN-tagged), Linux cooked
    v1 and v2 (`tcpdump -i any`), raw IP and BSD loopback."""
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether, Loopback
    from scapy.utils import wrpcap

    from tests.fixtures.traffic.pcap.make_fixtures import MAC

    mac = b"\x02\x00\x00\x00\x00\x01"
    # explicit addresses: without them scapy would try to resolve MACs on the network
    links = {"ethernet": ([Ether(**MAC) / Dot1Q(vlan=5), Ether(**MAC), Ether(**MAC)], None),
             "sll": ([CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac)], None),
             "sll2": ([CookedLinuxV2(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac)], None),
             "raw": ([None], 101),
             "loopback": ([Loopback(type=2)], None)}
    paths = []
    for name, (layers, linktype) in links.items():
        path = folder / f"mixed-{name}.pcap"
        wrpcap(str(path), _bulk_frames(layers), linktype=linktype)
        paths.append(path)
    return paths


def test_header_filter_never_drops_what_the_decoder_would_use(tmp_path: Path) -> None:
    mixes = _bulk_mixes(tmp_path)
    paths = [*mixes, *sorted(PCAP_FIXTURES.glob("*.pcap*"))]
    if CORPUS.is_dir():
        paths += CORPUS_FILES
    for path in paths:
        filtered = _events(path, True)
        assert filtered == _events(path, False), path.name
    for path in mixes:
        assert sum(1 for kind, *_ in _events(path, True) if kind == "tls") == 12, path.name


def test_bulk_frames_of_every_tested_link_type_never_reach_the_decoder(tmp_path: Path) -> None:
    """A `tcpdump -i any` capture (Linux cooked) would otherwise send every frame through the full decoder."""
    from parsers.traffic.capture import reader
    from parsers.traffic.capture.scanner import Scanner

    decoded: list[int] = []

    class Counting(Scanner):
        def packet(self, data: bytes, p: int, end: int, frame: int, ts: float | None, linktype: int,
                   cut: bool) -> None:
            decoded.append(frame)
            super().packet(data, p, end, frame, ts, linktype, cut)

    counts = {}
    for path in _bulk_mixes(tmp_path):
        decoded.clear()
        with InputFile.from_path(path).open() as stream:
            for _ in reader.scan(stream, Counting(), lambda _n: None):
                pass
        counts[path.name] = len(decoded)
    # The same frames under every link layer: the 24 halves of the split hellos and the bulk frames whose first
    # payload byte could start a hello or an HTTP head (random bytes: a few percent). Never the 600 bulk frames.
    assert set(counts.values()) == {counts["mixed-ethernet.pcap"]}, counts
    assert 24 <= counts["mixed-ethernet.pcap"] < 60, counts


@pytest.mark.parametrize("link", ["sll", "sll2", "raw", "loopback"])
def test_malformed_frames_on_the_header_tested_link_types_cost_only_themselves(tmp_path: Path, link: str) -> None:
    """Frames too short for an IP header, with an unknown IP version, or with a TCP header cut short, under each
    link layer the header filter now reads: the filter passes them to the decoder as it would without it, the
    HTTP request after them is still read, and a file cut inside its last record says so, naming the packet."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Loopback
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    mac = b"\x02\x00\x00\x00\x00\x01"
    layer = {"sll": lambda: CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac),
             "sll2": lambda: CookedLinuxV2(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac),
             "loopback": lambda: Loopback(type=2), "raw": None}[link]

    def framed(packet):  # scapy packets
        return packet if layer is None else layer() / packet

    tcp_cut = bytes(IP(src="10.0.0.5", dst="10.0.0.6", proto=6) / Raw(b"\x01\xbb\x9c\x40" + b"\x00" * 6))
    frames = [framed(Raw(b"\x45\x00\x00")),  # shorter than an IP header
              framed(Raw(b"\x55" + b"\x00" * 59)),  # IP version 5
              framed(Raw(tcp_cut)),  # the TCP header cut after 10 bytes
              framed(IP(src="10.0.0.5", dst="10.0.0.6") / TCP(sport=40000, dport=80, seq=1)
                     / b"GET /v2/ HTTP/1.1\r\nHost: registry.example.org\r\n\r\n")]
    path = tmp_path / f"malformed-{link}.pcap"
    wrpcap(str(path), frames, linktype=101 if layer is None else None)
    assert _events(path, True) == _events(path, False)
    cut = tmp_path / f"cut-{link}.pcap"
    cut.write_bytes(path.read_bytes()[:-20])  # inside the last record
    items = run_parser(pcap.parse, path)
    assert _hosts(items, ObservationKind.HTTP_HOST) == {"registry.example.org"} and not _errors(items)
    errors = _errors(run_parser(pcap.parse, cut))
    assert len(errors) == 1 and "file ends inside packet 4" in errors[0].message and errors[0].source.packet == 4
