"""The columnar host table and timeline behave as the dict of HostActivity objects and the list of tuples did."""

from __future__ import annotations

import copy
import pickle
import random

from auditor.core.evidence import EvidenceStore, HostActivity
from auditor.core.host_table import HostTable, Timeline
from auditor.core.merge import merge_stores
from auditor.core.model import Observation, ObservationKind, Source

KINDS = [ObservationKind.DNS_QUERY, ObservationKind.DNS_ANSWER, ObservationKind.TLS_SNI, ObservationKind.HTTP_HOST]


def _records(seed: int, count: int) -> list[Observation]:
    rng = random.Random(seed)
    hosts = [f"h{i}.example" for i in range(12)]
    out = []
    for index in range(count):
        kind = rng.choice(KINDS)
        out.append(Observation(rng.choice(hosts), kind, rng.choice([None, 1_700_000_000.0 + rng.randrange(500)]),
                               rng.choice([None, "10.0.0.1", "10.0.0.2", "10.0.0.3"]),
                               rcode=rng.choice([None, None, "NOERROR", "NXDOMAIN"]),
                               detail=rng.choice(["", "/v2/app/manifests/1", "/index.html"]),
                               source=rng.choice([None, Source("a.log", index + 1, None, "squid")]),
                               count=rng.choice([0, 1, 1, 3])))
    return out


def _reference(records: list[Observation]) -> dict[str, tuple]:
    """What each host's aggregate must hold, folded by hand the simple way (dicts, no compact forms)."""
    folded: dict[str, dict] = {}
    for obs in records:
        row = folded.setdefault(obs.host, {"count": 0, "first": None, "last": None, "clients": set(), "kinds": {},
                                           "rcodes": {}, "api": 0, "sources": []})
        row["count"] += obs.count
        if obs.time is not None:
            row["first"] = obs.time if row["first"] is None else min(row["first"], obs.time)
            row["last"] = obs.time if row["last"] is None else max(row["last"], obs.time)
        if obs.client:
            row["clients"].add(obs.client)
        row["kinds"][obs.kind] = row["kinds"].get(obs.kind, 0) + obs.count
        if obs.rcode:
            row["rcodes"][obs.rcode] = row["rcodes"].get(obs.rcode, 0) + obs.count
        if obs.kind is ObservationKind.HTTP_HOST and obs.detail.startswith("/v2/"):
            row["api"] += obs.count
        if obs.source is not None and obs.source not in row["sources"] and len(row["sources"]) < 3:
            row["sources"].append(obs.source)
    return {host: (r["count"], r["first"], r["last"], r["clients"], list(r["kinds"].items()), r["rcodes"], r["api"],
                   r["sources"]) for host, r in folded.items()}


def _seen(store: EvidenceStore) -> dict[str, tuple]:
    return {host: (a.count, a.first, a.last, a.clients, list(a.kinds.items()), a.rcodes, a.registry_api_calls,
                   a.sources) for host, a in store.activity.items()}


def test_rows_fold_what_a_plain_fold_gives_in_first_seen_order() -> None:
    for seed in range(40):
        records = _records(seed, 60)
        store = EvidenceStore()
        for obs in records:
            store.add(obs)
        assert _seen(store) == _reference(records), seed
        assert list(store.activity) == list(dict.fromkeys(o.host for o in records))


def test_merged_stores_give_the_one_store_fold() -> None:
    for seed in range(40):
        records = _records(seed, 80)
        cut = random.Random(seed).randrange(len(records))
        earlier, later = EvidenceStore(), EvidenceStore()
        for obs in records[:cut]:
            earlier.add(obs)
        for obs in records[cut:]:
            later.add(obs)
        later_before = _seen(later)
        merged = merge_stores(earlier, later)
        assert _seen(merged) == _reference(records), seed
        assert _seen(later) == later_before  # the operand's rows are copied, not shared


def test_views_read_and_write_their_row_and_copies_are_their_own() -> None:
    store = EvidenceStore()
    store.add(Observation("quay.io", ObservationKind.DNS_QUERY, 5.0, "10.0.0.1", count=2))
    view = store.activity["quay.io"]
    assert (view.host, view.count, view.first, view.last, view.kinds) == ("quay.io", 2, 5.0, 5.0, {"dns-query": 2})
    view.count += 1
    assert store.activity["quay.io"].count == 3
    alone = copy.copy(view)
    alone.count = 10
    assert store.activity["quay.io"].count == 3 and alone.count == 10 and alone.host == "quay.io"
    assert alone != view and copy.copy(view) == view
    standalone = HostActivity("ghcr.io")
    assert (standalone.count, standalone.first, standalone.kinds, standalone.sources) == (0, None, {}, [])
    assert "quay.io" in store.activity and "ghcr.io" not in store.activity and store.activity.get("ghcr.io") is None


def test_tables_and_timelines_pickle_and_compare_by_value() -> None:
    store = EvidenceStore()
    for obs in _records(3, 50):
        store.add(obs)
    store.add(Observation("late.example", ObservationKind.TLS_SNI, 9.0, "10.0.0.9"))
    back = pickle.loads(pickle.dumps(store))
    assert back.activity == store.activity and list(back.activity) == list(store.activity)
    assert back.timeline == store.timeline == list(store.timeline)
    assert isinstance(back.activity, HostTable) and isinstance(back.timeline, Timeline)
    events = list(store.timeline)
    assert store.timeline[1:3] == events[1:3] and store.timeline[-1] == events[-1]
    assert events[-1] == (9.0, "10.0.0.9", "late.example", "tls-sni")
