"""The recommendation: what to do with each allowlist entry, decided once.

The findings' actions (auditor/decisions/actions.py) and the proposal's difference in every report are both
read from this one decision, so they cannot disagree: an entry is added, removed or kept here, and a finding
that talks about the entry says the same.

Docker Hub is one decision too. RAM shows Docker Hub as one built-in entry, `docker.io`, a switch for all of
Hub's hosts; proxies and firewalls know no such switch and need Hub's hosts listed. So while the evidence
pulls from Docker Hub, a Hub entry of the current allowlist is kept (the switch stays on) and the Hub hosts
the proposal lists are kept or added beside it; when nothing pulls from Hub, the switch is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.core.allowlist import DOCKER_HUB_NAMES, Allowlist, MatchMode, covers
from auditor.decisions.propose import Proposal, ProposedEntry
from auditor.decisions.requirements import RequiredHost

HUB_PROFILES = frozenset({"docker-hub", "docker_hub", "dockerhub", "Docker Hub"})
_HUB_REGISTRIES = frozenset({"docker.io", "Docker Hub"})  # a proposed entry's registries, as propose.py names them


class Op(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Change:
    address: str
    op: Op
    reason: str


@dataclass
class Recommendation:
    changes: dict[str, Change] = field(default_factory=dict)  # by address: current entries, then additions
    docker_hub_needed: bool = False
    withheld: dict[str, str] = field(default_factory=dict)  # proposed addresses never to allow -> why
    # entry_for's host -> entry index, for the proposal it was built from (changes are final once recommend returns)
    fix_index: tuple[Proposal, dict[str, str]] | None = field(default=None, compare=False, repr=False)

    def op(self, address: str) -> Op | None:
        change = self.changes.get(address)
        return change.op if change else None

    def addresses(self, op: Op) -> list[str]:
        return sorted(a for a, c in self.changes.items() if c.op is op)


def serves_docker_hub(req: RequiredHost) -> bool:
    """Whether REQ serves Docker Hub pulls only: RAM's Docker Hub switch is what allows those."""
    if req.host in DOCKER_HUB_NAMES:
        return True
    profiles = {k.profile for k in req.knowledge}
    starts = req.chain_starts or {chain[0] for chain in req.chains}  # every chain's start, not the sample's
    return (bool(starts) and starts <= DOCKER_HUB_NAMES) or \
        (bool(profiles) and profiles <= HUB_PROFILES)


def recommend(allowlist: Allowlist, proposal: Proposal, mode: MatchMode,
              never_allow: dict[str, str] | None = None, hub_switch: bool = True) -> Recommendation:
    """Add, remove or keep for every current and proposed entry.

    NEVER_ALLOW maps hosts the audit found to imitate a registry to that registry: they are neither kept nor
    added, even when a reference that names them made the proposal list them. HUB_SWITCH: the enforcement point
    has RAM's Docker Hub switch; elsewhere (Squid, DNS ...) `docker.io` is one name like any other.
    """
    never_allow = dict(never_allow or {})
    proposed = {entry.address: entry for entry in proposal.entries}
    hub_needed = hub_switch and any(serves_docker_hub(r) for r in proposal.required)
    rec = Recommendation(docker_hub_needed=hub_needed)
    for entry in allowlist:
        address = entry.address
        if address in rec.changes:
            continue
        if address in never_allow:
            rec.changes[address] = Change(address, Op.REMOVE, f"imitates {never_allow[address]}")
        elif address in proposed:
            rec.changes[address] = Change(address, Op.KEEP, _why_listed(proposed[address]))
        elif address in DOCKER_HUB_NAMES and hub_needed:
            rec.changes[address] = Change(address, Op.KEEP, "RAM's built-in Docker Hub entry: the evidence pulls "
                                                            "from Docker Hub")
        else:
            rec.changes[address] = Change(address, Op.REMOVE, _why_removed(address, proposal, mode))
    switch_on = hub_switch and any(rec.op(a) is Op.KEEP for a in DOCKER_HUB_NAMES)
    for address, entry in sorted(proposed.items()):
        if address in rec.changes:
            continue
        if address in never_allow:
            rec.withheld[address] = f"imitates {never_allow[address]}: fix the reference instead"
            continue
        reason = _why_listed(entry)
        if switch_on and entry.registries and set(entry.registries) <= _HUB_REGISTRIES:
            reason += "; RAM's built-in Docker Hub entry already allows it, proxies and firewalls need it listed"
        rec.changes[address] = Change(address, Op.ADD, reason)
    return rec


def _why_listed(entry: ProposedEntry) -> str:
    roles = "/".join(entry.roles) or "registry"
    registries = ", ".join(entry.registries[:3])
    covered = [c for c in entry.covers if c != entry.address]
    text = f"{roles} host of {registries}" if registries else f"{roles} host"
    if covered:
        text += f"; covers {len(covered)} more host{'s' if len(covered) != 1 else ''}"
    return text


def _why_removed(address: str, proposal: Proposal, mode: MatchMode) -> str:
    narrower = [e.address for e in proposal.entries if e.address != address and covers(address, e.address, mode)]
    if narrower:
        return f"replaced by {len(narrower)} narrower entr{'y' if len(narrower) == 1 else 'ies'}"
    return "nothing in the evidence needs it"


def narrower_entries(address: str, rec: Recommendation, mode: MatchMode) -> list[str]:
    """The added or kept entries that ADDRESS covers: what replaces it when it goes."""
    return sorted(a for a, c in rec.changes.items()
                  if a != address and c.op is not Op.REMOVE and covers(address, a, mode))


def entry_for(host: str, proposal: Proposal, rec: Recommendation) -> str | None:
    """The added or kept entry of the recommendation that covers HOST, as the proposal decided it (the first
    such entry in the proposal's order)."""
    if rec.fix_index is None or rec.fix_index[0] is not proposal:  # built once per proposal: one look-up per host after
        index: dict[str, str] = {}
        for entry in proposal.entries:
            if rec.op(entry.address) in (Op.ADD, Op.KEEP):
                for covered in entry.covers:
                    index.setdefault(covered, entry.address)
        rec.fix_index = (proposal, index)
    return rec.fix_index[1].get(host)


def mentioned(addresses: Iterable[str]) -> str:
    items = [f"`{a}`" for a in addresses]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"
