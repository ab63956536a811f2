"""What one live probe of an image found: its hops, and the evidence they make.

The probe (`auditor/probe/trace.py`) produces these; `reports/trace.py` writes them as JSON and
`parsers/traffic/trace_result.py` reads that JSON back. They live on the ground floor so that the parser
and the renderer never import the network code.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.core.model import (
    Confidence,
    EdgeVia,
    Evidence,
    ImageReference,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
)
from auditor.core.reference import InvalidReference, parse_reference

# the JSON document: reports/trace.py writes it, parsers/traffic/trace_result.py reads it
TRACE_SCHEMA = "regaudit/trace"
TRACE_SCHEMA_VERSION = 1


def bracket_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host



class Role(StrEnum):
    REGISTRY_API = "registry-api"
    AUTH_TOKEN = "auth-token"
    MANIFEST = "manifest"
    BLOB = "blob"
    STORAGE = "storage"


@dataclass(frozen=True)
class Hop:
    """One HTTP exchange of the probe. `status` is None when no response came (see `error`)."""

    role: str
    method: str
    scheme: str
    host: str
    port: int
    path: str
    status: int | None
    location: str | None = None
    error: str | None = None
    time: float | None = None
    proxy: str | None = None

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        netloc = bracket_host(self.host) if self.port == default else f"{bracket_host(self.host)}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


@dataclass
class TraceResult:
    image: str
    registry: str = ""
    repository: str = ""
    reference: str = ""
    hops: list[Hop] = field(default_factory=list)
    error: str | None = None
    blob: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --- as evidence ------------------------------------------------------------------------------------------------

def trace_evidence(result: TraceResult, source: Source) -> Iterator[Evidence]:
    """Records for the analysis: the image, a probe-hop observation per hop, and an edge per host change
    (registry -> token realm, registry -> storage, storage -> storage)."""
    try:
        ref = parse_reference(result.image)
        yield ImageReference(original=result.image, registry=ref.registry, endpoint=ref.endpoint,
                             repository=ref.repository, tag=ref.tag, digest=ref.digest, source=source,
                             context="trace")
    except InvalidReference:
        pass
    for hop in result.hops:
        status = str(hop.status) if hop.status is not None else "error"
        detail = f"{hop.role} {hop.method} {hop.path} -> {status}"
        if hop.error:
            detail += f" ({hop.error})"
        yield Observation(host=hop.host, kind=ObservationKind.PROBE_HOP, time=hop.time, rcode=status,
                          detail=detail, source=source, server=f"{bracket_host(hop.host)}:{hop.port}")
    yield from _edges(result, source)


def _edges(result: TraceResult, source: Source) -> Iterator[RedirectEdge]:
    registry_host = next((h.host for h in result.hops if h.role == Role.REGISTRY_API), None)
    seen: set[tuple[str, str, str]] = set()
    for hop in result.hops:
        if hop.role == Role.AUTH_TOKEN and registry_host and hop.host != registry_host:
            key = (registry_host, hop.host, "token realm")
            edge_time = hop.time
        elif hop.location:
            target = (urllib.parse.urlsplit(hop.location).hostname or "").lower()
            if not target or target == hop.host:
                continue
            key = (hop.host, target, f"{hop.status} {hop.role} redirect")
            edge_time = hop.time
        else:
            continue
        if key in seen:
            continue
        seen.add(key)
        yield RedirectEdge(from_host=key[0], to_host=key[1], via=EdgeVia.PROBE, confidence=Confidence.HIGH,
                           evidence=(source,), detail=key[2], time=edge_time)
