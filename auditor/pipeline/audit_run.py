"""The `regaudit audit` run: evidence -> analysis -> findings -> the requested reports and exit code.

Kept out of cli.py so the command there stays a thin list of options.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.core.gc_budget import few_collections
from auditor.core.model import InputError
from auditor.core.words import plural
from auditor.decisions.acceptance import IgnoreRule, accept
from auditor.decisions.analysis import Analysis, analyse
from auditor.decisions.audit import AuditOptions, Finding, FindingKind, Severity, audit
from auditor.pipeline.outputs import write_output
from reports.json_report import RunInfo, audit_document, render_json_pieces

FAIL_ON_ANY = "any"


@dataclass(frozen=True)
class FailOn:
    """What fails the run (exit 1): finding kinds and severities, from --fail-on or the config file."""

    kinds: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.kinds or self.severities)


def parse_fail_on(text: str | None) -> FailOn:
    """`missing,over-broad`, `error,warning` (severities), a mix, or `any`; ValueError names an unknown word."""
    if not text:
        return FailOn()
    kinds: set[str] = set()
    severities: set[str] = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word == FAIL_ON_ANY:
            kinds |= {k.value for k in FindingKind}
        elif word in {s.value for s in Severity}:
            severities.add(word)
        elif word in {k.value for k in FindingKind}:
            kinds.add(word)
        else:
            known = ", ".join([FAIL_ON_ANY, *(s.value for s in Severity), *(k.value for k in FindingKind)])
            raise ValueError(f"unknown finding kind or severity {word!r} (known: {known})")
    return FailOn(frozenset(kinds), frozenset(severities))


def generation_time() -> str:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AuditResult:
    analysis: Analysis | None  # None once let go: the document holds what the reports need
    allowlist: Allowlist
    allowlist_errors: list[InputError]
    findings: list[Finding]
    document: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Acceptances:
    """Ignore rules of the config file and the keys of a baseline audit."""

    rules: tuple[IgnoreRule, ...] = ()
    baseline: frozenset[str] | None = None
    baseline_name: str = ""
    today: date | None = None  # None: today, in UTC


@few_collections  # the document's 10^5 rows are made while the analysis stays alive
def run_audit(store: EvidenceStore, allowlist: Allowlist, errors: list[InputError], allowlist_sha256: str,
              options: AuditOptions, command_line: list[str], acceptances: Acceptances | None = None
              ) -> AuditResult:
    analysis = analyse(store, budget=options.budget, mode=options.mode,
                       count_docker_hub_default=options.count_docker_hub_default, allowlist=allowlist,
                       target=options.target)
    analysis.graph = None  # read by nothing after the required hosts: its 10^5 edges' memory serves the reports
    acceptances = acceptances or Acceptances()
    findings = accept(audit(analysis, allowlist, options), acceptances.rules, acceptances.baseline,
                      acceptances.baseline_name, acceptances.today or datetime.now(UTC).date())
    analysis.findings = findings
    run = RunInfo(tuple(command_line), generation_time(), allowlist.path, allowlist_sha256, tuple(errors))
    document = audit_document(analysis, allowlist, findings, options, run)
    return AuditResult(analysis, allowlist, errors, findings, document)


def renderers() -> dict[str, Callable[[dict[str, Any]], str | Iterable[str]]]:
    """The report renderers by name: a text, or (JSON) its pieces as they are made, for write_output."""
    from reports.csv_report import render_csv_pieces
    from reports.html import render_html
    from reports.markdown import render_markdown
    from reports.sarif import render_sarif

    return {"html": render_html, "json": render_json_pieces, "csv": render_csv_pieces, "sarif": render_sarif,
            "md": render_markdown}


@few_collections  # five renderers read those rows while the document stays alive
def write_reports(document: dict[str, Any], targets: dict[str, str | None]) -> dict[str, str]:
    """Render and write each requested report (`-`: standard output); OutputError names the one that failed."""
    written = {}
    available = renderers()
    for name, target in targets.items():
        if target is None:
            continue
        write_output(available[name](document), target, f"{name} report")
        written[name] = target
    return written


def _safe(text: object) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def summary_text(result: AuditResult, limit: int = 40) -> str:
    from reports.headline import change_lines, change_sentence, sentences

    doc = result.document
    summary = doc["summary"]
    severity = summary["by_severity"]
    window = doc["time_window"]
    lines = [_safe(sentence) for sentence in sentences(doc)]
    lines.append(_safe(change_sentence(doc)))
    for change in change_lines(doc):
        cited = f" ({', '.join(change.findings)})" if change.findings else ""
        nickname = f" \"{_safe(change.nickname)}\"" if change.nickname else ""
        lines.append(f"  {'+' if change.op == 'add' else '-'} {_safe(change.address)}{nickname}: "
                     f"{_safe(change.reason)}{cited}")
    lines += [
        "",
        f"Allowlist {_safe(doc['allowlist']['path'])}: {plural(summary['allowlist_count'], 'entry', 'entries')} "
        f"(budget {doc['options']['budget']}, {doc['options']['match']} matching"
        + (f", target {doc['options']['target']}" if doc["options"].get("target", "ram") != "ram" else "") + "); "
        f"proposal: {plural(summary['proposal_entries'], 'entry', 'entries')}.",
        f"Evidence: {plural(summary['inputs'], 'input')}, {plural(summary['references'], 'image reference')}, "
        f"{plural(summary['observed_hosts'], 'observed host')}, "
        f"{plural(summary['blocked_attempts'], 'blocked attempt')}"
        + (f", {window['first']} to {window['last']}" if window["first"] else "") + ".",
        f"{plural(summary['findings'], 'finding')}: {plural(severity['error'], 'error')}, "
        f"{plural(severity['warning'], 'warning')}, {plural(severity['note'], 'note')}"
        + (f"; {summary['accepted']} of them accepted." if summary.get("accepted") else "."),
    ]
    machines = doc.get("machines") or {}
    if machines.get("total"):  # machine bundles were read
        lines.append(f"Machines: {machines['enforcing']} of {machines['total']} would enforce the allowlist today"
                     + "".join(f"; {state} {count}" for state, count in machines["by_state"].items() if count) + ".")
    for finding in doc["findings"][:limit]:
        mark = " (accepted)" if finding.get("accepted") else ""
        lines.append(f"  {finding['id']} {finding['severity']:<7} {finding['kind']:<15} {_safe(finding['title'])}"
                     f"{mark}")
    if len(doc["findings"]) > limit:
        lines.append(f"  ... {len(doc['findings']) - limit} more (see the reports)")
    for name, path in sorted(result.outputs.items()):
        if path != "-":
            lines.append(f"wrote {name}: {_safe(path)}")
    return "\n".join(lines) + "\n"


def command_line(inputs: tuple[str, ...], allowlist: str, options: AuditOptions, outputs: dict[str, str | None],
                 fail_on: str | None, strict: bool, extra: list[str]) -> list[str]:
    """The command as it would be typed, rebuilt from the parsed options (stable, no shell quoting games)."""
    words = ["regaudit", "audit", *inputs, "--allowlist", allowlist, *extra]
    if options.target != "ram":
        words += ["--target", options.target]
    if options.mode is not MatchMode.SUFFIX:
        words += ["--match", options.mode.value]
    if options.budget != 100:
        words += ["--budget", str(options.budget)]
    if options.count_docker_hub_default:
        words.append("--count-docker-hub-default")
    for org in options.orgs:
        words += ["--org", org]
    for name, path in outputs.items():
        if path is not None:
            words += [f"--{name}", path]
    if fail_on:
        words += ["--fail-on", fail_on]
    if strict:
        words.append("--strict")
    return words
