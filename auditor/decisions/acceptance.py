"""Accepted findings, the way code scanners accept them: ignore rules with a reason and an expiry, and a baseline.

An accepted finding is never dropped: it stays in every report, marked with why and by what (the rule's file
and line, or the baseline file), and only stops counting toward `--fail-on`. A rule past its `expires` date no
longer accepts anything and becomes a finding of its own, so an acceptance cannot quietly outlive its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from auditor.decisions.audit import Acceptance, EvidenceItem, Finding, FindingKind, Severity, number_findings


@dataclass(frozen=True)
class IgnoreRule:
    """One `ignore:` rule of a config file. It matches by `key`, or by `kind` plus `host` and/or `entry`."""

    reason: str
    origin: str  # FILE:LINE of the rule, shown wherever the acceptance is
    key: str | None = None
    kind: str | None = None
    host: str | None = None
    entry: str | None = None
    expires: date | None = None

    def matches(self, finding: Finding) -> bool:
        if self.key is not None:
            return finding.key == self.key
        if self.kind is not None and finding.kind.value != self.kind:
            return False
        if self.host is not None and self.host.lower() not in (h.lower() for h in finding.hosts):
            return False
        return self.entry is None or self.entry.lower() in (e.lower() for e in finding.entries)

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


def accept(findings: list[Finding], rules: Iterable[IgnoreRule], baseline: frozenset[str] | None,
           baseline_name: str, today: date) -> list[Finding]:
    """FINDINGS with their acceptances set, plus one finding per expired rule, in report order and renumbered.
    A rule wins over the baseline: its reason says more than "it was there before"."""
    rules = list(rules)
    live = [rule for rule in rules if not rule.expired(today)]
    for finding in findings:
        rule = next((r for r in live if r.matches(finding)), None)
        if rule is not None:
            expires = rule.expires.isoformat() if rule.expires else None
            finding.accepted = Acceptance(rule.reason, rule.origin, expires)
        elif baseline is not None and finding.key in baseline:
            finding.accepted = Acceptance("present in the baseline", f"baseline {baseline_name}")
    expired = [_expired_finding(rule) for rule in rules if rule.expired(today)]
    return number_findings([*findings, *expired])


def _expired_finding(rule: IgnoreRule) -> Finding:
    assert rule.expires is not None
    what = f"key {rule.key}" if rule.key else ", ".join(
        f"{name} {value}" for name, value in (("kind", rule.kind), ("host", rule.host), ("entry", rule.entry))
        if value)
    return Finding(
        kind=FindingKind.EXPIRED_IGNORE, severity=Severity.WARNING,
        title=f"Ignore rule at {rule.origin} expired on {rule.expires.isoformat()}",
        detail=f"The rule for {what} ({rule.reason}) no longer applies: the findings it accepted count again.",
        action=f"Fix what the rule accepted, or renew the rule at {rule.origin} with a new `expires` date "
               "and a reason that still holds.",
        hosts=(rule.host,) if rule.host else (),
        entries=(rule.entry,) if rule.entry else (),
        evidence=(EvidenceItem(f"ignore rule at {rule.origin}: {rule.reason}"),),
        data={"rule": rule.origin, "expired": rule.expires.isoformat(), "rule_key": rule.key or ""},
    )


def failing(findings: Iterable[Finding], kinds: frozenset[str], severities: frozenset[str]) -> list[Finding]:
    """The findings that fail the run under --fail-on: of a named kind or severity, and not accepted."""
    return [f for f in findings
            if f.accepted is None and (f.kind.value in kinds or f.severity.value in severities)]
