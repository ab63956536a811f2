"""The audit document: one plain-data view of an audit that every report format renders.

`regaudit audit --json` writes it as is; it follows `schemas/audit.schema.json` (versioned: a change that
removes or renames a field raises AUDIT_SCHEMA_VERSION). HTML, CSV, SARIF and Markdown read this same
document, so the formats cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.allowlist import Allowlist, MatchMode
from auditor.audit import AuditOptions, Finding, FindingKind, Severity
from auditor.evidence import EvidenceStore
from auditor.model import InputError, Source
from reports.serialize import blocked_group_dict, error_dict, input_dict, iso_time, unresolved_dict

AUDIT_SCHEMA_ID = "regaudit/audit"
AUDIT_SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schemas" / "audit.schema.json"


@dataclass(frozen=True)
class RunInfo:
    """How the report was made: for the compliance section. Only generated_at changes between runs."""

    command_line: tuple[str, ...]
    generated_at: str
    allowlist_path: str
    allowlist_sha256: str | None
    allowlist_errors: tuple[InputError, ...] = ()
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _source(source: Source) -> dict[str, Any]:
    return {"path": source.path, "line": source.line, "packet": source.packet, "parser": source.parser,
            "location": str(source)}


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "key": finding.key,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "title": finding.title,
        "detail": finding.detail,
        "action": finding.action,
        "entries": list(finding.entries),
        "hosts": list(finding.hosts),
        "evidence": [{"text": item.text, "sources": [_source(s) for s in item.sources]} for item in finding.evidence],
        "data": finding.data,
    }


def _value(obj: object, name: str, default: Any = None) -> Any:
    value = getattr(obj, name, default)
    return getattr(value, "value", value)


def _str_list(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return sorted({str(getattr(v, "value", v)) for v in values})


def _chains(values: Any) -> list[list[str]]:
    chains = []
    for chain in values or ():
        hops = [str(getattr(h, "host", h)) for h in (chain if not isinstance(chain, str) else chain.split(" -> "))]
        if hops and hops not in chains:
            chains.append(hops)
    return chains


def required_dict(req: Any, allowlist: Allowlist, mode: MatchMode) -> dict[str, Any]:
    entry = allowlist.match(req.host, mode)
    return {
        "host": req.host,
        "roles": _str_list(_value(req, "roles")),
        "registries": _str_list(_value(req, "registries")),
        "needed_by": sorted({n.describe() if hasattr(n, "describe") else str(n)
                             for n in (getattr(req, "needed_by", None) or ())})[:50],
        "confidence": str(_value(req, "confidence", "") or ""),
        "wildcard": bool(_value(req, "wildcard", False)),
        "chains": _chains(_value(req, "chains"))[:10],
        "allowed_by": entry.address if entry else None,
        "locations": sorted({str(s) for s in (getattr(req, "evidence", None) or ()) if isinstance(s, Source)})[:20],
        "citations": [k.citation for k in (getattr(req, "knowledge", None) or ())][:10],
        "notes": list(getattr(req, "notes", None) or ())[:10],
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(str(v) for v in value)
    return str(value)


def proposal_dict(proposal: Any) -> dict[str, Any]:
    entries = []
    for item in getattr(proposal, "entries", None) or ():
        entries.append({
            "address": item.address,
            "covers": _str_list(_value(item, "covers")),
            "rationale": _text(_value(item, "rationale", "")),
            "collapsed": bool(_value(item, "collapsed", False)),
            "also_allows": _text(_value(item, "also_allows", "")),
            "multi_tenant_reason": _value(item, "multi_tenant_reason"),
            "roles": _str_list(_value(item, "roles")),
            "registries": _str_list(_value(item, "registries")),
        })
    notes = [str(n) for n in (getattr(proposal, "notes", None) or ())]
    return {"entries": sorted(entries, key=lambda e: e["address"]), "count": len(entries), "notes": notes}


def difference(allowlist: Allowlist, proposal: dict[str, Any]) -> dict[str, list[str]]:
    current = {e.address for e in allowlist}
    proposed = {e["address"] for e in proposal["entries"]}
    return {"add": sorted(proposed - current), "remove": sorted(current - proposed),
            "keep": sorted(current & proposed)}


def _entry_rows(allowlist: Allowlist, findings: list[Finding]) -> list[dict[str, Any]]:
    rows = []
    for entry in allowlist:
        related = [f for f in findings if entry.address in f.entries]
        # a finding's first entry is the one it is about; later ones are context (the entry covering it)
        about = [f for f in related if f.entries[0] == entry.address]
        rows.append({
            "address": entry.address,
            "original": entry.original,
            "line": entry.line,
            "status": sorted({f.kind.value for f in about}) or ["ok"],
            "findings": [f.id for f in related],
        })
    return rows


def _timeline(store: EvidenceStore) -> list[dict[str, Any]]:
    hours: Counter[int] = Counter()
    for group in store.blocked_groups.values():
        hours.update(group.hours)
    return [{"hour": iso_time(hour * 3600.0), "count": count} for hour, count in sorted(hours.items())]


def _edges(store: EvidenceStore) -> list[dict[str, Any]]:
    return [{"from": e.from_host, "to": e.to_host, "via": e.via.value, "confidence": e.confidence.value,
             "count": e.count, "sources": [str(s) for s in e.sources]} for e in store.sorted_edges()]


def audit_document(analysis: Any, allowlist: Allowlist, findings: list[Finding], options: AuditOptions,
                   run: RunInfo) -> dict[str, Any]:
    store: EvidenceStore = analysis.store
    proposal = proposal_dict(getattr(analysis, "proposal", None))
    required = [required_dict(r, allowlist, options.mode)
                for r in sorted(getattr(analysis, "required", None) or (), key=lambda r: r.host)]
    first, last = store.time_window()
    by_kind = Counter(f.kind.value for f in findings)
    by_severity = Counter(f.severity.value for f in findings)
    return {
        "schema": AUDIT_SCHEMA_ID,
        "version": AUDIT_SCHEMA_VERSION,
        "regaudit_version": run.version,
        "generated_at": run.generated_at,
        "command_line": list(run.command_line),
        "options": {"match": options.mode.value, "budget": options.budget,
                    "count_docker_hub_default": options.count_docker_hub_default, "orgs": list(options.orgs)},
        "summary": {
            "findings": len(findings),
            "by_kind": {k.value: by_kind.get(k.value, 0) for k in FindingKind},
            "by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
            "allowlist_entries": len(allowlist),
            "allowlist_count": allowlist.count(options.count_docker_hub_default),
            "proposal_entries": proposal["count"],
            "required_hosts": len(required),
            "missing_hosts": sum(1 for f in findings if f.kind is FindingKind.MISSING),
            "references": len(store.references),
            "observed_hosts": len(store.activity),
            "blocked_attempts": store.blocked_total,
            "inputs": len(store.inputs),
            "input_errors": len(store.errors),
            "unresolved": len(store.unresolved),
        },
        "time_window": {"first": iso_time(first), "last": iso_time(last)},
        "allowlist": {
            "path": run.allowlist_path,
            "sha256": run.allowlist_sha256,
            "entries": _entry_rows(allowlist, findings),
            "errors": [error_dict(e) for e in run.allowlist_errors],
        },
        "proposal": proposal,
        "difference": difference(allowlist, proposal),
        "findings": [finding_dict(f) for f in findings],
        "required": required,
        "redirect_edges": _edges(store),
        "blocked": {
            "total": store.blocked_total,
            "timeline": _timeline(store),
            "groups": [blocked_group_dict(g) for g in store.sorted_blocked_groups()],
        },
        "inputs": [input_dict(i) for i in sorted(store.inputs, key=lambda i: i.path)],
        "errors": [error_dict(e) for e in sorted(
            store.errors, key=lambda e: (e.source.path, e.source.line or 0, e.source.packet or 0, e.message))],
        "unresolved": [unresolved_dict(u) for u in sorted(store.unresolved, key=lambda u: (str(u.source or ""),
                                                                                        u.text))],
    }


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
