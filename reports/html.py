"""The HTML audit report: one self-contained file (inline CSS and SVG, no script, no external request).

Everything shown comes from the audit document (reports/json_report.py); this module only lays it out:
it numbers the sources for the evidence appendix and computes the geometry of the inline SVG charts.
Every string from the inputs is hostile: jinja2 autoescaping is always on, control characters are shown
escaped, and no input text ever lands in a URL, an id or a style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from reports.headline import change_lines, change_sentence, judged_for, sentences
from reports.required_rows import required_column

TEMPLATES = Path(__file__).parent / "templates"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
MAX_TIMELINE_BARS = 24 * 14
EVIDENCE_SHOWN = 4  # evidence items shown per finding; the rest behind a <details>
SEVERITY_LABEL = {"error": "Error", "warning": "Warning", "note": "Note"}


def visible(value: object) -> object:
    """Finalizer for every {{ }}: control characters (ESC, NUL, bidi overrides ...) shown as escapes."""
    if value is None:
        return ""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in value)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=visible)
    env.filters["size"] = human_size
    env.filters["short"] = short
    env.filters["code"] = code_spans
    env.filters["host"] = host_breaks
    env.filters["noun"] = lambda word, count: word if count == 1 else (word[:-1] + "ies" if word.endswith("y")
                                                                         else word + "s")
    return env


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(value: object) -> Markup:
    """Text with `backticked` parts set as <code>: escaped first, so input can never add markup."""
    text = escape(visible(value) if isinstance(value, str) else str(value))
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1).replace('.', '.<wbr>')}</code>", str(text)))


def host_breaks(value: object) -> Markup:
    """A host name that may wrap after its dots only (<wbr>), never one character per line."""
    text = escape(visible(value) if isinstance(value, str) else str(value))
    return Markup(str(text).replace(".", ".<wbr>"))


def human_size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def short(value: object, limit: int = 90) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- evidence appendix ---------------------------------------------------------------------------


@dataclass
class SourceRow:
    anchor: str
    location: str
    path: str
    parser: str
    cited_by: list[str]


def number_sources(document: dict[str, Any]) -> tuple[list[SourceRow], dict[str, str]]:
    """Every source a finding cites, once, numbered in a stable order; location -> anchor id."""
    cited: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    # finding ids per source as an ordered set: one source cited by thousands of findings (a large allowlist)
    # made a list membership test quadratic (a fuzz-campaign hang)
    cited_by: dict[tuple[str, int, int, str], dict[str, None]] = {}
    for finding in document["findings"]:
        for item in finding["evidence"]:
            for source in item["sources"]:
                key = (source["path"], source["line"] or 0, source["packet"] or 0, source["location"])
                cited.setdefault(key, source)
                cited_by.setdefault(key, {})[finding["id"]] = None
    rows = []
    anchors: dict[str, str] = {}
    for number, key in enumerate(sorted(cited), 1):
        source = cited[key]
        anchor = f"src-{number}"
        anchors.setdefault(source["location"], anchor)
        rows.append(SourceRow(anchor, source["location"], source["path"], source["parser"], list(cited_by[key])))
    return rows, anchors


# -- charts --------------------------------------------------------------------------------------


def timeline_chart(document: dict[str, Any], width: int = 900, height: int = 180) -> dict[str, Any] | None:
    """Bars of blocked attempts per hour, on a continuous hour axis (gaps shown as gaps)."""
    points = document["blocked"]["timeline"]
    if not points:
        return None
    hours = [(_hour_epoch(p["hour"]), p["count"]) for p in points]
    first, last = hours[0][0], hours[-1][0]
    slots = int((last - first) // 3600) + 1
    if slots > MAX_TIMELINE_BARS:  # too long for hourly bars: one bar per day
        step = 86400
        first = first - first % 86400
        slots = int((last - first) // 86400) + 1
    else:
        step = 3600
    counts = [0] * slots
    for epoch, count in hours:
        counts[int((epoch - first) // step)] += count
    peak = max(counts) or 1
    left, bottom, top = 48, 28, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    bar_w = plot_w / slots
    width_drawn = min(bar_w * 0.8, 48.0)  # a few hours must not turn into slabs
    bars = []
    for index, count in enumerate(counts):
        if not count:
            continue
        bar_h = max(2.0, plot_h * count / peak)
        start = datetime.fromtimestamp(first + index * step, UTC)
        bars.append({"x": round(left + index * bar_w + (bar_w - width_drawn) / 2, 2),
                     "y": round(top + plot_h - bar_h, 2),
                     "w": round(max(width_drawn, 1.0), 2), "h": round(bar_h, 2), "count": count,
                     "label": start.strftime("%Y-%m-%d %H:00 UTC" if step == 3600 else "%Y-%m-%d UTC")})
    ticks = []
    tick_every = max(1, slots // 8)
    for index in range(0, slots, tick_every):
        start = datetime.fromtimestamp(first + index * step, UTC)
        ticks.append({"x": round(left + index * bar_w + bar_w / 2, 2),
                      "label": start.strftime("%H:00" if step == 3600 else "%m-%d")})
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "peak": peak, "left": left,
            "top": top, "plot_h": plot_h, "plot_w": plot_w, "axis_y": top + plot_h,
            "unit": "hour" if step == 3600 else "day",
            "start": datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d"), "slots": slots}


def _hour_epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


BOX_H, GAP_X, GAP_Y = 34, 46, 14
CHAR_W, BOX_PAD = 7.3, 20  # 12px monospace; the box's inner margins
BOX_MIN_CHARS, BOX_MAX_CHARS = 24, 64


MAX_DIAGRAMS = 100  # registries drawn in the chains section (in host order); the JSON report has every chain


def chain_starts(document: dict[str, Any]) -> int:
    """How many registries (chain starts) the required hosts' chains have: more than MAX_DIAGRAMS are not drawn."""
    return len({chain[0] for chains in required_column(document["required"], "chains") for chain in chains
                if len(chain) > 1})


