"""Merging evidence folds: the fold of inputs A then B, computed from the fold of A and the fold of B.

`EvidenceStore` keeps order-dependent things (the first few source samples of a host, the first 500,000
timeline entries, the order hosts were first seen), so two folds are merged *in input order*: `merge_stores`
(earlier, later) gives exactly what one process folding the earlier inputs then the later ones gives.
`Part` wraps a fold with the range of input positions it covers; its merge orders the two parts by
position, so it is commutative (merge(a, b) == merge(b, a)) and associative over contiguous ranges, which
is what a tree reduction of per-file results produces. Exact as long as no host gathers more than
MAX_CLIENTS_PER_ITEM clients (past that cap, which extra clients a set holds may differ) and the distinct
hosts stay under MAX_HOSTS (the host limit is applied per part, not across parts).
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass

from auditor.core.evidence import (
    MAX_CLIENTS_PER_ITEM,
    MAX_RAW_BLOCKED,
    MAX_SOURCES_PER_HOST,
    MAX_SOURCES_PER_ITEM,
    MAX_TIMELINE,
    BlockedGroup,
    EdgeAggregate,
    EvidenceStore,
    HostActivity,
    _keep_sample,
    _widen,
    _with_client,
    _with_sample,
)
from auditor.core.model import Unresolved


class NotContiguous(ValueError):
    """Two parts that do not touch: their merge would not be the fold of one run of inputs."""


@dataclass
class Part:
    """The fold of the inputs at positions [start, end) of a run."""

    start: int
    end: int
    store: EvidenceStore

    def merge(self, other: Part) -> Part:
        """The fold of both ranges (both operands are consumed: the result reuses their contents)."""
        first, second = (self, other) if self.start <= other.start else (other, self)
        if first.end != second.start:
            raise NotContiguous(f"parts [{first.start}, {first.end}) and [{second.start}, {second.end}) do not touch")
        return Part(first.start, second.end, merge_stores(first.store, second.store))


def merge_stores(earlier: EvidenceStore, later: EvidenceStore) -> EvidenceStore:
    """EARLIER with LATER's evidence folded in after it (EARLIER is changed and returned)."""
    # static records go through the store's own bookkeeping, as one process would fold them: a reference read
    # twice keeps both contexts, a partial reference gives way to the resolved read of its line
    for ref in later.references:
        if ref.unresolved:  # a partial reference: folded again as the Unresolved it was made from
            earlier._add_unresolved(Unresolved(ref.original, ref.unresolved, ref.source, ref.context))
        else:
            earlier._add_reference(ref)
    for host_ref in later.host_references:
        earlier._add_once(earlier.host_references, host_ref)
    for item in later.unresolved:
        earlier._add_unresolved(item)
    for error in later.errors:
        earlier._add_once(earlier.errors, error)
    for record in later.machine_records:
        earlier._add_once(earlier.machine_records, record)
    earlier.unusable.extend(e for e in later.unusable if e not in earlier.unusable)
    earlier._kept_anyway |= later._kept_anyway
    for host, activity in later.activity.items():
        mine = earlier.activity.get(host)
        if mine is None:
            earlier.activity[host] = copy.copy(activity)
        else:
            _merge_activity(mine, activity)
    room = MAX_TIMELINE - len(earlier.timeline)
    earlier.timeline_overflow = earlier.timeline_overflow or later.timeline_overflow or len(later.timeline) > room
    earlier.timeline.extend(later.timeline[:max(room, 0)])
    for key, edge in later.edges.items():
        mine_edge = earlier.edges.get(key)
        if mine_edge is None:
            earlier.edges[key] = copy.copy(edge)
        else:
            _merge_edge(mine_edge, edge)
    earlier.blocked.extend(later.blocked[:max(MAX_RAW_BLOCKED - len(earlier.blocked), 0)])
    earlier.blocked_total += later.blocked_total
    for host, group in later.blocked_groups.items():
        mine_group = earlier.blocked_groups.get(host)
        if mine_group is None:
            earlier.blocked_groups[host] = copy.deepcopy(group)
        else:
            _merge_group(mine_group, group)
    earlier.inputs.extend(later.inputs)
    earlier.skipped_files += later.skipped_files
    earlier.not_kept.update(later.not_kept)
    earlier.counted_span = _widen(*earlier.counted_span, *later.counted_span)
    return earlier


def _clients_of(held: str | set[str] | None) -> list[str]:
    # sorted: a set's own order is not the order clients arrived in, and the result must not depend on hashing
    if held is None:
        return []
    return [held] if type(held) is str else sorted(held)


def _add_clients(held: str | set[str] | None, incoming: str | set[str] | None) -> tuple[str | set[str] | None, bool]:
    """HELD with INCOMING's clients added up to the cap, and whether one did not fit."""
    if type(held) is set and held is not None:
        held = set(held)  # never share a set with the operand it came from
    overflow = False
    for client in _clients_of(incoming):
        grown = _with_client(held, client)
        if grown is held and type(held) is set and client not in held:
            overflow = True
        held = grown
    return held, overflow


def _merge_activity(mine: HostActivity, theirs: HostActivity) -> None:
    mine.add_kinds(theirs.kinds)  # before the count grows: one kind is held bare, with all of the count
    mine.count += theirs.count
    mine.first, mine.last = _widen(mine.first, mine.last, theirs.first, theirs.last)
    mine.held_clients, overflow = _add_clients(mine.held_clients, theirs.held_clients)
    mine.clients_overflow = mine.clients_overflow or theirs.clients_overflow or overflow
    if theirs.held_rcodes:
        rcodes = mine.held_rcodes = dict(mine.held_rcodes or {})
        for rcode, count in theirs.held_rcodes.items():
            rcodes[rcode] = rcodes.get(rcode, 0) + count
    mine.registry_api_calls += theirs.registry_api_calls
    for source in theirs.sources:
        mine.held_sources = _with_sample(_unshared(mine.held_sources), source, MAX_SOURCES_PER_HOST)


def _unshared(held: object) -> object:
    return list(held) if type(held) is list else held


def _merge_edge(mine: EdgeAggregate, theirs: EdgeAggregate) -> None:
    mine.count += theirs.count
    if theirs.first is not None:
        mine.first = theirs.first if mine.first is None else min(mine.first, theirs.first)
    for detail in theirs.details:
        mine.held_details = _with_sample(_unshared(mine.held_details), detail, MAX_SOURCES_PER_ITEM)
    mine.held_clients, _ = _add_clients(mine.held_clients, theirs.held_clients)
    for source in theirs.sources:
        mine.held_sources = _with_sample(_unshared(mine.held_sources), source, MAX_SOURCES_PER_ITEM)


def _merge_group(mine: BlockedGroup, theirs: BlockedGroup) -> None:
    mine.count += theirs.count
    mine.first, mine.last = _widen(mine.first, mine.last, theirs.first, theirs.last)
    for client in sorted(theirs.clients):
        if len(mine.clients) >= MAX_CLIENTS_PER_ITEM:
            break
        mine.clients.add(sys.intern(client))
    mine.reasons.update(theirs.reasons)
    mine.hours.update(theirs.hours)
    for image in sorted(theirs.images):
        if len(mine.images) >= 100:
            break
        mine.images.add(image)
    for detail in theirs.details:
        if detail not in mine.details and len(mine.details) < MAX_SOURCES_PER_ITEM:
            mine.details.append(detail)
    for source in theirs.sources:
        _keep_sample(mine.sources, source)
