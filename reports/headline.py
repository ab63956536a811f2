"""The answer, first: the sentences every audit report opens with, read from the audit document.

What breaks on the enforcement point the audit was judged for (missing hosts, with how many images in how
many files need each), what to remove (unused entries over the evidence window), what is blocked most (host,
attempts, clients, why), then the proposed change as one list. Plain text with `code spans` for hosts and
entries: HTML turns them into <code>, Markdown keeps them as code spans, the terminal prints them as they
are. Nothing here decides anything: it counts what the findings and the difference already say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.core.words import plural

MAX_NAMED = 5  # hosts named in one sentence; the rest are counted


_PLACE_SUFFIX = re.compile(r"(?::\d+|#\d+)$")  # `path:line` or `path#packet`, as Source prints them


def _files(locations: list[str]) -> int:
    return len({_PLACE_SUFFIX.sub("", location) for location in locations})


def _named(items: list[str]) -> str:
    shown = items[:MAX_NAMED]
    text = ", ".join(shown)
    if len(items) > MAX_NAMED:
        text += f" and {len(items) - MAX_NAMED} more"
    return text


def _needs_hub_switch(finding: dict[str, Any]) -> bool:
    """A Docker Hub host the allowlist leaves to RAM's built-in Docker Hub entry (a warning, not an error)."""
    return finding["severity"] == "warning" and bool({"docker.io", "Docker Hub"} & set(finding["data"]["registries"]))


def target_title(document: dict[str, Any]) -> str:
    """The enforcement point the audit was judged for, by its title (reports before targets existed: RAM)."""
    options = document.get("options") or {}
    name = options.get("target") or "ram"
    return options.get("target_title") or ("Docker Desktop Registry Access Management" if name == "ram" else name)


def judged_for(document: dict[str, Any]) -> str:
    """`Docker Desktop Registry Access Management, target `ram`, suffix matching`: the match mode is RAM's
    setting; the other targets read each entry's scope from how it is written."""
    options = document.get("options") or {}
    name = options.get("target") or "ram"
    mode = f", {options.get('match', 'suffix')} matching" if name == "ram" else ""
    return f"{target_title(document)}, target `{name}`{mode}"


def _missing_sentence(findings: list[dict[str, Any]], where: str) -> str:
    missing = [f for f in findings if f["kind"] == "missing" and not _needs_hub_switch(f)]
    hub = [f for f in findings if f["kind"] == "missing" and _needs_hub_switch(f)]
    hub_hosts = _named([f"`{f['hosts'][0]}`" for f in hub])
    hub_clause = (f" {plural(len(hub), 'Docker Hub host')} ({hub_hosts}) "
                  f"{'is' if len(hub) == 1 else 'are'} allowed only while RAM's built-in Docker Hub entry stays on."
                  if hub else "")
    if not missing:
        return (f"No pull in the evidence will fail when this allowlist is enforced on {where}: every required "
                "host is allowed." + hub_clause)
    images = {image for f in missing for image in f["data"].get("images", ())}
    parts = []
    for finding in sorted(missing, key=lambda f: (-len(f["data"].get("images", ())), f["hosts"])):
        host = finding["data"].get("fix") or finding["hosts"][0]
        count = len(finding["data"].get("images", ()))
        files = _files(finding["data"].get("locations", []))
        extra = len(finding["hosts"]) - 1
        label = f"`{host}`" + (f" (+{plural(extra, 'host')})" if extra and finding["data"].get("fix") else "")
        if count:
            parts.append(f"{label} (needed by {plural(count, 'image')} in {plural(files, 'file')})")
        else:
            parts.append(f"{label} (seen in traffic)")
    pulls = plural(len(images), "image pull") if images else plural(len(missing), "kind of pull")
    verb = "fails" if len(images) == 1 and images else "fail"
    return f"{pulls} {verb} when this allowlist is enforced on {where}: {_named(parts)}.{hub_clause}"


def _unused_sentence(findings: list[dict[str, Any]], document: dict[str, Any]) -> str | None:
    unused = [f for f in findings if f["kind"] == "unused"]
    if not unused:
        return None
    window = document["time_window"]
    over = f"{window['first']} to {window['last']}" if window["first"] else "the inputs (no timestamps)"
    entries = [f"`{f['entries'][0]}`" for f in unused]
    are = "is" if len(unused) == 1 else "are"
    return f"{plural(len(unused), 'entry', 'entries')} {are} unused over {over}: {_named(entries)}."


def _blocked_sentence(findings: list[dict[str, Any]]) -> str | None:
    blocked = [f for f in findings if f["kind"] == "blocked-pattern"]
    if not blocked:
        return None
    top = max(blocked, key=lambda f: (f["data"]["count"], f["data"]["clients"], f["hosts"][0]))
    data = top["data"]
    clients = plural(data["clients"], "client") if data["clients"] else "clients not recorded"
    why = top["detail"].split(": ", 1)[-1].split(". ", 1)[0].rstrip(".")
    storm = ", a retry loop" if data.get("retry_storm") else ""
    return (f"Blocked most: `{top['hosts'][0]}` ({plural(data['count'], 'attempt')}, {clients}{storm}): {why}. "
            f"{top['action']}")


@dataclass(frozen=True)
class ChangeLine:
    op: str  # add | remove
    address: str
    reason: str
    findings: tuple[str, ...]
    nickname: str | None = None  # the current entry's nickname (RAM console CSV), shown beside it


def change_lines(document: dict[str, Any]) -> list[ChangeLine]:
    """The proposed change as one list: additions then removals, each with its reason and findings."""
    diff = document["difference"]
    changes = diff.get("changes") or (
        [{"address": a, "op": "add", "reason": "", "findings": []} for a in diff["add"]]
        + [{"address": r, "op": "remove", "reason": "", "findings": []} for r in diff["remove"]])
    return [ChangeLine(c["op"], c["address"], c["reason"], tuple(c["findings"]), c.get("nickname"))
            for c in changes if c["op"] in ("add", "remove")]


def change_sentence(document: dict[str, Any]) -> str:
    diff = document["difference"]
    if not diff["add"] and not diff["remove"]:
        return f"Proposed change: none; keep all {plural(len(diff['keep']), 'entry', 'entries')}."
    return (f"Proposed change: add {len(diff['add'])}, remove {len(diff['remove'])}, "
            f"keep {len(diff['keep'])}:")


def sentences(document: dict[str, Any]) -> list[str]:
    findings = document["findings"]
    lines = [_missing_sentence(findings, target_title(document))]
    for sentence in (_unused_sentence(findings, document), _blocked_sentence(findings)):
        if sentence:
            lines.append(sentence)
    return lines
