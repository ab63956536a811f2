"""The redirect graph: which host sends clients to which other host, from every kind of evidence.

Edge kinds and how much they are trusted:
- knowledge: the registry profile says so (confidence from the knowledge base);
- http-location: a 30x Location seen in traffic or a log (exact, HIGH);
- probe: a live probe followed it (HIGH, as recorded by the probe);
- dns-cname: recorded, but never followed for the allowlist: a hostname filter sees the name the client
  asked for, not the CNAME target;
- tls-timing: inferred. Per client, a host contacted shortly after a registry host, repeatedly, and more
  often than chance would put it there. LOW or MEDIUM by the number of occurrences.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.core.evidence import EvidenceStore
from auditor.core.gc_budget import few_collections
from auditor.core.model import Confidence, EdgeVia, Source
from auditor.knowledge import CONFIDENCE_ORDER, Knowledge, KnownHost

TIMING_WINDOW = 3.0  # seconds after a registry contact in which a redirect target is contacted
TIMING_MIN_COUNT = 3  # occurrences before a timing edge is proposed at all
TIMING_MEDIUM_COUNT = 10  # occurrences for MEDIUM confidence
TIMING_MIN_RATIO = 0.6  # share of the host's contacts (by those clients) that follow a registry contact
TIMING_CHANCE_FACTOR = 3.0  # ... and at least this many times what chance alone would give
FOLLOWED_VIAS = frozenset({EdgeVia.KNOWLEDGE, EdgeVia.HTTP_LOCATION, EdgeVia.PROBE, EdgeVia.TLS_TIMING})


@dataclass(slots=True)  # one per registry host and edge: 10^5 of them in a fleet
class GraphEdge:
    from_host: str
    to_host: str
    via: EdgeVia
    confidence: Confidence
    count: int = 1
    # where it was seen; a knowledge edge (most of a fleet's) has none: the shared empty tuple, a list once merged
    sources: list[Source] | tuple[()] = ()
    detail: str = ""
    knowledge: KnownHost | None = None  # for knowledge edges: the fact, its source and date

    @property
    def followed(self) -> bool:
        """Whether the allowlist needs the target (False for CNAME: the filter sees the asked name)."""
        return self.via in FOLLOWED_VIAS

    def describe(self) -> str:
        text = f"{self.from_host} -> {self.to_host} via {self.via.value} ({self.confidence.value})"
        if self.knowledge is not None:
            text += f", {self.knowledge.citation}"
        elif self.sources:
            text += ", seen at " + ", ".join(str(s) for s in self.sources[:3])
        return text


@dataclass
class RedirectGraph:
    edges: list[GraphEdge] = field(default_factory=list)
    _by_from: dict[str, list[GraphEdge]] = field(default_factory=dict, repr=False)
    # hosts whose list in _by_from grew since it was last sorted: edges_from sorts a list in place once (the
    # decisions ask five times per required host), with no second list per host
    _unsorted: set[str] = field(default_factory=set, repr=False)

    def add(self, edge: GraphEdge) -> None:
        held = self._by_from.get(edge.from_host)
        if held is None:
            self._by_from[edge.from_host] = [edge]
            self.edges.append(edge)
            return
        for existing in held:
            if existing.to_host == edge.to_host and existing.via is edge.via:
                existing.count += edge.count
                added = [s for s in edge.sources if s not in existing.sources]
                if added:
                    existing.sources = [*existing.sources, *added]
                return
        self.edges.append(edge)
        held.append(edge)
        self._unsorted.add(edge.from_host)

    def has_edges_from(self, host: str) -> bool:
        return host in self._by_from

    def edges_from(self, host: str) -> list[GraphEdge]:
        """HOST's edges by target and kind (a new list: the caller may change it)."""
        return list(self._sorted_edges(host))

    def _sorted_edges(self, host: str) -> list[GraphEdge] | tuple[()]:
        """HOST's edges by target and kind: the graph's own list, not to be changed."""
        edges = self._by_from.get(host)
        if not edges:
            return ()
        if host in self._unsorted:
            edges.sort(key=lambda e: (e.to_host, e.via.value))
            self._unsorted.discard(host)
        return edges

    def edges_to(self, host: str) -> list[GraphEdge]:
        return sorted((e for e in self.edges if e.to_host == host), key=lambda e: (e.from_host, e.via.value))

    def closure(self, hosts: Iterable[str]) -> dict[str, list[str]]:
        """Every host reachable from HOSTS over followed edges, with the shortest chain reaching it.

        The chain starts at a host of HOSTS and ends at the reached host; a start maps to `[start]`.
        Ties go to the alphabetically first path, so the result does not depend on input order.
        """
        return {host: chain for host, (chain, _edges) in self.paths(hosts).items()}

    def paths(self, hosts: Iterable[str]) -> dict[str, tuple[list[str], list[GraphEdge]]]:
        """`closure`'s chains, each with the edge it takes at every hop: of the followed edges between two
        hosts (knowledge and a Location for one pair), the most confident, the first in edge order on a tie."""
        paths: dict[str, tuple[list[str], list[GraphEdge]]] = {}
        queue: deque[str] = deque()
        for host in sorted(set(hosts)):
            paths[host] = ([host], [])
            queue.append(host)
        rank = CONFIDENCE_ORDER  # higher is more confident
        while queue:
            host = queue.popleft()
            chain, hops = paths[host]
            reached_here: set[str] = set()
            for edge in self._sorted_edges(host):
                if not edge.followed:
                    continue
                target = edge.to_host
                if target not in paths:
                    paths[target] = ([*chain, target], [*hops, edge])
                    reached_here.add(target)
                    queue.append(target)
                elif target in reached_here:
                    taken = paths[target][1]
                    if rank[edge.confidence] > rank[taken[-1].confidence]:
                        taken[-1] = edge
        return paths

    def cname_targets(self, host: str) -> list[str]:
        return [e.to_host for e in self._sorted_edges(host) if e.via is EdgeVia.DNS_CNAME]

    def observed_followed(self, host: str) -> bool:
        """Whether evidence, not only knowledge, shows where HOST sends clients (a Location, a probe, timing)."""
        return any(e.followed and e.via is not EdgeVia.KNOWLEDGE for e in self._sorted_edges(host))