def chain_diagrams(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per registry host, the hosts its pulls are sent to, drawn as boxes and arrows (one row per path)."""
    required = document["required"]
    allowed = dict(zip(required_column(required, "host"), required_column(required, "allowed_by"), strict=True))
    by_start: dict[str, list[list[str]]] = {}
    for chains in required_column(required, "chains"):
        for chain in chains:
            if len(chain) > 1:
                paths = by_start.setdefault(chain[0], [])
                if chain not in paths:
                    paths.append(chain)
    via = {(e["from"], e["to"]): e["via"] for e in document["redirect_edges"]}
    diagrams = []
    for start in sorted(by_start)[:MAX_DIAGRAMS]:
        paths = sorted(p for p in by_start[start] if not any(o != p and o[: len(p)] == p for o in by_start[start]))
        depth = max(len(p) for p in paths)
        chars = min(BOX_MAX_CHARS, max(BOX_MIN_CHARS, *(len(h) for p in paths for h in p)))
        box_w = round(chars * CHAR_W + BOX_PAD)
        height = len(paths) * (BOX_H + GAP_Y) - GAP_Y + 24
        boxes, arrows = [], []
        start_y = (height - BOX_H) / 2
        boxes.append(_box(start, 0, start_y, allowed, True, box_w, chars))
        for row, path in enumerate(paths):
            y = 12 + row * (BOX_H + GAP_Y)
            prev_x, prev_y = box_w, start_y + BOX_H / 2
            for col, host in enumerate(path[1:], 1):
                x = col * (box_w + GAP_X)
                boxes.append(_box(host, x, y, allowed, False, box_w, chars))
                arrows.append({"x1": prev_x, "y1": prev_y, "x2": x - 6, "y2": y + BOX_H / 2,
                               "via": via.get((path[col - 1], host), "")})
                prev_x, prev_y = x + box_w, y + BOX_H / 2
        diagrams.append({"start": start, "width": depth * (box_w + GAP_X) - GAP_X + 4, "height": height,
                         "boxes": boxes, "arrows": arrows})
    return diagrams


def box_label(host: str, chars: int) -> str:
    """HOST in CHARS characters: cut in the middle, so both the first label and the domain stay readable."""
    if len(host) <= chars:
        return host
    head = (chars - 1) // 2
    return host[:head] + "…" + host[-(chars - 1 - head):]


def _box(host: str, x: float, y: float, allowed: dict[str, str | None], start: bool, width: int, chars: int
         ) -> dict[str, Any]:
    entry = allowed.get(host)
    state = "start" if start and entry else ("allowed" if entry else "missing")
    label = box_label(host, chars)
    return {"x": x, "y": round(y, 2), "w": width, "h": BOX_H, "host": host, "label": label, "state": state,
            "entry": entry}


# -- render --------------------------------------------------------------------------------------


FINDINGS_SHOWN_PER_KIND = 500  # rows drawn per finding kind; the JSON, CSV and SARIF reports hold every finding


def render_html(document: dict[str, Any]) -> str:
    sources, anchors = number_sources(document)
    template = _environment().get_template("report.html.j2")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in document["findings"]:
        by_kind.setdefault(finding["kind"], []).append(finding)
    return template.render(
        findings_shown=FINDINGS_SHOWN_PER_KIND,
        headline=sentences(document), change_sentence=change_sentence(document), changes=change_lines(document),
        judged_for=judged_for(document),
        evidence_shown=EVIDENCE_SHOWN, doc=document, csp=CSP, sources=sources, anchors=anchors, by_kind=by_kind,
        timeline=timeline_chart(document), diagrams=chain_diagrams(document),
        diagrams_omitted=max(0, chain_starts(document) - MAX_DIAGRAMS),
        severity_label=SEVERITY_LABEL,
        findings_for={row["address"]: row["findings"] for row in document["allowlist"]["entries"]},
        kind_titles=_KindTitles(KIND_TITLES),
        blocked_findings={f["hosts"][0]: f for f in document["findings"] if f["kind"] == "blocked-pattern"},
    )


KIND_TITLES = {
    "missing": "Missing hosts",
    "over-broad": "Over-broad entries",
    "lookalike": "Lookalike hosts",
    "blocked-pattern": "Blocked attempts",
    "over-limit": "Over the limit",
    "not-enforced": "Not enforced by RAM",
    "network-entry": "Address ranges (not host names)",
    "duplicate": "Duplicate entries",
    "image-access": "Docker Hub image access",
    "unused": "Unused entries",
    "redundant": "Redundant entries",
    "expired-ignore": "Expired ignore rules",
    "sign-in": "Docker Desktop sign-in",
    "bypass": "Ways around RAM on machines",
}


class _KindTitles(dict[str, str]):
    """KIND_TITLES that never fail a report: a kind without a title of its own is shown by its name."""

    def __missing__(self, kind: str) -> str:
        return kind.replace("-", " ").capitalize()
