"""Findings' actions, phrased from the recommendation (auditor/decisions/recommend.py).

The checks in audit.py decide what is wrong; what to do about an allowlist entry is the recommendation's to
say. Each finding that touches entries gets its action rewritten from the recommendation and lists the
changes it asks for in `data["changes"]` ({"op", "address"}), so the difference every report shows and the
findings' actions come from the same decision. The Docker Hub switch and registry mirrors are explained
here the same way for every finding that touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from auditor.core.allowlist import DOCKER_HUB_NAMES, MatchMode
from auditor.core.model import HostPurpose
from auditor.decisions.propose import Proposal
from auditor.decisions.recommend import Op, Recommendation, entry_for, mentioned, narrower_entries

if TYPE_CHECKING:
    from auditor.core.evidence import EvidenceStore


class Finding(Protocol):
    """What this module reads and rewrites of auditor.decisions.audit.Finding (which imports this module)."""

    kind: Any
    entries: tuple[str, ...]
    hosts: tuple[str, ...]
    data: dict[str, Any]
    action: str
    detail: str

HUB_SWITCH = ("RAM's built-in Docker Hub entry (`docker.io`, one switch) allows all of Hub's hosts; proxies and "
              "firewalls need the Hub hosts listed")


def mirrors(store: EvidenceStore) -> list[str]:
    """Registry mirrors the machine inputs configure (daemon.json `registry-mirrors`)."""
    return sorted({r.host for r in store.host_references if r.purpose is HostPurpose.MIRROR})


def mirror_note(mirror_hosts: list[str]) -> str:
    """What a Docker Hub mirror changes and what it does not, as RAM documents it."""
    return (f"daemon.json sets the registry mirror {mentioned(mirror_hosts)}: Docker Engine tries it first for "
            "Docker Hub images, so the mirror host is required as well. The mirror changes nothing for RAM: RAM "
            "filters by the image's registry, and a blocked Docker Hub also blocks Hub images pulled through a "
            "mirror; images of other registries never use it.")


def align_actions(findings: list[Finding], rec: Recommendation, proposal: Proposal, mode: MatchMode,
                  store: EvidenceStore, written: Callable[[str], str] | None = None) -> None:
    """Every finding's action from REC. WRITTEN: how the enforcement point writes a proposed address (Squid's
    `.quay.io` for an entry that covers the names below it); None on RAM, where an address is its entry."""
    hub_mirrors = mirrors(store)
    for finding in findings:
        kind = finding.kind.value
        handler = _HANDLERS.get(kind)
        if handler is not None:
            finding.data["changes"] = []
            handler(finding, rec, proposal, mode)
            if kind == "missing" and written is not None:
                _write_natively(finding, proposal, rec, written)
        if hub_mirrors and (_touches_docker_hub(finding) or set(finding.hosts) & set(hub_mirrors)):
            finding.detail = f"{finding.detail} {mirror_note(hub_mirrors)}"
            finding.data["mirrors"] = hub_mirrors


def _touches_docker_hub(finding: Finding) -> bool:
    if finding.kind.value == "image-access":
        return True
    if finding.kind.value == "missing":
        return "Docker Hub" in finding.data.get("registries", ()) or "docker.io" in finding.data.get("registries", ())
    return any(e in DOCKER_HUB_NAMES for e in finding.entries)


def _set(finding: Finding, action: str, changes: list[tuple[Op, str]]) -> None:
    finding.action = action
    finding.data["changes"] = [{"op": op.value, "address": address} for op, address in changes]


def _missing(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    withheld = [h for h in finding.hosts if h in rec.withheld]
    if withheld:
        _set(finding, f"Do not add {mentioned(withheld)}: {rec.withheld[withheld[0]]}.", [])
        return
    fixes = sorted({fix for host in finding.hosts if (fix := entry_for(host, proposal, rec)) is not None
                    and rec.op(fix) is Op.ADD})
    if not fixes:
        finding.data["changes"] = []
        return  # not coverable: the check's own text says why (a per-client pattern, a shared domain)
    hosts = len(finding.hosts)
    also = f": one entry covers all {hosts} hosts" if len(fixes) == 1 and hosts > 1 else ""
    _set(finding, f"Add {mentioned(fixes)} to the allowlist{also}.", [(Op.ADD, fix) for fix in fixes])


def _write_natively(finding: Finding, proposal: Proposal, rec: Recommendation, written: Callable[[str], str]) -> None:
    """A missing finding's entries as the target writes them. An entry that stays (the same address) but is
    written too narrowly to allow the missing hosts (Squid's `quay.io` for `cdn01.quay.io`) is rewritten."""
    for change in finding.data["changes"]:
        if change["op"] == "add":
            finding.action = finding.action.replace(f"`{change['address']}`", f"`{written(change['address'])}`")
    if finding.data["changes"]:
        return
    kept = sorted({fix for host in finding.hosts if (fix := entry_for(host, proposal, rec)) is not None
                   and rec.op(fix) is Op.KEEP})
    if kept:
        _set(finding, "Keep " + " and ".join(f"`{k}` but write it `{written(k)}`" for k in kept)
             + ": written as it is, it does not allow these hosts.", [(Op.KEEP, k) for k in kept])


def _unused(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    address = finding.entries[0]
    if rec.op(address) is Op.KEEP:
        _set(finding, f"Keep `{address}`: {rec.changes[address].reason}.", [(Op.KEEP, address)])
        return
    _set(finding, f"Remove `{address}` unless a use outside these inputs needs it.", [(Op.REMOVE, address)])


def _redundant(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    entry, cover = finding.entries[0], finding.entries[1]
    entry_op, cover_op = rec.op(entry) or Op.KEEP, rec.op(cover) or Op.KEEP
    changes = [(entry_op, entry), (cover_op, cover)]
    if entry_op is Op.REMOVE and cover_op is Op.KEEP:
        text = f"Remove `{entry}`: `{cover}` already allows it."
    elif entry_op is Op.KEEP and cover_op is Op.REMOVE:
        text = f"Keep `{entry}` and remove `{cover}`: the proposal lists the narrower entry."
    elif entry_op is Op.REMOVE and cover_op is Op.REMOVE:
        text = f"Remove both `{entry}` and `{cover}`: the proposal needs neither as written."
    elif cover in DOCKER_HUB_NAMES:
        text = f"Keep both: {HUB_SWITCH}, and the proposal lists `{entry}`."
    else:
        text = f"Keep both `{entry}` and `{cover}`: the proposal lists each (no change)."
    _set(finding, text, changes)


def _over_broad(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    address = finding.entries[0]
    if rec.op(address) is Op.KEEP:
        _set(finding, f"Keep `{address}` for now: the proposal itself needs it ({rec.changes[address].reason}); "
                      "mirror the images or narrow the inputs to drop it.", [(Op.KEEP, address)])
        return
    narrower = narrower_entries(address, rec, mode)
    if not narrower:
        _set(finding, f"Remove `{address}`: nothing in the evidence needs it.", [(Op.REMOVE, address)])
        return
    changes = [(Op.REMOVE, address)] + [(rec.op(n) or Op.ADD, n) for n in narrower]
    _set(finding, f"Replace `{address}` with {mentioned(narrower)}.", changes)
    finding.data["narrower"] = narrower


def _lookalike(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    imitates = finding.data.get("imitates", "")
    if finding.entries:
        address = finding.entries[0]
        _set(finding, f"Correct the reference to `{imitates}` and remove `{address}` from the allowlist; never "
                      "allow the lookalike.", [(Op.REMOVE, address)])
    else:
        _set(finding, f"Correct the reference to `{imitates}`; never allow the lookalike.", [])


def _blocked(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    host = finding.hosts[0]
    classification = finding.data.get("classification")
    if classification not in ("missing-domain-mapping", "unapproved-registry"):
        finding.data["changes"] = []
        return
    fix = entry_for(host, proposal, rec)
    if fix is not None and rec.op(fix) is Op.ADD:
        why = "the approved registry needs it" if classification == "missing-domain-mapping" else \
            "the evidence's images need it"
        _set(finding, f"Add `{fix}` to the allowlist: {why}.", [(Op.ADD, fix)])
    elif fix is not None:
        _set(finding, f"Nothing to add: `{fix}` stays in the allowlist and covers it; the block predates it.",
             [(Op.KEEP, fix)])
    else:
        finding.data["changes"] = []


def _duplicate(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    """An entry listed twice (the allowlist reader's `duplicate` finding): one copy goes, the entry's fate is
    the recommendation's like any other's."""
    if not finding.entries:
        return
    address = finding.entries[0]
    if rec.op(address) is Op.REMOVE:
        _set(finding, f"Remove `{address}` (every copy): {rec.changes[address].reason}.", [(Op.REMOVE, address)])
    else:
        _set(finding, f"Keep `{address}` once and delete its repeated lines.", [(Op.KEEP, address)])


def _network_entry(finding: Finding, rec: Recommendation, proposal: Proposal, mode: MatchMode) -> None:
    """A CIDR block or address range: RAM matches host names, so it allows nothing and the recommendation drops
    it; the finding says so in the same words as the difference."""
    if not finding.entries:
        return
    address = finding.entries[0]
    if rec.op(address) is Op.REMOVE:
        _set(finding, f"Remove `{address}`: an address range allows no host name; list the registry's host names "
                      "instead.", [(Op.REMOVE, address)])
    else:
        _set(finding, f"Keep `{address}` where another enforcement point reads it; under RAM it allows nothing.",
             [(Op.KEEP, address)])


_HANDLERS: dict[str, Any] = {
    "duplicate": _duplicate,
    "network-entry": _network_entry,
    "missing": _missing,
    "unused": _unused,
    "redundant": _redundant,
    "over-broad": _over_broad,
    "lookalike": _lookalike,
    "blocked-pattern": _blocked,
}
