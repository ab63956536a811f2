"""Findings over a period: time on the audit's findings, and the compliance section of a windowed audit.

The evidence store (auditor/store/) answers with DataFrames; this module decides what they mean for the
window: when an unused entry was last used, a blocked host's weekly trend, which allowlist versions were
in force and what changed, the inputs that cover the period and the days nothing covers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from auditor.core.allowlist import MatchMode, covers

if TYPE_CHECKING:
    import pandas as pd

    from auditor.decisions.audit import Finding


@dataclass(frozen=True)
class PeriodFacts:
    """What the store knows about the window, as read by auditor/store/reader.py."""

    since: date
    until: date
    as_of: date
    store_path: str
    began: str | None  # the store's first day of evidence
    last_use: pd.DataFrame  # host, last_day (up to the window's end)
    blocked: pd.DataFrame  # day, host, reason, count (in the window)
    evidence_days: frozenset[str]
    inputs: pd.DataFrame  # display, kind, content_sha256, first_time, last_time, ingested_at
    versions: list[dict[str, Any]]  # sha256, path, first_ingested, entries (all versions, oldest first)
    clients_on: Callable[[list[str], str], tuple[int, bool]]  # distinct clients of hosts on a day

    @property
    def days(self) -> int:
        return (self.until - self.since).days


def weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """FRAME's counts per ISO week (the week's Monday), per host: columns week, host, count."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame(columns=["week", "host", "count"])
    days = pd.to_datetime(frame["day"])
    weeks = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    return (frame.assign(week=weeks).groupby(["week", "host"], as_index=False)["count"].sum()
            .sort_values(["week", "host"], kind="stable"))


def annotate(findings: list[Finding], facts: PeriodFacts, mode: MatchMode) -> None:
    """Add the window's time to unused and blocked-pattern findings (text and data)."""
    from auditor.decisions.audit import FindingKind

    trend = weekly(facts.blocked)
    by_host = {host: dict(zip(rows["week"], (int(c) for c in rows["count"]), strict=True))
               for host, rows in trend.groupby("host")}
    window_text = f"the {facts.days} days from {facts.since} to {facts.until}"
    for finding in findings:
        if finding.kind is FindingKind.UNUSED and finding.entries:
            finding.detail = _unused_text(finding.entries[0], facts, mode, window_text, finding.data)
        elif finding.kind is FindingKind.BLOCKED_PATTERN and finding.hosts:
            weeks = by_host.get(finding.hosts[0], {})
            finding.data["weekly"] = weeks
            if weeks:
                finding.detail += " Weekly attempts: " + ", ".join(f"{w} {n}" for w, n in weeks.items()) + "."


def _unused_text(entry: str, facts: PeriodFacts, mode: MatchMode, window_text: str, data: dict[str, Any]) -> str:
    hosts = [h for h in facts.last_use["host"] if covers(entry, h, mode)] if not facts.last_use.empty else []
    if hosts:
        used = facts.last_use[facts.last_use["host"].isin(hosts)]
        last_day = str(used["last_day"].max())
        last_hosts = sorted(used.loc[used["last_day"] == last_day, "host"])
        clients, more = facts.clients_on(last_hosts, last_day)
        data.update({"window": {"since": str(facts.since), "until": str(facts.until)}, "last_used": last_day,
                     "last_used_hosts": last_hosts, "last_used_clients": clients})
        if last_day >= str(facts.since):
            return (f"Seen in {window_text} (last {last_day}: {', '.join(last_hosts[:3])}), but never as registry "
                    "activity an image needs.")
        who = f"{'more than ' if more else ''}{clients} client{'s' if clients != 1 else ''}"
        return (f"No use in {window_text}; last used {last_day} by {who} "
                f"({', '.join(last_hosts[:3])}{', ...' if len(last_hosts) > 3 else ''}).")
    data.update({"window": {"since": str(facts.since), "until": str(facts.until)}, "last_used": None,
                 "store_began": facts.began})
    return f"No use in {window_text}; never seen since the store began on {facts.began or 'its first ingest'}."


