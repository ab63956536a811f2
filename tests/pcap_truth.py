"""Helpers for the capture tests: what tshark printed (the corpus ground truth, or a live run) and what we
extract at the same level (per DNS response, per ClientHello, per HTTP message)."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from parsers.common.inputs import InputFile
from parsers.traffic.capture import dns, reader
from parsers.traffic.capture.scanner import Event, Scanner

TSHARK = shutil.which("tshark")
DNS_FIELDS = ["dns.qry.name", "dns.cname", "dns.a", "dns.aaaa"]


@dataclass
class Extracted:
    """Multisets of the values tshark prints, one entry per DNS response / ClientHello / HTTP message."""

    dns: Counter = field(default_factory=Counter)  # (qnames, cnames, a, aaaa) tuples
    sni: Counter = field(default_factory=Counter)
    hosts: Counter = field(default_factory=Counter)
    locations: Counter = field(default_factory=Counter)  # (status, location)


def scan_events(path: Path) -> list[Event]:
    inp = InputFile.from_path(path)
    scanner = Scanner()
    with inp.open() as stream:
        for _ in reader.scan(stream, scanner, lambda _n: None):
            pass
    scanner.flush()
    return scanner.events


def ours(path: Path) -> Extracted:
    out = Extracted()
    for event in scan_events(path):
        if event.kind == "dns" and event.data.is_response:  # type: ignore[union-attr]
            msg: dns.DnsMessage = event.data  # type: ignore[assignment]
            records = msg.records

            def values(rtype: int, records: list = records) -> tuple[str, ...]:
                return tuple(r.value for r in records if r.rtype == rtype)

            out.dns[(tuple(q for q, _ in msg.questions), values(dns.TYPE_CNAME), values(dns.TYPE_A),
                     values(dns.TYPE_AAAA))] += 1
        elif event.kind == "tls":
            out.sni.update(event.data.server_names)  # type: ignore[union-attr]
        elif event.kind == "http-request" and event.data.host:  # type: ignore[union-attr]
            out.hosts[event.data.host] += 1  # type: ignore[union-attr]
        elif event.kind == "http-response" and event.data.location:  # type: ignore[union-attr]
            out.locations[(str(event.data.status), event.data.location)] += 1  # type: ignore[union-attr]
    return out


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def parse_truth(text: str) -> Extracted:
    """Read a `FILE.tshark.txt`: three sections of tab-separated tshark -T fields output."""
    out = Extracted()
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].split(":", 1)[0]
            continue
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        if section == "DNS responses":
            cols += [""] * (4 - len(cols))
            out.dns[tuple(_split(c) for c in cols[:4])] += 1
        elif section == "TLS SNI":
            out.sni.update(_split(cols[0]))
        elif section == "HTTP":
            cols += [""] * (3 - len(cols))
            out.hosts.update(_split(cols[0]))  # several requests in one frame: comma-joined
            if cols[2]:
                out.locations[(cols[1], cols[2])] += 1
    return out


def tshark_live(path: Path) -> Extracted:
    """Run tshark on PATH with the same three commands that produced the corpus ground truth."""
    assert TSHARK
    base = [TSHARK, "-n", "-r", str(path), "-T", "fields"]

    def run(args: list[str]) -> str:
        return subprocess.run(base + args, capture_output=True, text=True, timeout=120, check=False).stdout

    text = "## DNS responses:\n" + run(["-Y", "dns.flags.response==1"] + [a for f in DNS_FIELDS for a in ("-e", f)])
    text += "## TLS SNI:\n" + run(["-Y", "tls.handshake.extensions_server_name", "-e",
                                   "tls.handshake.extensions_server_name"])
    text += "## HTTP:\n" + run(["-Y", "http.host || http.location", "-e", "http.host", "-e",
                                "http.response.code", "-e", "http.location"])
    return parse_truth(text)
