"""The `regaudit audit` run: evidence -> analysis -> findings -> the requested reports and exit code.

Kept out of cli.py so the command there stays a thin list of options.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.core.model import InputError
from auditor.decisions.analysis import Analysis, analyse
from auditor.decisions.audit import AuditOptions, Finding, FindingKind, audit
from reports.json_report import RunInfo, audit_document, file_sha256, render_json

FAIL_ON_ANY = "any"


def parse_fail_on(text: str | None) -> frozenset[FindingKind]:
    """`missing,over-broad` or `any` -> the kinds that fail the run; ValueError names an unknown kind."""
    if not text:
        return frozenset()
    kinds: set[FindingKind] = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word == FAIL_ON_ANY:
            kinds |= set(FindingKind)
            continue
        try:
            kinds.add(FindingKind(word))
        except ValueError:
            known = ", ".join([FAIL_ON_ANY, *(k.value for k in FindingKind)])
            raise ValueError(f"unknown finding kind {word!r} (known: {known})") from None
    return frozenset(kinds)


def generation_time() -> str:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AuditResult:
    analysis: Analysis
    allowlist: Allowlist
    allowlist_errors: list[InputError]
    findings: list[Finding]
    document: dict[str, Any]
    outputs: dict[str, Path] = field(default_factory=dict)


def run_audit(store: EvidenceStore, allowlist_path: Path, options: AuditOptions, command_line: list[str]
              ) -> AuditResult:
    allowlist, errors = options.enforcement().read(allowlist_path)
    analysis = analyse(store, budget=options.budget, mode=options.mode,
                       count_docker_hub_default=options.count_docker_hub_default, allowlist=allowlist,
                       target=options.target)
    findings = audit(analysis, allowlist, options)
    analysis.findings = findings
    run = RunInfo(tuple(command_line), generation_time(), allowlist.path or str(allowlist_path),
                  file_sha256(allowlist_path), tuple(errors))
    document = audit_document(analysis, allowlist, findings, options, run)
    return AuditResult(analysis, allowlist, errors, findings, document)


def renderers() -> dict[str, Callable[[dict[str, Any]], str]]:
    from reports.csv_report import render_csv
    from reports.html import render_html
    from reports.markdown import render_markdown
    from reports.sarif import render_sarif

    return {"html": render_html, "json": render_json, "csv": render_csv, "sarif": render_sarif,
            "md": render_markdown}


def write_reports(document: dict[str, Any], targets: dict[str, Path | None]) -> dict[str, Path]:
    written = {}
    available = renderers()
    for name, path in targets.items():
        if path is None:
            continue
        text = available[name](document)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written[name] = path
    return written


def _safe(text: object) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def summary_text(result: AuditResult, limit: int = 40) -> str:
    doc = result.document
    summary = doc["summary"]
    severity = summary["by_severity"]
    window = doc["time_window"]
    lines = [
        f"Allowlist {_safe(doc['allowlist']['path'])}: {summary['allowlist_count']} entries "
        f"(budget {doc['options']['budget']}, {doc['options']['match']} matching"
        + (f", target {doc['options']['target']}" if doc["options"].get("target", "ram") != "ram" else "") + "); "
        f"proposal: {summary['proposal_entries']} entries.",
        f"Evidence: {summary['inputs']} inputs, {summary['references']} image references, "
        f"{summary['observed_hosts']} observed hosts, {summary['blocked_attempts']} blocked attempts"
        + (f", {window['first']} to {window['last']}" if window["first"] else "") + ".",
        f"{summary['findings']} findings: {severity['error']} errors, {severity['warning']} warnings, "
        f"{severity['note']} notes.",
    ]
    for finding in doc["findings"][:limit]:
        lines.append(f"  {finding['id']} {finding['severity']:<7} {finding['kind']:<15} {_safe(finding['title'])}")
    if len(doc["findings"]) > limit:
        lines.append(f"  ... {len(doc['findings']) - limit} more (see the reports)")
    for name, path in sorted(result.outputs.items()):
        lines.append(f"wrote {name}: {_safe(path)}")
    return "\n".join(lines) + "\n"


def command_line(inputs: tuple[str, ...], allowlist: Path, options: AuditOptions, outputs: dict[str, Path | None],
                 fail_on: str | None, strict: bool, extra: list[str]) -> list[str]:
    """The command as it would be typed, rebuilt from the parsed options (stable, no shell quoting games)."""
    words = ["regaudit", "audit", *inputs, "--allowlist", str(allowlist), *extra]
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
            words += [f"--{name}", str(path)]
    if fail_on:
        words += ["--fail-on", fail_on]
    if strict:
        words.append("--strict")
    return words
