"""`regaudit trace --format json` output read back as evidence: probe-hop observations and probe redirect edges.

Detected by its schema marker; every result and hop is checked for shape, and a bad one becomes an InputError
naming it while the others are still used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from auditor.core import safe_json
from auditor.core.model import Evidence
from auditor.core.trace_record import TRACE_SCHEMA, Hop, TraceResult, trace_evidence
from parsers.common.inputs import InputFile, ParseContext, read_config_text

NAME = "trace_result"
_MARKER = re.compile(rb'^\s*\{[^{]{0,200}?"schema"\s*:\s*"' + re.escape(TRACE_SCHEMA.encode()) + rb'"')
_HOP_TEXT = ("role", "method", "scheme", "host", "path")
_HOP_OPTIONAL_TEXT = ("location", "error", "proxy")


def detect(inp: InputFile) -> bool:
    return bool(_MARKER.match(inp.head[:4096]))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text, errors = read_config_text(inp, NAME)
    yield from errors
    if text is None:
        return
    ctx.advance(inp.size)
    try:
        document = safe_json.loads(text)
    except safe_json.JsonInputError as exc:
        yield inp.error(f"not valid JSON: {exc.message}", line=exc.line, parser=NAME)
        return
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        yield inp.error("trace document has no 'results' list", parser=NAME)
        return
    source = inp.source(parser=NAME)
    for number, item in enumerate(results, 1):
        result, problem = _result(item)
        if result is None:
            yield inp.error(f"results[{number - 1}]: {problem}", parser=NAME)
            continue
        if problem:
            yield inp.error(f"results[{number - 1}]: {problem}", parser=NAME)
        yield from trace_evidence(result, source)


def _result(item: object) -> tuple[TraceResult | None, str | None]:
    if not isinstance(item, dict) or not isinstance(item.get("image"), str):
        return None, "not a trace result (no 'image' string)"
    hops: list[Hop] = []
    bad: list[int] = []
    raw_hops = item.get("hops")
    for index, raw in enumerate(raw_hops if isinstance(raw_hops, list) else []):
        hop = _hop(raw)
        if hop is None:
            bad.append(index)
        else:
            hops.append(hop)
    result = TraceResult(image=item["image"], registry=_text(item.get("registry")),
                         repository=_text(item.get("repository")), reference=_text(item.get("reference")),
                         hops=hops, error=item.get("error") if isinstance(item.get("error"), str) else None)
    problem = f"malformed hops skipped: {', '.join(map(str, bad))}" if bad else None
    return result, problem


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _epoch(text: object) -> float | None:
    """ISO 8601 (as the trace JSON writes it) to epoch seconds; a time without a zone is taken as UTC."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _hop(raw: object) -> Hop | None:
    if not isinstance(raw, dict):
        return None
    if not all(isinstance(raw.get(key), str) and raw.get(key) for key in _HOP_TEXT):
        return None
    port, status, when = raw.get("port"), raw.get("status"), raw.get("time")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return None
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        return None
    if when is not None:
        when = _epoch(when)
        if when is None:
            return None
    optional = {key: raw.get(key) if isinstance(raw.get(key), str) else None for key in _HOP_OPTIONAL_TEXT}
    return Hop(role=raw["role"], method=raw["method"], scheme=raw["scheme"], host=raw["host"].lower(), port=port,
               path=raw["path"], status=status, time=when, **optional)
