"""The redirect graph: knowledge, HTTP Location, CNAME (recorded, not followed) and timing-inferred edges."""

from __future__ import annotations

import random

from auditor.core.evidence import EvidenceStore
from auditor.core.model import Confidence, EdgeVia, ImageReference, Observation, ObservationKind, RedirectEdge, Source
from auditor.decisions.redirects import GraphEdge, RedirectGraph, build_graph, infer_timing_edges
from auditor.knowledge import load_knowledge

KB = load_knowledge()
DAY = 86_400.0
T0 = 1_790_000_000.0
REGISTRY = "registry.corp.example"
BLOBS = "blobs.corp-cdn.example"


def sni(store: EvidenceStore, host: str, time: float, client: str = "10.0.0.5") -> None:
    store.add(Observation(host, ObservationKind.TLS_SNI, time=time, client=client, source=Source("cap.pcap", packet=1)))


def test_knowledge_edges_carry_their_source() -> None:
    store = EvidenceStore()
    store.add(ImageReference("ghcr.io/acme/tool:1", "ghcr.io", "ghcr.io", "acme/tool", "1"))
    graph = build_graph(store, KB)
    [edge] = graph.edges_from("ghcr.io")
    assert (edge.to_host, edge.via, edge.confidence) == ("pkg-containers.githubusercontent.com", EdgeVia.KNOWLEDGE,
                                                         Confidence.MEDIUM)
    assert edge.knowledge is not None and edge.knowledge.source.startswith("https://trivy.dev/")
    assert graph.closure(["ghcr.io"]) == {"ghcr.io": ["ghcr.io"],
                                          "pkg-containers.githubusercontent.com": ["ghcr.io",
                                                                                   "pkg-containers.githubusercontent.com"]}


def test_http_location_is_followed_and_cname_is_not() -> None:
    store = EvidenceStore()
    source = Source("cap.pcap", packet=9)
    store.add(RedirectEdge(REGISTRY, "objects.store.example", EdgeVia.HTTP_LOCATION, Confidence.HIGH, (source,)))
    store.add(RedirectEdge("objects.store.example", "s3-edge.store-backend.example", EdgeVia.DNS_CNAME,
                           Confidence.HIGH, (source,)))
    store.add(RedirectEdge("objects.store.example", "final.store.example", EdgeVia.HTTP_LOCATION, Confidence.HIGH))
    graph = build_graph(store, KB)
    chains = graph.closure([REGISTRY])
    assert chains == {REGISTRY: [REGISTRY], "objects.store.example": [REGISTRY, "objects.store.example"],
                      "final.store.example": [REGISTRY, "objects.store.example", "final.store.example"]}
    assert graph.cname_targets("objects.store.example") == ["s3-edge.store-backend.example"]
    [location] = graph.edges_from(REGISTRY)
    assert location.sources == [source] and location.followed


def test_each_hop_of_a_path_takes_the_most_confident_followed_edge() -> None:
    """Two followed edges between one pair (a timing guess and a Location seen): the chain's hop is the Location;
    of two equally confident ones, the first in edge order (by kind); a CNAME is never a hop."""
    graph = RedirectGraph()
    graph.add(GraphEdge(REGISTRY, "objects.store.example", EdgeVia.TLS_TIMING, Confidence.LOW))
    graph.add(GraphEdge(REGISTRY, "objects.store.example", EdgeVia.HTTP_LOCATION, Confidence.HIGH))
    graph.add(GraphEdge(REGISTRY, "objects.store.example", EdgeVia.DNS_CNAME, Confidence.HIGH))
    graph.add(GraphEdge("objects.store.example", "final.store.example", EdgeVia.TLS_TIMING, Confidence.MEDIUM))
    graph.add(GraphEdge("objects.store.example", "final.store.example", EdgeVia.PROBE, Confidence.MEDIUM))
    paths = graph.paths([REGISTRY])
    chain, hops = paths["final.store.example"]
    assert chain == [REGISTRY, "objects.store.example", "final.store.example"]
    assert [(e.via, e.confidence) for e in hops] == [(EdgeVia.HTTP_LOCATION, Confidence.HIGH),
                                                     (EdgeVia.PROBE, Confidence.MEDIUM)]  # "probe" < "tls-timing"
    assert paths[REGISTRY] == ([REGISTRY], [])
    assert graph.closure([REGISTRY]) == {host: chain for host, (chain, _hops) in paths.items()}


def _pulls(store: EvidenceStore, rng: random.Random, count: int, delay: tuple[float, float],
           client: str = "10.0.0.5", target: str = BLOBS) -> None:
    for _ in range(count):
        start = T0 + rng.uniform(0, DAY)
        sni(store, REGISTRY, start, client)
        sni(store, target, start + rng.uniform(*delay), client)


def _background(store: EvidenceStore, rng: random.Random, hosts: list[str], per_host: int,
                clients: list[str]) -> None:
    for host in hosts:
        for _ in range(per_host):
            sni(store, host, T0 + rng.uniform(0, DAY), rng.choice(clients))


