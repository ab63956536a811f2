"""The per-input aggregate merges associatively and commutatively: any split of the records, folded in any
grouping and order, gives the value of one fold (what the fleet engine of issue 15 relies on)."""

from __future__ import annotations

import random

from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    Confidence,
    EdgeVia,
    Evidence,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
)
from auditor.store.aggregate import CLIENT_CAP, SAMPLES, InputAggregate

DAY = 86_400.0
START = 1_790_000_000.0  # 2026-09-21


def records(rng: random.Random, n: int) -> list[Evidence]:
    found: list[Evidence] = []
    hosts = ["ghcr.io", "quay.io", "pkg-containers.githubusercontent.com", "gcr.io"]
    for i in range(n):
        t = START + rng.randrange(3) * DAY + rng.random() * 3600
        client = f"10.0.{rng.randrange(2)}.{rng.randrange(60)}"  # more than CLIENT_CAP distinct clients
        source = Source(f"dns{rng.randrange(4)}.log", line=rng.randrange(1, 500), parser="zeek")
        pick = rng.randrange(3)
        if pick == 0:
            span = rng.choice([None, t + rng.random() * 3 * DAY])  # some folded records span days
            found.append(Observation(rng.choice(hosts), ObservationKind.DNS_QUERY, t, client, source=source,
                                     count=rng.randrange(1, 5), last_time=span))
        elif pick == 1:
            found.append(BlockedAttempt(rng.choice(hosts), BlockReason.RAM_REGISTRY, t, client,
                                        detail=f"try {i % 7}", source=source, count=rng.randrange(1, 3)))
        else:
            found.append(RedirectEdge("ghcr.io", "pkg-containers.githubusercontent.com", EdgeVia.DNS_CNAME,
                                      rng.choice(list(Confidence)), (source,), f"cname {i % 5}", t, client))
    return found


def fold(items: list[Evidence]) -> InputAggregate:
    agg = InputAggregate()
    for item in items:
        agg.add(item)
    return agg


def snapshot(agg: InputAggregate) -> tuple:
    def cells(table: dict) -> list:
        return sorted((key, c.count, c.first, c.last, sorted(c.clients.names), c.clients.overflow, sorted(c.samples),
                       sorted(c.details), sorted(c.images), c.api_calls, c.confidence, c.best)
                      for key, c in table.items())

    return (cells(agg.observations), cells(agg.blocked), cells(agg.edges), sorted(agg.static), agg.records,
            agg.errors, agg.first_time, agg.last_time)


def test_any_split_and_grouping_gives_the_one_fold() -> None:
    rng = random.Random(14)
    items = records(rng, 3000)
    whole = snapshot(fold(items))
    assert any(len(c.clients.names) == CLIENT_CAP and c.clients.overflow for c in fold(items).observations.values())
    assert any(len(c.samples) == SAMPLES for c in fold(items).blocked.values())
    for _ in range(20):
        shuffled = items[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(items)), rng.randrange(1, 8)))
        parts = [fold(shuffled[a:b]) for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True)]
        rng.shuffle(parts)
        while len(parts) > 1:  # merge random neighbours: every grouping of the same parts
            at = rng.randrange(len(parts) - 1)
            parts[at:at + 2] = [parts[at].merge(parts[at + 1])]
        assert snapshot(parts[0]) == whole


def test_a_record_folded_across_days_keeps_its_first_and_last_day() -> None:
    agg = fold([Observation("quay.io", ObservationKind.DNS_QUERY, START, "10.0.0.1", count=5,
                            last_time=START + 3 * DAY)])
    days = {key[0]: (cell.count, cell.first, cell.last) for key, cell in agg.observations.items()}
    assert days == {"2026-09-21": (4, START, START), "2026-09-24": (1, START + 3 * DAY, START + 3 * DAY)}
