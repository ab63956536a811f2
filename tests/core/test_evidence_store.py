"""The evidence store folds traffic and log records per host and per edge. It holds a single client, source
or detail bare and makes a set or list only for the second, so that hundreds of thousands of hosts fit in
memory. What it reports must be what plain sets and lists would have held."""

from __future__ import annotations

import gc

import pytest

from auditor.core import evidence
from auditor.core.evidence import EvidenceStore
from auditor.core.model import Confidence, EdgeVia, Observation, ObservationKind, RedirectEdge, Source
from parsers.common.inputs import BULK_GC_THRESHOLD, bulk_parsing


def _seen(host: str, client: str | None, packet: int, kind: ObservationKind = ObservationKind.DNS_QUERY,
          rcode: str | None = None, count: int = 1) -> Observation:
    return Observation(host=host, kind=kind, time=1_700_000_000.0 + packet, client=client, rcode=rcode,
                       source=Source("capture.pcap", packet=packet, parser="pcap"), count=count)


def test_one_client_many_clients_and_the_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_CLIENTS_PER_ITEM", 3)
    store = EvidenceStore()
    store.add(_seen("ghcr.io", "10.0.0.1", 1))
    store.add(_seen("ghcr.io", "10.0.0.1", 2))
    assert store.activity["ghcr.io"].clients == {"10.0.0.1"}
    assert not store.activity["ghcr.io"].clients_overflow
    store.add(_seen("ghcr.io", "10.0.0.2", 3))
    store.add(_seen("ghcr.io", None, 4))  # a record without a client changes nothing
    store.add(_seen("ghcr.io", "10.0.0.3", 5))
    assert store.activity["ghcr.io"].clients == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert not store.activity["ghcr.io"].clients_overflow
    store.add(_seen("ghcr.io", "10.0.0.2", 6))  # known: not an overflow
    assert not store.activity["ghcr.io"].clients_overflow
    store.add(_seen("ghcr.io", "10.0.0.4", 7))
    assert store.activity["ghcr.io"].clients == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert store.activity["ghcr.io"].clients_overflow
    assert store.activity["ghcr.io"].count == 7
    # the view is a copy: changing it does not change the store
    store.activity["ghcr.io"].clients.add("10.9.9.9")
    assert "10.9.9.9" not in store.activity["ghcr.io"].clients


def test_sources_keep_the_first_few_distinct_ones_in_order() -> None:
    store = EvidenceStore()
    store.add(_seen("quay.io", "10.0.0.1", 10))
    assert [s.packet for s in store.activity["quay.io"].sources] == [10]
    for packet in (10, 11, 12, 13, 14):
        store.add(_seen("quay.io", "10.0.0.1", packet))
    assert [s.packet for s in store.activity["quay.io"].sources] == [10, 11, 12][:evidence.MAX_SOURCES_PER_HOST]
    unsourced = Observation(host="gcr.io", kind=ObservationKind.TLS_SNI, client="10.0.0.1")
    store.add(unsourced)
    assert store.activity["gcr.io"].sources == []


def test_rcodes_and_kinds_are_counted_per_host() -> None:
    store = EvidenceStore()
    store.add(_seen("mcr.microsoft.com", "10.0.0.1", 1))
    assert store.activity["mcr.microsoft.com"].rcodes == {}
    store.add(_seen("mcr.microsoft.com", "10.0.0.1", 2, ObservationKind.DNS_ANSWER, "NOERROR", count=4))
    store.add(_seen("mcr.microsoft.com", "10.0.0.1", 3, ObservationKind.DNS_ANSWER, "NXDOMAIN"))
    activity = store.activity["mcr.microsoft.com"]
    assert activity.rcodes == {"NOERROR": 4, "NXDOMAIN": 1}
    assert activity.kinds == {ObservationKind.DNS_QUERY: 1, ObservationKind.DNS_ANSWER: 5}
    assert (activity.first, activity.last) == (1_700_000_001.0, 1_700_000_003.0)


def test_edges_fold_details_sources_and_clients() -> None:
    store = EvidenceStore()

    def cname(detail: str, packet: int, client: str | None) -> RedirectEdge:
        return RedirectEdge("registry-1.docker.io", "docker-images-prod.r2.cloudflarestorage.com", EdgeVia.DNS_CNAME,
                            Confidence.HIGH, (Source("capture.pcap", packet=packet, parser="pcap"),), detail,
                            1_700_000_000.0 + packet, client)

    store.add(cname("CNAME; asked for registry-1.docker.io", 5, "10.0.0.1"))
    (edge,) = store.edges.values()
    assert edge.details == ["CNAME; asked for registry-1.docker.io"]
    assert edge.clients == {"10.0.0.1"}
    assert [s.packet for s in edge.sources] == [5]
    store.add(cname("CNAME; asked for registry-1.docker.io", 6, "10.0.0.1"))
    store.add(cname("CNAME; asked for docker.io", 7, "10.0.0.2"))
    store.add(cname("", 8, None))
    (edge,) = store.edges.values()
    assert edge.count == 4
    assert edge.first == 1_700_000_005.0
    assert edge.details == ["CNAME; asked for registry-1.docker.io", "CNAME; asked for docker.io"]
    assert edge.clients == {"10.0.0.1", "10.0.0.2"}
    assert [s.packet for s in edge.sources] == [5, 6, 7, 8][:evidence.MAX_SOURCES_PER_ITEM]
    assert edge.edge().detail == "CNAME; asked for registry-1.docker.io; CNAME; asked for docker.io"


def test_merged_edges_keep_the_strongest_confidence_whatever_the_order() -> None:
    def edge(confidence: Confidence, packet: int) -> RedirectEdge:
        return RedirectEdge("harbor.corp.example", "harbor-blobs.s3.eu-west-1.amazonaws.com", EdgeVia.HTTP_LOCATION,
                            confidence, (Source("capture.pcap", packet=packet, parser="pcap"),))

    for order in ([Confidence.LOW, Confidence.HIGH, Confidence.MEDIUM], [Confidence.HIGH, Confidence.LOW],
                  [Confidence.UNCONFIRMED, Confidence.MEDIUM, Confidence.LOW]):
        store = EvidenceStore()
        for packet, confidence in enumerate(order):
            store.add(edge(confidence, packet))
        (merged,) = store.edges.values()
        strongest = max(order, key=[Confidence.UNCONFIRMED, Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH].index)
        assert merged.confidence is strongest and merged.edge().confidence is strongest, order
        assert merged.count == len(order)


def test_bulk_parsing_raises_the_gc_threshold_and_restores_it_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_parsing():
        assert gc.get_threshold() == (BULK_GC_THRESHOLD, *before[1:])
        raise RuntimeError("a parser failed")
    assert gc.get_threshold() == before