def _registry_observed(store: EvidenceStore) -> None:
    # The registry is known as such: it served /v2/ requests.
    store.add(Observation(REGISTRY, ObservationKind.HTTP_HOST, detail="/v2/", source=Source("proxy.log", 1)))


def test_timing_edge_from_repeated_follow_ups() -> None:
    rng = random.Random(1)
    store = EvidenceStore()
    _registry_observed(store)
    _pulls(store, rng, 25, (0.2, 1.5))
    _pulls(store, rng, 12, (0.2, 1.5), client="10.0.0.6")
    _background(store, rng, ["news.example", "mail.example", "updates.os.example"], 300, ["10.0.0.5", "10.0.0.6"])
    edges = [e for e in build_graph(store, KB).edges if e.via is EdgeVia.TLS_TIMING]
    assert [(e.from_host, e.to_host, e.confidence) for e in edges] == [(REGISTRY, BLOBS, Confidence.MEDIUM)]
    assert edges[0].count == 37 and "2 client(s)" in edges[0].detail


def test_few_follow_ups_give_a_low_confidence_edge() -> None:
    rng = random.Random(2)
    edges = _timing(lambda store: _pulls(store, rng, 4, (0.1, 0.8)))
    assert [(e.to_host, e.confidence) for e in edges] == [(BLOBS, Confidence.LOW)]


def _timing(fill) -> list:  # type: ignore[no-untyped-def]
    store = EvidenceStore()
    fill(store)
    return infer_timing_edges(store.timeline, {REGISTRY})


def test_random_background_traffic_gives_no_edge() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        store = EvidenceStore()
        _pulls(store, rng, 30, (30.0, 60.0), target="unrelated.example")  # too late to be a redirect
        _background(store, rng, [f"site{i}.example" for i in range(30)], 200, ["10.0.0.5", "10.0.0.6", "10.0.0.7"])
        assert infer_timing_edges(store.timeline, {REGISTRY}) == [], seed


def test_host_contacted_all_day_is_not_a_redirect_target() -> None:
    rng = random.Random(3)

    def fill(store: EvidenceStore) -> None:
        _pulls(store, rng, 15, (0.2, 1.0), target="telemetry.example")  # sometimes right after a pull ...
        _background(store, rng, ["telemetry.example"], 400, ["10.0.0.5"])  # ... but mostly on its own

    assert _timing(fill) == []


def test_registry_busy_all_the_time_explains_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def fill(store: EvidenceStore) -> None:
        rng = random.Random(4)
        for step in range(20_000):  # a registry contact every ~4 s: its windows cover 70% of the day
            sni(store, REGISTRY, T0 + step * 4.3)
        _background(store, rng, ["chat.example"], 300, ["10.0.0.5"])

    assert _timing(fill) == []
    # Two thirds of chat.example's contacts do follow the registry; only the chance test rejects it.
    monkeypatch.setattr("auditor.decisions.redirects.TIMING_CHANCE_FACTOR", 0.5)
    assert [e.to_host for e in _timing(fill)] == ["chat.example"]


def test_below_minimum_count_gives_no_edge() -> None:
    rng = random.Random(5)
    assert _timing(lambda store: _pulls(store, rng, 2, (0.1, 0.5))) == []


def test_knowledge_explained_hosts_get_no_timing_edge() -> None:
    rng = random.Random(6)
    store = EvidenceStore()
    store.add(ImageReference("ghcr.io/acme/tool:1", "ghcr.io", "ghcr.io", "acme/tool", "1"))
    for _ in range(20):
        start = T0 + rng.uniform(0, DAY)
        sni(store, "ghcr.io", start)
        sni(store, "pkg-containers.githubusercontent.com", start + 0.5)
    vias = {(e.to_host, e.via) for e in build_graph(store, KB).edges_from("ghcr.io")}
    assert vias == {("pkg-containers.githubusercontent.com", EdgeVia.KNOWLEDGE)}


def test_hosts_explained_by_another_registry_get_no_timing_edge() -> None:
    """Hub's CDN right after a ghcr.io contact (two pulls at once) is Hub's, not a ghcr.io redirect."""
    rng = random.Random(7)
    store = EvidenceStore()
    store.add(ImageReference("ghcr.io/acme/tool:1", "ghcr.io", "ghcr.io", "acme/tool", "1"))
    store.add(ImageReference("nginx:1", "docker.io", "registry-1.docker.io", "library/nginx", "1"))
    for _ in range(20):
        start = T0 + rng.uniform(0, DAY)
        sni(store, "ghcr.io", start)
        sni(store, "production.cloudflare.docker.com", start + 0.5)
        sni(store, "new-blobs.ghcr-storage.example", start + 0.7)
    timing = {(e.from_host, e.to_host) for e in build_graph(store, KB).edges if e.via is EdgeVia.TLS_TIMING}
    assert timing == {("ghcr.io", "new-blobs.ghcr-storage.example")}
