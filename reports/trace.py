"""`regaudit trace` output: one block of hops per image, or JSON following schemas/trace.schema.json, which
parsers/traffic/trace_result.py reads back as evidence."""

from __future__ import annotations

import urllib.parse

from auditor import __version__
from auditor.core.trace_record import TRACE_SCHEMA, TRACE_SCHEMA_VERSION, Hop, Role, TraceResult
from reports.json_text import dumps_indented
from reports.serialize import iso_time


def _safe(text: object) -> str:
    """Terminal-safe: header values come from remote servers, control characters are shown escaped."""
    value = "" if text is None else str(text)
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


def hop_dict(hop: Hop) -> dict[str, object]:
    return {"role": hop.role, "method": hop.method, "scheme": hop.scheme, "host": hop.host, "port": hop.port,
            "path": hop.path, "status": hop.status, "location": hop.location, "error": hop.error,
            "time": iso_time(hop.time), "proxy": hop.proxy}


def result_dict(result: TraceResult) -> dict[str, object]:
    return {"image": result.image, "registry": result.registry, "repository": result.repository,
            "reference": result.reference, "ok": result.ok, "error": result.error, "blob": result.blob,
            "hops": [hop_dict(hop) for hop in result.hops]}


def trace_document(results: list[TraceResult]) -> dict[str, object]:
    return {"schema": TRACE_SCHEMA, "version": TRACE_SCHEMA_VERSION, "regaudit_version": __version__,
            "results": [result_dict(r) for r in results]}


def render_json(results: list[TraceResult]) -> str:
    return dumps_indented(trace_document(results), ensure_ascii=False) + "\n"


def render_text(results: list[TraceResult]) -> str:
    lines: list[str] = []
    for result in results:
        separator = "@" if ":" in result.reference else ":"  # a digest has an algorithm prefix, a tag cannot
        resolved = f"{result.registry}/{result.repository}{separator}{result.reference}"
        shown = _safe(result.image)
        if result.registry and resolved != result.image:
            shown += f"  ({_safe(resolved)})"  # what a short name like `alpine` resolved to
        lines.append(shown)
        for number, hop in enumerate(result.hops, 1):
            status = str(hop.status) if hop.status is not None else "---"
            lines.append(f"  {number:>2}  {hop.role:<12} {hop.method:<4} {status:>3}  "
                         f"{_safe(hop.host)}:{hop.port}  {_safe(hop.path)}"
                         + (f"  [proxy {_safe(hop.proxy)}]" if hop.proxy else ""))
            if hop.location:
                lines.append(f"{'':20}Location: {_safe(hop.location)}")
            if hop.error:
                lines.append(f"{'':20}error: {_safe(hop.error)}")
        chain = _chain(result)
        if chain:
            lines.append(f"  chain: {chain}")
        lines.append(f"  error: {_safe(result.error)}" if result.error else "  ok: traced; no blob body read")
        lines.append("")
    return "\n".join(lines)


def _chain(result: TraceResult) -> str:
    """The hosts a pull needs, in order: registry, token realm, then every storage hop."""
    hosts: list[str] = []
    for hop in result.hops:
        label = hop.host if hop.role != Role.AUTH_TOKEN else f"{hop.host} (token)"
        if not hosts or hosts[-1] != label:
            hosts.append(label)
        if hop.location:
            target = (urllib.parse.urlsplit(hop.location).hostname or "").lower()
            if target and target != hop.host and hop.role in (Role.BLOB, Role.STORAGE):
                hosts.append(target)
    collapsed = [h for i, h in enumerate(hosts) if i == 0 or h != hosts[i - 1]]
    return " -> ".join(_safe(h) for h in collapsed)
