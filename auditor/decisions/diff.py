"""What changed between two audits: entries added or removed, findings new or resolved.

Findings are matched by their stable key (kind|entries|hosts), never by their position-based id, so a
finding that merely moved in the list is neither new nor resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.core import safe_json
from auditor.decisions.audit import AUDIT_SCHEMA_ID


class DiffError(ValueError):
    """An input is not a regaudit audit JSON document."""


@dataclass
class AuditDiff:
    old_path: str
    new_path: str
    entries_added: list[str]
    entries_removed: list[str]
    findings_new: list[dict[str, Any]]
    findings_resolved: list[dict[str, Any]]
    findings_changed: list[dict[str, Any]]  # same key, different severity
    findings_unchanged: int
    blocked_before: int
    blocked_after: int

    @property
    def changed(self) -> bool:
        return bool(self.entries_added or self.entries_removed or self.findings_new or self.findings_resolved
                    or self.findings_changed)


def load_audit(path: Path) -> dict[str, Any]:
    try:
        document = safe_json.loads(path.read_bytes())
    except OSError as exc:
        raise DiffError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except safe_json.JsonInputError as exc:
        raise DiffError(f"{path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != AUDIT_SCHEMA_ID:
        raise DiffError(f"{path}: not a regaudit audit document (no \"schema\": \"{AUDIT_SCHEMA_ID}\")")
    if not isinstance(document.get("findings"), list) or not isinstance(document.get("allowlist"), dict):
        raise DiffError(f"{path}: audit document without findings or allowlist")
    return document


def _entries(document: dict[str, Any]) -> set[str]:
    return {str(e.get("address")) for e in document["allowlist"].get("entries", []) if isinstance(e, dict)}


def _findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(f["key"]): f for f in document["findings"] if isinstance(f, dict) and "key" in f}


def diff_audits(old: dict[str, Any], new: dict[str, Any], old_path: str = "OLD", new_path: str = "NEW") -> AuditDiff:
    old_entries, new_entries = _entries(old), _entries(new)
    old_findings, new_findings = _findings(old), _findings(new)
    common = sorted(old_findings.keys() & new_findings.keys())
    changed = [{"key": k, "title": new_findings[k].get("title", ""), "kind": new_findings[k].get("kind", ""),
                "severity_before": old_findings[k].get("severity"), "severity_after": new_findings[k].get("severity")}
               for k in common if old_findings[k].get("severity") != new_findings[k].get("severity")]
    return AuditDiff(
        old_path, new_path,
        sorted(new_entries - old_entries), sorted(old_entries - new_entries),
        [_brief(new_findings[k]) for k in sorted(new_findings.keys() - old_findings.keys())],
        [_brief(old_findings[k]) for k in sorted(old_findings.keys() - new_findings.keys())],
        changed, len(common) - len(changed),
        int(old.get("blocked", {}).get("total", 0) or 0), int(new.get("blocked", {}).get("total", 0) or 0),
    )


def _brief(finding: dict[str, Any]) -> dict[str, Any]:
    return {"key": finding["key"], "kind": finding.get("kind", ""), "severity": finding.get("severity", ""),
            "title": finding.get("title", ""), "accepted": finding.get("accepted")}


def diff_dict(diff: AuditDiff) -> dict[str, Any]:
    return {
        "schema": "regaudit/audit-diff",
        "version": 1,
        "old": diff.old_path,
        "new": diff.new_path,
        "changed": diff.changed,
        "entries": {"added": diff.entries_added, "removed": diff.entries_removed},
        "findings": {"new": diff.findings_new, "resolved": diff.findings_resolved, "changed": diff.findings_changed,
                     "unchanged": diff.findings_unchanged},
        "blocked_attempts": {"before": diff.blocked_before, "after": diff.blocked_after},
    }


def _safe(text: object) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def render_text(diff: AuditDiff) -> str:
    lines = [f"regaudit diff {_safe(diff.old_path)} -> {_safe(diff.new_path)}"]
    if not diff.changed:
        lines.append("No change: same entries, same findings.")
    for address in diff.entries_added:
        lines.append(f"+ entry    {_safe(address)}")
    for address in diff.entries_removed:
        lines.append(f"- entry    {_safe(address)}")
    for finding in diff.findings_new:
        lines.append(f"+ finding  [{finding['severity']}] {finding['kind']}: {_safe(finding['title'])}")
    for finding in diff.findings_resolved:
        lines.append(f"- finding  [{finding['severity']}] {finding['kind']}: {_safe(finding['title'])} (resolved)")
    for finding in diff.findings_changed:
        lines.append(f"~ finding  {finding['kind']}: {_safe(finding['title'])} "
                     f"({finding['severity_before']} -> {finding['severity_after']})")
    lines.append(f"{len(diff.findings_new)} new, {len(diff.findings_resolved)} resolved, "
                 f"{len(diff.findings_changed)} changed, {diff.findings_unchanged} unchanged findings; "
                 f"entries +{len(diff.entries_added)} -{len(diff.entries_removed)}; "
                 f"blocked attempts {diff.blocked_before} -> {diff.blocked_after}")
    return "\n".join(lines) + "\n"
