"""Timing edges for the store: inferred per input at ingest, kept as edges with their evidence.

A live run infers `tls-timing` edges (a host contacted shortly after a registry host, repeatedly: see
decisions/redirects.py) from the timeline of connection starts of its inputs. The store keeps no timeline (a year
of resolver lines would not fit), so each input's timeline is collected while it is aggregated, the same inference
runs over it with the same thresholds, and the edges it finds are stored like any other edge (day of the input's
last record, count = the follows, confidence, the detail that says why). A window then reads them back with the
CNAME and Location edges of every ingest in it, so a timing edge seen in one ingest and its hosts' use in another
meet again in `audit --store` and `propose --store`.

Limits (stated in docs/store.md): follows are counted per input, so two inputs of 2 follows each do not add up to
the 3 an edge needs; edges of several inputs add their counts but keep the strongest confidence found in one.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from auditor.core.evidence import MAX_TIMELINE, TIMELINE_KINDS
from auditor.core.model import EdgeVia, Evidence, ImageReference, Observation, ObservationKind, RedirectEdge

if TYPE_CHECKING:
    from auditor.knowledge import Knowledge
    from auditor.store.aggregate import InputAggregate

_KINDS = tuple(ObservationKind)


@lru_cache(maxsize=1)
def _knowledge() -> Knowledge:
    from auditor.knowledge import load_knowledge

    return load_knowledge()


class Timeline:
    """The connection starts of one input, as a live run's EvidenceStore keeps them (same kinds, same cap), in
    flat arrays: 500,000 starts cost 9 MB here, not the 60 MB of as many tuples."""

    def __init__(self) -> None:
        self.times = array("d")
        self.clients = array("I")
        self.hosts = array("I")
        self.kinds = array("B")
        self._ids: dict[str, int] = {}
        self.names: list[str] = []
        self.overflow = False
        self.references: set[str] = set()  # image endpoints: registries for the inference

    def _id(self, name: str) -> int:
        found = self._ids.get(name)
        if found is None:
            found = self._ids[name] = len(self.names)
            self.names.append(sys.intern(name))
        return found

    def add(self, record: Evidence) -> None:
        if isinstance(record, Observation):
            if record.kind in TIMELINE_KINDS and record.time is not None and record.client:
                if len(self.times) >= MAX_TIMELINE:
                    self.overflow = True
                    return
                self.times.append(record.time)
                self.clients.append(self._id(record.client))
                self.hosts.append(self._id(record.host))
                self.kinds.append(_KINDS.index(record.kind))
        elif isinstance(record, ImageReference) and record.endpoint:
            self.references.add(record.endpoint)

    def __len__(self) -> int:
        return len(self.times)

    def events(self) -> Iterator[tuple[float, str, str, str]]:
        names = self.names
        for time, client, host, kind in zip(self.times, self.clients, self.hosts, self.kinds, strict=True):
            yield time, names[client], names[host], _KINDS[kind].value


def timing_edges(timeline: Timeline, agg: InputAggregate) -> list[tuple[RedirectEdge, int]]:
    """The tls-timing edges of one input (each with its follows), found as build_graph finds them for a live run
    over that input alone."""
    if len(timeline) < 2:
        return []
    from auditor.decisions.redirects import infer_timing_edges

    knowledge = _knowledge()
    hosts = {timeline.names[h] for h in set(timeline.hosts)}
    api_hosts = {host for (_day, host, _kind), cell in agg.observations.items() if cell.api_calls}
    registries = set(timeline.references) | api_hosts | {h for h in hosts if knowledge.match_api(h) is not None}
    explained: set[tuple[str, str]] = set()
    targets: set[str] = set()
    for registry in registries:
        for known in knowledge.required_for(registry, itself=False):
            if known.host_or_pattern != registry:
                explained.add((registry, known.host_or_pattern))
                targets.add(known.host_or_pattern)
    for _day, src, dst, via in agg.edges:
        explained.add((src, dst))
        targets.add(dst)
        if via == EdgeVia.DNS_CNAME.value:
            explained.add((dst, src))
    known_hosts = targets | {h for h in hosts if knowledge.match(h) is not None}
    found = infer_timing_edges(timeline.events(), registries, explained, explained_hosts=known_hosts)
    return [(RedirectEdge(e.from_host, e.to_host, e.via, e.confidence, (), e.detail, agg.last_time), e.count)
            for e in found]


def add_timing_edges(timeline: Timeline, agg: InputAggregate) -> int:
    """Fold the input's timing edges into AGG; how many there were."""
    edges = timing_edges(timeline, agg)
    for edge, follows in edges:
        agg.add_edge(edge, follows)
    return len(edges)
