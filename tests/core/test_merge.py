"""Mergeable evidence, property-tested: any split of a run's records, merged in any tree, is one process's fold.

Two values merge: the store's per-input `InputAggregate` (issue 14: counts add, first/last min/max, capped
client sets union then cap, samples the smallest few) and the run's `EvidenceStore` as a `Part` of the
inputs it covers (the dask engine's result). Records are drawn from small alphabets so hosts, clients and
sources repeat and the caps and sample limits are reached; example counts are bounded so this runs in
seconds.
"""

from __future__ import annotations

import copy
import itertools
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.core.evidence import EvidenceStore
from auditor.core.merge import NotContiguous, Part, merge_stores
from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    Confidence,
    EdgeVia,
    HostPurpose,
    HostReference,
    ImageReference,
    InputError,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
    Unresolved,
)
from auditor.store import aggregate
from auditor.store.aggregate import InputAggregate

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

hosts = st.sampled_from(["registry-1.docker.io", "ghcr.io", "quay.io", "cdn.example", "a.example", "b.example"])
clients = st.one_of(st.none(), st.sampled_from([f"10.0.0.{i}" for i in range(12)]))
times = st.one_of(st.none(), st.floats(min_value=1.7e9, max_value=1.7e9 + 10 * 86_400, allow_nan=False))
sources = st.one_of(st.none(), st.builds(Source, st.sampled_from(["dns.log", "b.log", "c.pcap"]),
                                         st.integers(1, 9), st.none(), st.just("p")))


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    time = draw(times)
    count = draw(st.integers(1, 4))
    last = None if time is None or count == 1 else time + draw(st.floats(0, 3 * 86_400))
    return Observation(draw(hosts), draw(st.sampled_from(list(ObservationKind))), time, draw(clients), None,
                       draw(st.sampled_from([None, "NOERROR", "NXDOMAIN"])), draw(st.sampled_from(["", "/v2/x"])),
                       draw(sources), count, last)


blocked = st.builds(BlockedAttempt, hosts, st.sampled_from(list(BlockReason)), times, clients,
                    st.sampled_from(["", "denied", "refused"]), sources, st.sampled_from([None, "alpine", "nginx"]),
                    st.integers(1, 3))
edges = st.builds(RedirectEdge, hosts, hosts, st.sampled_from(list(EdgeVia)), st.sampled_from(list(Confidence)),
                  st.lists(st.builds(Source, st.sampled_from(["x.pcap", "y.har"]), st.integers(1, 5)), max_size=2
                           ).map(tuple), st.sampled_from(["", "302", "CNAME"]), times, clients)
statics = st.one_of(
    st.builds(ImageReference, st.sampled_from(["alpine", "nginx:1"]), st.just("docker.io"),
              st.just("registry-1.docker.io"), st.sampled_from(["library/alpine", "library/nginx"]),
              st.just("latest"), st.none(), sources),
    st.builds(HostReference, hosts, st.sampled_from(list(HostPurpose)), st.just(""), sources),
    st.builds(Unresolved, st.sampled_from(["$IMG", "${X}"]), st.just("variable"), sources),
    st.builds(InputError, st.sampled_from(["bad line", "truncated", "odd", "no", "zzz"]),
              st.builds(Source, st.sampled_from(["dns.log", "b.log"]), st.integers(1, 9))),
)
records = st.lists(st.one_of(observations(), observations(), blocked, edges, statics), min_size=1, max_size=40)


def _cuts(draw: st.DrawFn, n: int) -> list[int]:
    return sorted(set(draw(st.lists(st.integers(0, n), max_size=6))) | {0, n})


def _tree(draw: st.DrawFn, parts: list) -> object:
    """Merge PARTS (adjacent ones only, as the engine's tree does) in an order hypothesis picks."""
    parts = list(parts)
    while len(parts) > 1:
        i = draw(st.integers(0, len(parts) - 2))
        a, b = parts[i], parts[i + 1]
        merged = b.merge(a) if draw(st.booleans()) else a.merge(b)  # commutative: either operand order
        parts[i:i + 2] = [merged]
    return parts[0]


# -- the store's per-input aggregate -----------------------------------------------------------------


def _aggregate(items: list) -> InputAggregate:
    agg = InputAggregate()
    for item in items:
        agg.add(item)
    return agg