def registry_hosts(store: EvidenceStore, knowledge: Knowledge) -> set[str]:
    """Hosts known to serve the registry API: referenced endpoints, KB API matches, /v2/ requests."""
    hosts = {ref.endpoint for ref in store.references}
    for activity in store.activity.values():
        if activity.registry_api_calls or knowledge.match_api(activity.host) is not None:
            hosts.add(activity.host)
    return hosts


@few_collections
def build_graph(store: EvidenceStore, knowledge: Knowledge) -> RedirectGraph:
    graph = RedirectGraph()
    registries = registry_hosts(store, knowledge)
    details: dict[tuple[str, str], str] = {}  # one detail text per fact, not one copy per registry host
    for host in sorted(registries | {h.host for h in store.host_references}):
        for known in knowledge.required_for(host, itself=False):
            if known.host_or_pattern != host:
                detail = details.get((known.role, known.note))
                if detail is None:
                    detail = details[(known.role, known.note)] = f"{known.role}: {known.note}".strip()
                graph.add(GraphEdge(host, known.host_or_pattern, EdgeVia.KNOWLEDGE, known.confidence,
                                    detail=detail, knowledge=known))
    for agg in store.sorted_edges():
        graph.add(GraphEdge(agg.from_host, agg.to_host, agg.via, agg.confidence, agg.count, list(agg.sources),
                            "; ".join(agg.details)))
    explained = {(e.from_host, e.to_host) for e in graph.edges}
    explained |= {(e.to_host, e.from_host) for e in graph.edges if e.via is EdgeVia.DNS_CNAME}
    # A host some registry already explains (knowledge, Location, probe) or that belongs to a known
    # registry family is not a new redirect target of whatever registry happened to precede it.
    known_hosts = {e.to_host for e in graph.edges} | {h for h in store.activity if knowledge.match(h) is not None}
    for edge in infer_timing_edges(store.timeline, registries, explained, explained_hosts=known_hosts):
        graph.add(edge)
    return graph


@dataclass
class _PairStats:
    follows: int = 0
    clients: set[str] = field(default_factory=set)


def infer_timing_edges(timeline: Iterable[tuple[float, str, str, str]], registries: set[str],
                       explained: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
                       window: float = TIMING_WINDOW, min_count: int = TIMING_MIN_COUNT,
                       min_ratio: float = TIMING_MIN_RATIO,
                       explained_hosts: set[str] = frozenset()) -> list[GraphEdge]:  # type: ignore[assignment]
    """Edges registry -> host where, per client, HOST is contacted within WINDOW after a registry contact.

    Hosts in EXPLAINED_HOSTS (already reached by a known edge, or part of a known registry family) are
    skipped. A contact counts once per window (a burst of connections is one event). An edge needs MIN_COUNT
    such follows, at least MIN_RATIO of HOST's contacts (by the clients involved) following the registry
    host, and TIMING_CHANCE_FACTOR times the share of the time the windows cover: so a host contacted
    all day long by the same clients, or a registry pulled so often that its windows cover the whole
    capture, gives no edge.
    """
    by_client: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for time, client, host, _kind in timeline:
        by_client[client].append((time, host))
    stats: dict[tuple[str, str], _PairStats] = defaultdict(_PairStats)
    contacts: dict[tuple[str, str], int] = defaultdict(int)  # (client, host) -> contact events
    covered: dict[tuple[str, str], float] = defaultdict(float)  # (client, registry) -> seconds of windows
    span: dict[str, float] = {}
    for client, events in by_client.items():
        events.sort()
        span[client] = max(events[-1][0] - events[0][0], window)
        last_trigger: dict[str, float] = {}
        last_contact: dict[str, float] = {}
        window_end: dict[str, float] = {}
        for time, host in events:
            previous = last_contact.get(host)
            last_contact[host] = time
            if host in explained_hosts and host not in registries:
                continue
            if host in registries:
                end = window_end.get(host)
                covered[(client, host)] += window if end is None or time >= end else time + window - end
                window_end[host] = time + window
                last_trigger[host] = time
                continue
            if previous is not None and time - previous < window:
                continue  # same burst: one event
            contacts[(client, host)] += 1
            for registry, start in last_trigger.items():
                if 0 <= time - start <= window and (registry, host) not in explained:
                    pair = stats[(registry, host)]
                    pair.follows += 1
                    pair.clients.add(client)
    edges = []
    for (registry, host), pair in sorted(stats.items()):
        if pair.follows < min_count:
            continue
        total = sum(contacts[(client, host)] for client in pair.clients)
        ratio = pair.follows / total if total else 0.0
        chance = sum(covered[(c, registry)] for c in pair.clients) / sum(span[c] for c in pair.clients)
        if ratio < min_ratio or ratio < TIMING_CHANCE_FACTOR * chance:
            continue
        confidence = Confidence.MEDIUM if pair.follows >= TIMING_MEDIUM_COUNT else Confidence.LOW
        detail = (f"{pair.follows} of {total} contacts within {window:g}s after {registry} "
                  f"({len(pair.clients)} client(s); chance share {chance:.2f})")
        edges.append(GraphEdge(registry, host, EdgeVia.TLS_TIMING, confidence, pair.follows, detail=detail))
    return edges