def period_section(facts: PeriodFacts) -> dict[str, Any]:
    """The `period` part of the audit document."""
    since, until = str(facts.since), str(facts.until)
    versions = _versions_in_force(facts.versions, since, until)
    trend = weekly(facts.blocked)
    weeks = trend.groupby("week", as_index=False).agg(attempts=("count", "sum"), hosts=("host", "nunique"))
    all_weeks = _weeks(facts.since, facts.until)
    per_week = {str(w): (int(a), int(h)) for w, a, h in zip(weeks["week"], weeks["attempts"], weeks["hosts"],
                                                              strict=True)}
    gaps = _gaps(facts.since, facts.until, facts.evidence_days)
    gap_days = sum(g["days"] for g in gaps)
    return {
        "since": since, "until": until, "as_of": str(facts.as_of), "calendar_days": facts.days + 1,
        "store": facts.store_path, "store_began": facts.began,
        "allowlist_versions": versions,
        "entry_changes": [change for v in versions for change in v["changes"] if since <= change["date"] <= until],
        "blocked_weekly": [{"week": w, "attempts": per_week.get(w, (0, 0))[0], "hosts": per_week.get(w, (0, 0))[1]}
                           for w in all_weeks],
        "inputs": [{"path": r.display, "kind": r.kind, "sha256": r.content_sha256,
                    "first": _iso(r.first_time), "last": _iso(r.last_time), "ingested_at": r.ingested_at}
                   for r in facts.inputs.itertuples()],
        "gaps": gaps,
        "gap_text": (f"No gaps: every one of the {facts.days + 1} days holds evidence." if not gaps else
                     f"{gap_days} of {facts.days + 1} days hold no evidence at all: "
                     + "; ".join(g["from"] if g["days"] == 1 else f"{g['from']} to {g['to']}" for g in gaps[:10])
                     + ("; ..." if len(gaps) > 10 else "") + ". Nothing is known of use or blocks on those days."),
    }


def _iso(epoch: object) -> str | None:
    import math
    from datetime import UTC, datetime

    if epoch is None or (isinstance(epoch, float) and math.isnan(epoch)):
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")  # type: ignore[arg-type]


def _weeks(since: date, until: date) -> list[str]:
    monday = since - timedelta(days=since.weekday())
    weeks = []
    while monday <= until:
        weeks.append(monday.isoformat())
        monday += timedelta(days=7)
    return weeks


def _gaps(since: date, until: date, days: frozenset[str]) -> list[dict[str, Any]]:
    gaps: list[dict[str, Any]] = []
    day = since
    while day <= until:
        if day.isoformat() not in days:
            if gaps and gaps[-1]["to"] == (day - timedelta(days=1)).isoformat():
                gaps[-1]["to"] = day.isoformat()
                gaps[-1]["days"] += 1
            else:
                gaps.append({"from": day.isoformat(), "to": day.isoformat(), "days": 1})
        day += timedelta(days=1)
    return gaps


def _versions_in_force(versions: list[dict[str, Any]], since: str, until: str) -> list[dict[str, Any]]:
    """The allowlist versions in force at some time in the window, each with its changes from the one before."""
    shown = []
    previous: set[str] = set()
    for index, version in enumerate(versions):
        start = str(version["first_ingested"])[:10]
        following = versions[index + 1] if index + 1 < len(versions) else None
        end = str(following["first_ingested"])[:10] if following else None
        entries = set(version["entries"])
        added, removed = sorted(entries - previous), sorted(previous - entries)
        changes = ([{"entry": e, "change": "added", "date": start} for e in added if index]
                   + [{"entry": e, "change": "removed", "date": start} for e in removed])
        if start <= until and (end is None or end > since):
            shown.append({"sha256": version["sha256"], "path": version["path"], "from": start, "to": end,
                          "entries": len(entries), "added": added if index else [], "removed": removed,
                          "changes": changes})
        previous = entries
    return shown
