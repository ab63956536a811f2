"""Markdown: a summary short enough for a pull-request comment.

Hostile text must not break the table or inject markup: `|`, backticks, `*`, `_`, `~`, `[`, `]` (links and
images need brackets) and backslashes are backslash-escaped, `<`, `>`, `&` entity-encoded (no HTML, no
autolinks), control characters dropped and line breaks folded to spaces.
"""

from __future__ import annotations

from typing import Any

MAX_ROWS = 25  # a PR comment, not the report: the rest is counted and left to the HTML/JSON
MAX_CELL = 160
_ESCAPE = {ch: "\\" + ch for ch in "\\`*_[]|~"}
_ESCAPE.update({"<": "&lt;", ">": "&gt;", "&": "&amp;"})
_SEVERITY_MARK = {"error": "🔴 error", "warning": "🟠 warning", "note": "🔵 note"}


def escape(value: object, limit: int = MAX_CELL) -> str:
    text = " ".join(("" if value is None else str(value)).split())
    text = "".join(ch for ch in text if ch.isprintable())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(_ESCAPE.get(ch, ch) for ch in text)


def render_markdown(document: dict[str, Any]) -> str:
    summary = document["summary"]
    severity = summary["by_severity"]
    window = document["time_window"]
    lines = [
        "## regaudit: registry allowlist audit",
        "",
        f"**{summary['findings']} findings** ({severity.get('error', 0)} errors, {severity.get('warning', 0)} "
        f"warnings, {severity.get('note', 0)} notes) for {escape(document['allowlist']['path'])}: "
        f"{summary['allowlist_count']} entries against a budget of {document['options']['budget']}; "
        f"the proposal needs {summary['proposal_entries']}.",
        "",
        f"Evidence: {summary['inputs']} inputs, {summary['references']} image references, "
        f"{summary['blocked_attempts']} blocked attempts"
        + (f", {escape(window['first'])} to {escape(window['last'])}" if window["first"] else "") + ".",
        "",
    ]
    counts = [f"{kind} {n}" for kind, n in summary["by_kind"].items() if n]
    if counts:
        lines += ["By kind: " + ", ".join(counts), ""]
    findings = document["findings"]
    if findings:
        lines += ["| | Kind | Finding | Action |", "|---|---|---|---|"]
        for finding in findings[:MAX_ROWS]:
            lines.append(f"| {_SEVERITY_MARK.get(finding['severity'], escape(finding['severity']))} "
                         f"| {escape(finding['kind'])} | {escape(finding['title'])} | {escape(finding['action'])} |")
        if len(findings) > MAX_ROWS:
            lines += ["", f"…and {len(findings) - MAX_ROWS} more findings in the full report."]
    else:
        lines.append("No findings: the allowlist matches what the evidence needs.")
    diff = document["difference"]
    if diff["add"] or diff["remove"]:
        lines += ["", "**Proposed change:** "
                  + ", ".join([f"add {escape(a)}" for a in diff["add"][:15]]
                              + [f"remove {escape(r)}" for r in diff["remove"][:15]])]
    if "period" in document:
        lines += period_lines(document["period"])
    return "\n".join(lines) + "\n"


def period_lines(period: dict[str, Any]) -> list[str]:
    """The period of a windowed audit: versions in force, changes, blocked attempts per week, gaps."""
    lines = ["", f"**Period {escape(period['since'])} to {escape(period['until'])}** "
             f"({period['calendar_days']} days, {len(period['inputs'])} inputs). {escape(period['gap_text'], 400)}"]
    for version in period["allowlist_versions"][:MAX_ROWS]:
        lines.append(f"- allowlist {escape(version['sha256'][:12])} in force {escape(version['from'])} to "
                     f"{escape(version['to'] or 'now')}: {version['entries']} entries")
    for change in period["entry_changes"][:MAX_ROWS]:
        lines.append(f"- {escape(change['date'])}: {escape(change['change'])} {escape(change['entry'])}")
    busy = [w for w in period["blocked_weekly"] if w["attempts"]]
    if busy:
        lines.append("- blocked attempts per week: "
                     + ", ".join(f"{escape(w['week'])} {w['attempts']}" for w in busy[:MAX_ROWS]))
    return lines