@pytest.fixture(autouse=True)
def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregate, "CLIENT_CAP", 4)  # 12 clients in the alphabet: the cap is reached


@SETTINGS
@given(records, st.data())
def test_any_split_of_the_inputs_aggregates_to_the_one_process_value(items: list, data: st.DataObject) -> None:
    cuts = _cuts(data.draw, len(items))
    pieces = [_aggregate(items[a:b]) for a, b in itertools.pairwise(cuts)]
    data.draw(st.randoms()).shuffle(pieces)  # commutative too: any order of any grouping
    merged = _tree(data.draw, pieces)
    assert merged == _aggregate(items)


@SETTINGS
@given(records, records, records)
def test_aggregate_merge_is_associative_and_commutative(x: list, y: list, z: list) -> None:
    def a() -> InputAggregate:
        return _aggregate(x)

    def b() -> InputAggregate:
        return _aggregate(y)

    def c() -> InputAggregate:
        return _aggregate(z)

    assert a().merge(b().merge(c())) == a().merge(b()).merge(c())
    assert a().merge(b()) == b().merge(a())


# -- the run's evidence fold, as parts of the inputs ---------------------------------------------------


def _fold(items: list) -> EvidenceStore:
    store = EvidenceStore()
    for item in items:
        store.add(item)
    return store


def _view(store: EvidenceStore) -> tuple:
    """Everything a renderer can see, order included (dict order is where each host was first seen)."""
    return (pickle.dumps((store.references, store.host_references, store.unresolved, store.errors, store.timeline,
                          store.timeline_overflow, store.blocked, store.blocked_total, store.inputs,
                          store.skipped_files)),
            [(k, v.count, v.first, v.last, sorted(v.clients), v.clients_overflow, list(v.kinds.items()), v.rcodes,
              v.registry_api_calls, v.sources) for k, v in store.activity.items()],
            [(k, v.count, v.first, v.confidence, v.details, sorted(v.clients), v.sources)
             for k, v in store.edges.items()],
            [(k, v.count, v.first, v.last, sorted(v.clients), list(v.reasons.items()), dict(v.hours),
              sorted(v.images), v.details, v.sources) for k, v in store.blocked_groups.items()])


@SETTINGS
@given(records, st.data())
def test_any_split_of_the_inputs_folds_to_the_one_process_store(items: list, data: st.DataObject) -> None:
    cuts = _cuts(data.draw, len(items))
    parts = [Part(a, b, _fold(items[a:b])) for a, b in itertools.pairwise(cuts)]
    merged = _tree(data.draw, parts)
    assert isinstance(merged, Part) and (merged.start, merged.end) == (0, len(items))
    assert _view(merged.store) == _view(_fold(items))


@SETTINGS
@given(records, records, records)
def test_part_merge_is_associative_and_commutative(x: list, y: list, z: list) -> None:
    ends = (len(x), len(x) + len(y), len(x) + len(y) + len(z))

    def a() -> Part:
        return Part(0, ends[0], _fold(x))

    def b() -> Part:
        return Part(ends[0], ends[1], _fold(y))

    def c() -> Part:
        return Part(ends[1], ends[2], _fold(z))

    assert _view(a().merge(b().merge(c())).store) == _view(a().merge(b()).merge(c()).store)
    assert _view(a().merge(b()).store) == _view(b().merge(a()).store)


def test_parts_that_do_not_touch_refuse_to_merge() -> None:
    with pytest.raises(NotContiguous):
        Part(0, 1, EvidenceStore()).merge(Part(2, 3, EvidenceStore()))


def test_merging_does_not_change_the_later_operand() -> None:
    later = _fold([Observation("ghcr.io", ObservationKind.DNS_QUERY, 1.7e9, "10.0.0.1", source=Source("a", 1)),
                   Observation("ghcr.io", ObservationKind.DNS_QUERY, 1.7e9, "10.0.0.2", source=Source("a", 2))])
    before = copy.deepcopy(_view(later))
    earlier = _fold([Observation("ghcr.io", ObservationKind.DNS_QUERY, 1.6e9, "10.0.0.3", source=Source("b", 1))])
    merge_stores(earlier, later)
    assert _view(later) == before
    assert earlier.activity["ghcr.io"].count == 3
    assert earlier.activity["ghcr.io"].clients == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert earlier.activity["ghcr.io"].sources == [Source("b", 1), Source("a", 1), Source("a", 2)]
