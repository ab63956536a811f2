"""Markdown: the answer, short enough for a pull-request comment, with the full tables behind <details>.

It opens with the same sentences as the HTML and the terminal (reports/headline.py) and the proposed change
as one list; the findings and the allowlist follow in collapsed <details> blocks (GitHub and GitLab render
Markdown inside them after a blank line).

Hostile text must not break the table or inject markup. Outside code spans `|`, backticks, `*`, `_`, `~`,
`[`, `]` and backslashes are backslash-escaped and `<`, `>`, `&` entity-encoded (no HTML, no autolinks);
control characters are dropped and line breaks folded to spaces. The `code spans` that regaudit writes
itself (hosts, entries in actions) stay code spans: their content is literal in Markdown, so only `|`
(a table breaker even there) is escaped, and a backtick inside is impossible (the span ends at it).
"""

from __future__ import annotations

import re
from typing import Any

from reports.headline import change_lines, change_sentence, judged_for, sentences

MAX_ROWS = 200  # findings in the collapsed table; a PR comment holds 65,536 characters
MAX_CELL = 400  # titles and evidence; actions are never cut
_ESCAPE = {ch: "\\" + ch for ch in "\\`*_[]|~"}
_ESCAPE.update({"<": "&lt;", ">": "&gt;", "&": "&amp;"})
_SEVERITY_MARK = {"error": "🔴 error", "warning": "🟠 warning", "note": "🔵 note"}
_CODE_SPAN = re.compile(r"`([^`]+)`")


def _clean(value: object) -> str:
    text = " ".join(("" if value is None else str(value)).split())
    return "".join(ch for ch in text if ch.isprintable())


def escape(value: object, limit: int | None = MAX_CELL) -> str:
    """VALUE as plain Markdown text: every markup character escaped."""
    text = _clean(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _escaped(text)


def _escaped(text: str) -> str:
    return "".join(_ESCAPE.get(ch, ch) for ch in text)


def with_code(value: object) -> str:
    """VALUE with its `code spans` kept as code, the text between them escaped."""
    text = _clean(value)
    out = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escaped(text[position:match.start()]))
        out.append(code(match.group(1)))
        position = match.end()
    out.append(_escaped(text[position:]))
    return "".join(out)


def code(value: object) -> str:
    text = _clean(value).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def render_markdown(document: dict[str, Any]) -> str:
    summary = document["summary"]
    severity = summary["by_severity"]
    lines = ["## regaudit: registry allowlist audit", "", f"Judged for {with_code(judged_for(document))}.", ""]
    lines += [f"- {with_code(sentence)}" for sentence in sentences(document)]
    lines += _machines(document.get("machines") or {})
    lines += ["", f"**{with_code(change_sentence(document))}**", ""]
    for change in change_lines(document):
        sign = "➕ add" if change.op == "add" else "➖ remove"
        nickname = f" ({escape(change.nickname)})" if change.nickname else ""
        cited = f" [{', '.join(escape(f) for f in change.findings)}]" if change.findings else ""
        reason = f": {escape(change.reason)}" if change.reason else ""
        lines.append(f"- {sign} {code(change.address)}{nickname}{reason}{cited}")
    lines += ["", f"{summary['findings']} findings ({severity.get('error', 0)} errors, "
              f"{severity.get('warning', 0)} warnings, {severity.get('note', 0)} notes) for "
              f"{code(document['allowlist']['path'])}: {summary['allowlist_count']} entries against a budget of "
              f"{document['options']['budget']}; the proposal needs {summary['proposal_entries']}.", ""]
    if "period" in document:
        lines += period_lines(document["period"])
    lines += _findings_table(document["findings"])
    lines += _allowlist_table(document)
    return "\n".join(lines) + "\n"


def _findings_table(findings: list[dict[str, Any]]) -> list[str]:
    if not findings:
        return ["No findings: the allowlist matches what the evidence needs.", ""]
    lines = ["<details><summary>All findings</summary>", "", "| | ID | Kind | Finding | Action |",
             "|---|---|---|---|---|"]
    for finding in findings[:MAX_ROWS]:
        lines.append(f"| {_SEVERITY_MARK.get(finding['severity'], escape(finding['severity']))} "
                     f"| {escape(finding['id'])} | {escape(finding['kind'])} | {with_code(finding['title'])}"
                     f"{_accepted(finding)} | {with_code(finding['action'])} |")
    if len(findings) > MAX_ROWS:
        lines += ["", f"…and {len(findings) - MAX_ROWS} more findings in the full report."]
    return [*lines, "", "</details>", ""]


def _allowlist_table(document: dict[str, Any]) -> list[str]:
    entries = document["allowlist"]["entries"]
    if not entries:
        return []
    remove = set(document["difference"]["remove"])
    lines = ["<details><summary>The allowlist, entry by entry</summary>", "",
             "| Entry | Nickname | Change | Findings |", "|---|---|---|---|"]
    for entry in entries:
        change = "remove" if entry["address"] in remove else "keep"
        lines.append(f"| {code(entry['address'])} | {escape(entry.get('nickname') or '')} | {change} "
                     f"| {escape(', '.join(entry['findings']))} |")
    return [*lines, "", "</details>", ""]


def _accepted(finding: dict[str, Any]) -> str:
    acceptance = finding.get("accepted")
    if not acceptance:
        return ""
    return f" (accepted: {escape(acceptance['reason'])}, by {escape(acceptance['by'])})"


def _machines(machines: dict[str, Any]) -> list[str]:
    """One line on the machine bundles: how many would enforce the allowlist today, and what stops the rest."""
    if not machines.get("total"):
        return []
    stopped = ", ".join(f"{escape(rule)} ({count})" for rule, count in machines["stopped_by"].items())
    return [f"- **Machines:** {machines['enforcing']} of {machines['total']} would enforce the allowlist today"
            + (f"; stopped by {stopped}" if stopped else "") + "."]


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
