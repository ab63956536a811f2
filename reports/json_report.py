"""The audit document: one plain-data view of an audit that every report format renders.

`regaudit audit --json` writes it as is; it follows `schemas/audit.schema.json` (versioned: a change that
removes or renames a field raises AUDIT_SCHEMA_VERSION). HTML, CSV, SARIF and Markdown read this same
document, so the formats cannot disagree.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.core.model import InputError, Source
from auditor.decisions.analysis import Analysis
from auditor.decisions.audit import AUDIT_SCHEMA_ID, AuditOptions, Finding, FindingKind, Severity
from auditor.decisions.propose import Proposal
from auditor.decisions.recommend import Op, Recommendation
from auditor.decisions.requirements import Need, RequiredHost
from auditor.targets.base import Target
from reports.json_text import dumps_indented, iter_indented_pieces
from reports.required_rows import Deferred, RequiredRows
from reports.serialize import blocked_group_dict, error_dict, input_dict, iso_time, sample_totals, unresolved_dict

AUDIT_SCHEMA_VERSION = 1
MAX_COVERS_LISTED = 50  # hosts listed per proposed entry; covers_total counts them all when there are more
MAX_SHARED_LISTS = 4096  # distinct row lists one audit document shares (see required_dict)
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
        "accepted": finding.accepted.to_dict() if finding.accepted else None,
    }


def required_dict(req: RequiredHost, allowlist: Allowlist, mode: MatchMode, target: Target | None = None,
                  shared: dict[tuple[str, ...], list[str]] | None = None) -> dict[str, Any]:
    """The document's row for REQ. SHARED, one per document: the lists most rows have in common (their roles,
    citations and notes, no chains), one object per content. Nothing changes a row's lists once made; at 10^5
    required hosts these were some 18 MB of equal lists."""
    entry = allowlist.match(req.host, mode) if target is None else target.match(allowlist, req.host)
    if shared is None:
        shared = {}
    chains: list[list[str]] = []
    for chain in req.chains:
        listed = list(chain)  # a sealed record's chains are tuples: compared as the lists they are written as
        if listed not in chains:
            chains.append(listed)
    return {
        "host": req.host,
        "roles": _shared_list(shared, ("roles", *sorted(req.roles))),
        "registries": sorted(req.registries),
        "needed_by": Deferred(req.needed_by, Need.describe, 50),
        "confidence": req.confidence.value,
        "wildcard": req.wildcard,
        "chains": chains[:10] if chains else _shared_list(shared, ("chains",)),
        "allowed_by": entry.address if entry else None,
        "locations": Deferred(req.evidence, str, 20),
        "citations": _shared_list(shared, ("citations", *[k.citation for k in req.knowledge][:10])),
        "notes": _shared_list(shared, ("notes", *req.notes[:10])),
        **{key: total for key, total in sample_totals(req).items() if key == "registries_total"},
    }


def _shared_list(shared: dict[tuple[str, ...], list[str]], key: tuple[str, ...]) -> list[str]:
    """The list of KEY's items after its first (the field it is for), the same object for the same KEY while
    SHARED holds fewer than MAX_SHARED_LISTS (host-specific notes would otherwise cost a memo entry each)."""
    held = shared.get(key)
    if held is None:
        held = list(key[1:])
        if len(shared) < MAX_SHARED_LISTS:
            shared[key] = held
    return held


def proposal_dict(proposal: Proposal | None) -> dict[str, Any]:
    entries = []
    for item in proposal.entries if proposal is not None else ():
        covers = sorted(set(item.covers))
        entries.append({
            "address": item.address,
            # a sample, like the other lists of this report: an entry for a fleet's domain covers 10^5 hosts, which
            # the proposal itself (`regaudit propose`) lists in full
            "covers": covers[:MAX_COVERS_LISTED],
            **({"covers_total": len(covers)} if len(covers) > MAX_COVERS_LISTED else {}),
            "rationale": "; ".join(item.rationale),
            "collapsed": item.collapsed,
            "also_allows": item.also_allows,
            "multi_tenant_reason": item.multi_tenant_reason,
            "roles": sorted(set(item.roles)),
            "registries": sorted(set(item.registries)),
        })
    notes = list(proposal.notes) if proposal is not None else []
    return {"entries": sorted(entries, key=lambda e: e["address"]), "count": len(entries), "notes": notes}


def difference(allowlist: Allowlist, proposal: dict[str, Any], recommendation: Recommendation | None = None,
               findings: list[Finding] = ()) -> dict[str, Any]:
    """The proposed change, as the recommendation decided it (the findings' actions read the same decision)."""
    if recommendation is None:  # a proposal without an audit: the plain set difference
        current = {e.address for e in allowlist}
        proposed = {e["address"] for e in proposal["entries"]}
        return {"add": sorted(proposed - current), "remove": sorted(current - proposed),
                "keep": sorted(current & proposed), "changes": [], "withheld": []}
    cited: dict[str, dict[str, None]] = {}  # address -> the ids of the findings citing it, in order, once each
    for finding in findings:
        for change in finding.data.get("changes", ()):
            cited.setdefault(change["address"], {})[finding.id] = None
    nicknames = {e.address: getattr(e, "nickname", None) or None for e in allowlist}
    order = {Op.ADD: 0, Op.REMOVE: 1, Op.KEEP: 2}
    changes = sorted(recommendation.changes.values(), key=lambda c: (order[c.op], c.address))
    return {
        "add": recommendation.addresses(Op.ADD),
        "remove": recommendation.addresses(Op.REMOVE),
        "keep": recommendation.addresses(Op.KEEP),
        "changes": [{"address": c.address, "op": c.op.value, "reason": c.reason,
                     "findings": list(cited.get(c.address, ())), "nickname": nicknames.get(c.address)}
                    for c in changes],
        "withheld": [{"address": a, "reason": r} for a, r in sorted(recommendation.withheld.items())],
    }


def _entry_rows(allowlist: Allowlist, findings: list[Finding], recommendation: Recommendation | None
                ) -> list[dict[str, Any]]:
    naming: dict[str, dict[int, Finding]] = {}  # address -> the findings naming it, in order (one pass, not n*m)
    for index, finding in enumerate(findings):
        for address in finding.entries:
            naming.setdefault(address, {})[index] = finding
    rows = []
    for entry in allowlist:
        related = list(naming.get(entry.address, {}).values())
        # a finding's first entry is the one it is about; later ones are context (the entry covering it)
        about = [f for f in related if f.entries[0] == entry.address]
        rows.append({
            "address": entry.address,
            "original": entry.original,
            # the console's nickname column (RAM CSV); read with getattr so older allowlist readers work too
            "nickname": getattr(entry, "nickname", None) or None,
            "line": entry.line,
            "status": sorted({f.kind.value for f in about}) or ["ok"],
            "change": (recommendation.op(entry.address) or Op.KEEP).value if recommendation else None,
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


def machines_dict(fleet: Any, findings: list[Finding]) -> dict[str, Any]:
    """The fleet summary (auditor/decisions/desktop.py): one row per machine bundle, its enforcement state and
    the findings behind it, and which rules stop the machines that would not enforce the allowlist."""
    ids = {(f.kind.value, f.hosts): f.id for f in findings}
    rows = []
    stopped_by: Counter[str] = Counter()
    for machine in fleet.machines if fleet is not None else ():
        reasons = [{"finding": ids.get((r.kind, r.key_hosts)), "kind": r.kind, "rule": r.rule,
                    "severity": r.severity, "certainty": r.certainty, "title": r.title} for r in machine.reasons]
        reasons.sort(key=lambda r: r["finding"] or "")  # in report order
        if machine.state in ("not-enforced", "review"):
            stopped_by.update({r["rule"] for r in reasons if r["severity"] == "error"})
        rows.append({"name": machine.name, "platform": machine.platform, "desktop_version": machine.desktop_version,
                     "sign_in_method": machine.method, "orgs": list(machine.orgs), "state": machine.state,
                     "reasons": reasons})
    states = Counter(row["state"] for row in rows)
    return {"total": len(rows), "enforcing": sum(states[s] for s in ("enforced", "partial")),
            "by_state": {s: states[s] for s in ("enforced", "partial", "review", "not-enforced")},
            "stopped_by": dict(sorted(stopped_by.items())), "machines": rows}


def audit_document(analysis: Analysis, allowlist: Allowlist, findings: list[Finding], options: AuditOptions,
                   run: RunInfo) -> dict[str, Any]:
    store: EvidenceStore = analysis.store
    proposal = proposal_dict(analysis.proposal)
    target = options.enforcement()
    shared: dict[tuple[str, ...], list[str]] = {}
    required = RequiredRows(required_dict(r, allowlist, options.mode, target, shared)
                            for r in sorted(analysis.required, key=lambda r: r.host))
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
                    "count_docker_hub_default": options.count_docker_hub_default, "orgs": list(options.orgs),
                    "target": options.target, "target_title": target.title, "target_summary": target.summary},
        "summary": {
            "findings": len(findings),
            "accepted": sum(1 for f in findings if f.accepted),
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
            "entries": _entry_rows(allowlist, findings, analysis.recommendation),
            "errors": [error_dict(e) for e in run.allowlist_errors],
        },
        "proposal": proposal,
        "difference": difference(allowlist, proposal, analysis.recommendation, findings),
        "findings": [finding_dict(f) for f in findings],
        "machines": machines_dict(analysis.fleet, findings),
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
    required = document.get("required")
    if isinstance(required, RequiredRows):
        document = {**document, "required": list(required)}
    return dumps_indented(document, ensure_ascii=False) + "\n"


def render_json_pieces(document: dict[str, Any]) -> Iterator[str]:
    """render_json's text in pieces as they are made (write_output writes each and lets it go; a Restart piece
    voids the ones before it): the required hosts, most of a fleet's report, are encoded a chunk at a time, so
    the text (60 MB at 10^5 hosts) is never held whole."""
    required = document.get("required")
    if not isinstance(required, list | RequiredRows):
        yield render_json(document)
        return
    head = {key: ([] if key == "required" else value) for key, value in document.items()}
    yield from iter_indented_pieces(head, "required", required, lambda item: item, ensure_ascii=False)
    yield "\n"
