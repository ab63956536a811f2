"""A Dockerfile read through compose and on its own: one reference with both contexts, in either order."""

from __future__ import annotations

import dataclasses

from auditor.core.evidence import EvidenceStore
from auditor.core.model import Source, Unresolved
from auditor.core.reference import parse_reference

RESOLVED = dataclasses.replace(parse_reference("ubi9:9.4"), source=Source("svc/Containerfile", 2, parser="compose"),
                               context="services.api.build FROM")
ALONE = Unresolved("ubi9:${TAG}", "unresolved variable TAG", Source("svc/Containerfile", 2, parser="dockerfile"),
                   "FROM")


def test_either_order_gives_one_reference_naming_both_contexts() -> None:
    for records in ((RESOLVED, ALONE), (ALONE, RESOLVED)):
        store = EvidenceStore()
        for record in records:
            store.add(record)
        assert store.unresolved == []
        [ref] = store.references
        assert ref.context == "services.api.build FROM | FROM (dockerfile alone: unresolved variable TAG)"


def test_other_unresolved_records_on_the_line_are_kept() -> None:
    store = EvidenceStore()
    store.add(RESOLVED)
    unknown_host = dataclasses.replace(ALONE, text="${REGISTRY}/ubi9:${TAG}")  # stays unresolved: host unknown
    same_parser = dataclasses.replace(unknown_host, source=Source("svc/Containerfile", 2, parser="compose"))
    other_context = dataclasses.replace(unknown_host, context="COPY --from")
    other_line = dataclasses.replace(unknown_host, source=Source("svc/Containerfile", 3, parser="dockerfile"))
    for record in (same_parser, other_context, other_line):
        store.add(record)
    # kept, not resolved by RESOLVED; the same unresolved text at one place is one record naming both contexts
    assert store.unresolved == [dataclasses.replace(same_parser, context="FROM | COPY --from"), other_line]


def test_merged_contexts_are_capped() -> None:
    store = EvidenceStore()
    for number in range(7):
        store.add(dataclasses.replace(RESOLVED, context=f"target.t{number} FROM"))
    [ref] = store.references
    assert ref.context == "target.t0 FROM | target.t1 FROM | target.t2 FROM | target.t3 FROM | +3 more"


def test_the_same_reference_read_twice_keeps_each_context_once() -> None:
    store = EvidenceStore()
    alone = dataclasses.replace(RESOLVED, source=Source("svc/Containerfile", 2, parser="dockerfile"), context="FROM")
    for record in (RESOLVED, alone, alone, RESOLVED):
        store.add(record)
    [ref] = store.references
    assert ref.context == "services.api.build FROM | FROM"


def test_an_unresolved_read_whose_host_is_certain_is_a_partial_reference_until_resolved() -> None:
    store = EvidenceStore()
    other_line = dataclasses.replace(ALONE, source=Source("svc/Containerfile", 3, parser="dockerfile"))
    store.add(other_line)
    [partial] = store.references
    assert (partial.registry, partial.repository, partial.tag, partial.unresolved) == (
        "docker.io", "library/ubi9", None, "unresolved variable TAG")
    assert store.unresolved == []
