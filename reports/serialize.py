"""Plain-data views of evidence records, shared by the JSON-based renderers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from auditor.core.evidence import BlockedGroup, EdgeAggregate, EvidenceStore, HostActivity
from auditor.core.model import HostReference, ImageReference, InputError, InputRecord, Source, Unresolved

if TYPE_CHECKING:  # the discover report needs no decision at run time
    from auditor.decisions.requirements import RequiredHost


def iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def source_dict(source: Source | None) -> dict[str, object] | None:
    return None if source is None else source.to_dict()


def reference_dict(ref: ImageReference) -> dict[str, object]:
    return {
        "original": ref.original,
        "registry": ref.registry,
        "endpoint": ref.endpoint,
        "repository": ref.repository,
        "tag": ref.tag,
        "digest": ref.digest,
        "canonical": ref.canonical,
        "unresolved": ref.unresolved or None,
        "kind": ref.source.parser if ref.source else "",
        "context": ref.context,
        "location": str(ref.source) if ref.source else None,
        "source": source_dict(ref.source),
    }


def host_reference_dict(ref: HostReference) -> dict[str, object]:
    return {
        "host": ref.host,
        "purpose": ref.purpose.value,
        "text": ref.text,
        "kind": ref.source.parser if ref.source else "",
        "context": ref.context,
        "location": str(ref.source) if ref.source else None,
        "source": source_dict(ref.source),
    }


def activity_dict(activity: HostActivity) -> dict[str, object]:
    return {
        "host": activity.host,
        "count": activity.count,
        "first_seen": iso_time(activity.first),
        "last_seen": iso_time(activity.last),
        "clients": sorted(activity.clients),
        "clients_truncated": activity.clients_overflow,
        "kinds": dict(sorted(activity.kinds.items())),
        "rcodes": dict(sorted(activity.rcodes.items())),
        "registry_api_calls": activity.registry_api_calls,
        "sources": [str(s) for s in activity.sources],
    }


def edge_dict(edge: EdgeAggregate) -> dict[str, object]:
    return {
        "from": edge.from_host,
        "to": edge.to_host,
        "via": edge.via.value,
        "confidence": edge.confidence.value,
        "count": edge.count,
        "first_seen": iso_time(edge.first),
        "clients": sorted(edge.clients),
        "details": list(edge.details),
        "sources": [str(s) for s in edge.sources],
    }


def blocked_group_dict(group: BlockedGroup) -> dict[str, object]:
    return {
        "host": group.host,
        "count": group.count,
        "first_seen": iso_time(group.first),
        "last_seen": iso_time(group.last),
        "clients": sorted(group.clients),
        "reasons": dict(sorted(group.reasons.items())),
        "images": sorted(group.images),
        "details": list(group.details),
        "sources": [str(s) for s in group.sources],
    }


def unresolved_dict(item: Unresolved) -> dict[str, object]:
    return {
        "text": item.text,
        "reason": item.reason,
        "kind": item.source.parser if item.source else "",
        "context": item.context,
        "location": str(item.source) if item.source else None,
        "source": source_dict(item.source),
    }


def error_dict(error: InputError) -> dict[str, object]:
    return {"message": error.message, "location": str(error.source), "source": source_dict(error.source)}


def input_dict(record: InputRecord) -> dict[str, object]:
    return {
        "path": record.path,
        "kind": record.kind,
        "size": record.size,
        "sha256": record.sha256 or None,
        "records": record.records,
        "errors": record.errors,
        "first_time": iso_time(record.first_time),
        "last_time": iso_time(record.last_time),
    }


def evidence_dict(store: EvidenceStore, with_observed: bool = True) -> dict[str, object]:
    """Everything discover found, in a stable order (WITH_OBSERVED False: `observed_hosts` left empty, for a
    renderer that streams them)."""
    first, last = store.time_window()
    return {
        "references": [reference_dict(r) for r in store.sorted_references()],
        "host_references": [host_reference_dict(r) for r in sorted(
            store.host_references, key=lambda r: (str(r.source or ""), r.host, r.purpose.value))],
        "observed_hosts": [activity_dict(a) for a in store.sorted_activity()] if with_observed else [],
        "redirect_edges": [edge_dict(e) for e in store.sorted_edges()],
        "blocked": {
            "total": store.blocked_total,
            "groups": [blocked_group_dict(g) for g in store.sorted_blocked_groups()],
        },
        "unresolved": [unresolved_dict(u) for u in sorted(
            store.unresolved, key=lambda u: (str(u.source or ""), u.text))],
        "errors": [error_dict(e) for e in sorted(
            store.errors, key=lambda e: (e.source.path, e.source.line or 0, e.source.packet or 0, e.message))],
        "inputs": [input_dict(i) for i in sorted(store.inputs, key=lambda i: i.path)],
        "skipped_files": store.skipped_files,
        "time_window": {"first": iso_time(first), "last": iso_time(last)},
    }


def sample_totals(required: RequiredHost) -> dict[str, int]:
    """`needed_by_total`, `chains_total`, `registries_total`: present only when the list beside it is a
    capped sample (a shared host needed by thousands of registries), so small outputs are unchanged."""
    totals: dict[str, int] = {}  # three plain tests: asked once per required host, 10^5 times in a fleet
    if required.need_count > len(required.needed_by):
        totals["needed_by_total"] = required.need_count
    if required.chain_count > len(required.chains):
        totals["chains_total"] = required.chain_count
    if required.registry_count > len(required.registries):
        totals["registries_total"] = required.registry_count
    return totals
