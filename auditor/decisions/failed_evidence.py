"""Evidence that failed is not a need.

A host whose only evidence is a probe that could not reach it or DNS answers saying it does not exist
(NXDOMAIN) names nothing a pull can use: allowing it would let through a name that does not serve images
(or that someone may register later). Such a host leaves the requirements and is reported as a note.
"""

from __future__ import annotations

from auditor.core.evidence import EvidenceStore
from auditor.core.model import ObservationKind
from auditor.decisions.requirements import RequiredHost

FAILED_RCODES = frozenset({"NXDOMAIN", "error"})  # DNS name does not exist; probe hop without any response
_FAILED_ONLY_KINDS = frozenset({ObservationKind.DNS_QUERY.value, ObservationKind.DNS_ANSWER.value,
                                ObservationKind.PROBE_HOP.value})


def failed_only(req: RequiredHost, store: EvidenceStore) -> bool:
    """Whether every reason REQ is required is a trace of it that failed, with failed answers only."""
    if not req.needed_by or req.chains or req.knowledge:
        return False
    if any(not (need.kind == "image" and need.context == "trace") and need.kind != "observation"
           for need in req.needed_by):
        return False  # a Dockerfile, manifest or CI file names it: a real need, even if the lookup failed
    activity = store.activity.get(req.host)
    if activity is None or not activity.kinds:
        return False
    if any(str(kind) not in _FAILED_ONLY_KINDS for kind in activity.kinds):
        return False  # a TLS handshake or an HTTP request reached it
    rcodes = activity.rcodes
    return bool(rcodes) and set(rcodes) <= FAILED_RCODES


def split_failed(required: list[RequiredHost], store: EvidenceStore) -> tuple[list[RequiredHost], list[str]]:
    """(the requirements that stand, one note per host dropped because its evidence only shows failure)."""
    kept, notes = [], []
    for req in required:
        if failed_only(req, store):
            rcodes = store.activity[req.host].rcodes
            seen = ", ".join(f"{count} {'failed probe' if code == 'error' else code} "
                             f"answer{'s' if count != 1 else ''}".replace("failed probe answer", "failed probe")
                             for code, count in sorted(rcodes.items()))
            notes.append(f"{req.host} is not proposed: its only evidence failed ({seen}); a name that does "
                         "not resolve serves no pulls. Fix its DNS and trace it again if the registry should exist.")
        else:
            kept.append(req)
    return kept, notes
