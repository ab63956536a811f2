"""The proposal: the fewest, narrowest allowlist entries that cover every required host within a budget.

Suffix mode solves it exactly with a dynamic programme over the domain-label tree (docs/proposal-algorithm.md):
every required host (or the fixed domain of a pattern such as `*.data.mcr.microsoft.com`) must be
covered by an entry at its own node or an ancestor. An entry at a required node costs nothing; an entry at
any other node is a *collapse* and costs a breadth penalty that grows with how high in the tree it sits,
in three tiers: an ordinary domain; a multi-tenant or shared domain (`amazonaws.com`, `cloudfront.net`);
an ICANN public suffix (`com`). Each tier costs more than any combination of collapses of the tiers
below, so a public suffix is used only when nothing else fits the budget. The objective is
lexicographic: least penalty with at most `budget` entries, then fewest entries.

Exact mode cannot collapse: every required host is its own entry, and a wildcard requirement can only be
met by listing the concrete hosts observed for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from auditor.core.allowlist import AllowlistEntry, MatchMode, covers, is_ip
from auditor.core.gc_budget import few_collections
from auditor.core.model import Confidence
from auditor.decisions.requirements import RequiredHost, distinct_registries
from auditor.knowledge import CONFIDENCE_ORDER, Knowledge, pattern_anchor

DEFAULT_BUDGET = 100
# An entry can stand for tens of thousands of required hosts (a collapsed fleet domain): its rationale
# explains the first MAX_RATIONALE_HOSTS of them (in host order) and counts the rest; its sources and
# registries are samples too. The proposal's `required` list still names every host.
MAX_RATIONALE_HOSTS = 50
MAX_ENTRY_SOURCES = 50
MAX_ENTRY_REGISTRIES = 50
MAX_HOST_NOTES = 20  # per-host notes (unknown chain, not covered) in the proposal's notes; a last one counts the rest
DOCKER_HUB_FAMILY = frozenset({"docker.io", "Docker Hub"})  # registry name and knowledge-base profile name


@dataclass
class ProposedEntry:
    address: str
    covers: list[str]  # the required hosts (and patterns) this entry lets through
    rationale: list[str]
    collapsed: bool = False  # the entry is a parent domain standing in for several required hosts
    also_allows: str = ""
    multi_tenant_reason: str | None = None
    confidence: Confidence = Confidence.HIGH
    sources: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    registries: list[str] = field(default_factory=list)
    public_suffix: bool = False  # the entry is an ICANN public suffix (`com`): forced by the budget

    @property
    def reaches_below(self) -> bool:
        """Whether the entry stands for names below its own (not just itself): what a per-entry scope keeps."""
        return self.collapsed or any(c != self.address for c in self.covers)

    def allowlist_entry(self) -> AllowlistEntry:
        summary = f"{', '.join(self.roles)} for {', '.join(self.registries) or 'referenced hosts'}"
        if self.collapsed:
            summary += f"; collapsed from {len(self.covers)} hosts"
        if self.multi_tenant_reason:
            summary += "; PUBLIC SUFFIX" if self.public_suffix else "; MULTI-TENANT"
        return AllowlistEntry(self.address, self.address, rationale=summary)


@dataclass
class Uncovered:
    requirement: RequiredHost
    reason: str


@dataclass
class Proposal:
    entries: list[ProposedEntry]
    budget: int
    mode: MatchMode
    count_docker_hub_default: bool
    effective_budget: int
    over_budget: bool = False
    notes: list[str] = field(default_factory=list)
    uncovered: list[Uncovered] = field(default_factory=list)
    required: list[RequiredHost] = field(default_factory=list)
    penalty: int = 0

    @property
    def collapsed(self) -> list[ProposedEntry]:
        return [e for e in self.entries if e.collapsed]

    def allowlist_entries(self) -> list[AllowlistEntry]:
        return [e.allowlist_entry() for e in self.entries]

    def image_registries(self) -> list[str]:
        """Registries as images name them (`docker.io`, `ghcr.io`): what hadolint's trustedRegistries compares."""
        return sorted({name for required in self.required for name in required.image_registries})


# -- the label tree ----------------------------------------------------------------------------


# A leaf's children: most nodes are required hosts with none, and share this until their first child.
_NO_CHILDREN: tuple[str, ...] = ()


@dataclass(slots=True)  # one per label of the required names: 10^5 of them in a fleet
class _Node:
    name: str
    depth: int
    parent: str | None
    children: list[str] = _NO_CHILDREN  # type: ignore[assignment]  # a list from the first child on
    target: bool = False  # a required host, or the anchor domain of a required pattern
    penalty: int = 0


def _ancestors(name: str) -> list[str]:
    """NAME and all its parent domains up to the top-level label."""
    return [name, *_parents(name)]


def _parents(name: str) -> Iterator[str]:
    """NAME's parent domains, nearest first (none for an IP address): the text after each dot, the labels' joins
    without splitting, made only as far as a caller reads."""
    if is_ip(name):
        return
    dot = name.find(".")
    while dot >= 0:
        yield name[dot + 1:]
        dot = name.find(".", dot + 1)


def build_tree(targets: list[str], knowledge: Knowledge) -> tuple[dict[str, _Node], list[str]]:
    nodes: dict[str, _Node] = {}
    for target in sorted(set(targets)):
        name: str | None = target
        parents = _parents(target)
        while name is not None and name not in nodes:  # up to the first name in the tree: its parents are too
            parent = next(parents, None)
            nodes[name] = _Node(name, name.count(".") + 1, parent)
            name = parent
        nodes[target].target = True
    for node in nodes.values():
        if node.parent is not None:
            parent = nodes[node.parent]
            if parent.children:
                parent.children.append(node.name)
            else:
                parent.children = [node.name]
    for node in nodes.values():
        if node.children:
            node.children.sort()
    roots = sorted(n.name for n in nodes.values() if n.parent is None)
    _set_penalties(nodes, knowledge)
    return nodes, roots


def _set_penalties(nodes: dict[str, _Node], knowledge: Knowledge) -> None:
    """Breadth penalties: 0 at a target; B**(tier*(D+1) + level) for a collapse.

    tier is 0 for an ordinary domain, 1 for a multi-tenant domain or one containing a multi-tenant
    domain on the way to a target (`us-west-2.amazonaws.com` holds `s3.us-west-2.amazonaws.com`),
    2 for an ICANN public suffix (`com`). level = D - depth + 1 grows towards the root. B exceeds the
    number of nodes, so one collapse costs more than any set of collapses of a lower tier, or of the
    same tier below it: the penalty orders solutions by the broadest collapse they contain.
    """
    if not nodes:
        return
    base = len(nodes) + 1
    deepest = max(n.depth for n in nodes.values())
    shared = {name for name in nodes if not nodes[name].target and knowledge.is_multi_tenant(name)}
    for name in list(shared):  # every ancestor of a shared domain holds it too
        parent = nodes[name].parent
        while parent is not None:
            shared.add(parent)
            parent = nodes[parent].parent
    for node in nodes.values():
        if node.target:
            node.penalty = 0
            continue
        level = deepest - node.depth + 1
        tier = 2 if knowledge.is_public_suffix(node.name) else 1 if node.name in shared else 0
        node.penalty = base ** (tier * (deepest + 1) + level)


# -- the dynamic programme ---------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    cost: list[int]  # cost[k]: least penalty using exactly k entries in the subtree (the sentinel if none)
    entry_here: bool  # with k == 1, whether the single entry sits at this node
    splits: list[list[int]]  # splits[i][k]: entries given to child i when the first i+1 children use k


def _convolve(tables: list[list[int]], cap: int, impossible: int) -> tuple[list[int], list[list[int]]]:
    """Min-plus convolution of the children's tables, keeping the split for reconstruction."""
    total: list[int] = [0]
    splits: list[list[int]] = []
    shifted: list[int] = []  # the last target child's split, shared by the next ones when equal
    # True once TOTAL is CAP + 1 impossible costs: past CAP target children nothing changes any more (each
    # shifts one impossible cost in and one out, and splits nothing)
    saturated = False
    for table in tables:
        if len(table) == 2 and table[1] == 0 and table[0] >= impossible:
            # a target child ([impossible, 0]: exactly one entry, free) shifts the totals by one; what the general
            # loop below gives, without its pairs, and one split list for a run of siblings (10^5 ECR hosts
            # under one region domain would otherwise hold 10^5 lists of cap + 1 numbers)
            if saturated:
                splits.append(shifted)
                continue
            size = min(cap, len(total))
            choice = [0] + [1 if before < impossible else 0 for before in total[:size]]
            if choice != shifted:
                shifted = choice
            total = [impossible, *total[:size]]
            splits.append(shifted)
            saturated = size == cap and 1 not in choice
            continue
        saturated = False
        size = min(cap, len(total) - 1 + len(table) - 1)
        merged = [impossible] * (size + 1)
        choice = [0] * (size + 1)
        finite = [(own, cost) for own, cost in enumerate(table) if cost < impossible]  # by own, ascending
        for used, before in enumerate(total):
            if before >= impossible:
                continue
            room = size - used
            for own, cost in finite:
                if own > room:
                    break
                value = before + cost
                slot = used + own
                if value < merged[slot]:
                    merged[slot] = value
                    choice[slot] = own
        total = merged
        splits.append(choice)
    return total, splits


def solve(nodes: dict[str, _Node], roots: list[str], cap: int) -> tuple[int | None, list[str]]:
    """Least penalty and the chosen entry nodes covering every target with at most CAP entries.

    Returns (None, []) when no placement fits in CAP. Cost O(nodes * cap^2). Penalties are exact
    integers (they reach B**(3D)); floats would merge distinct costs.
    """
    impossible = sum(n.penalty for n in nodes.values()) + 1  # above any feasible total
    tables: dict[str, _Table] = {}
    by_depth: dict[int, list[str]] = {}  # children before parents, by name within a depth: no key per node
    for name, node in nodes.items():
        by_depth.setdefault(node.depth, []).append(name)
    # Every target's table: one entry, at the target, free. Shared (nothing changes a table once made): 10^5
    # required hosts held 10^5 equal tables at the DP's peak.
    target_table = _Table([impossible, 0], True, [])
    for name in (name for depth in sorted(by_depth, reverse=True) for name in sorted(by_depth.pop(depth))):
        node = nodes[name]
        if node.target:
            tables[name] = target_table
            continue
        merged, splits = _convolve([tables[c].cost for c in node.children], cap, impossible)
        entry_here = False
        if len(merged) < 2:
            merged = merged + [impossible] * (2 - len(merged))
        if node.penalty < merged[1]:
            merged[1] = node.penalty
            entry_here = True
        tables[name] = _Table(merged, entry_here, splits)
    total, splits = _convolve([tables[r].cost for r in roots], cap, impossible)
    best_k = min(range(len(total)), key=lambda k: (total[k], k))
    if total[best_k] >= impossible:
        return None, []
    chosen: list[str] = []
    _pick(roots, splits, best_k, tables, nodes, chosen)
    return total[best_k], sorted(chosen)


def _pick(children: list[str], splits: list[list[int]], k: int, tables: dict[str, _Table],
          nodes: dict[str, _Node], chosen: list[str]) -> None:
    for index in range(len(children) - 1, -1, -1):
        own = splits[index][k]
        _place(children[index], own, tables, nodes, chosen)
        k -= own


def _place(name: str, k: int, tables: dict[str, _Table], nodes: dict[str, _Node], chosen: list[str]) -> None:
    if k == 0:
        return
    table = tables[name]
    if nodes[name].target or (k == 1 and table.entry_here):
        chosen.append(name)
        return
    _pick(nodes[name].children, table.splits, k, tables, nodes, chosen)


def narrowest(targets: list[str]) -> list[str]:
    """Targets not covered by another target under suffix matching: the zero-penalty placement."""
    unique = set(targets)
    return sorted(t for t in unique if not any(a in unique for a in _parents(t)))


# -- the proposal ------------------------------------------------------------------------------


def _target_of(required: RequiredHost, knowledge: Knowledge, mode: MatchMode) -> tuple[str | None, str]:
    """The tree node that must be covered for REQUIRED, or None and the reason it cannot be."""
    if not required.wildcard:
        return required.host, ""
    anchor = pattern_anchor(required.host)
    if mode is MatchMode.EXACT:
        return None, (f"{required.host} is a pattern: exact matching can only list the concrete hosts "
                      "observed for it; capture traffic so they can be added")
    reason = knowledge.is_multi_tenant(anchor) if anchor else "no fixed domain"
    if not anchor or reason or knowledge.is_public_suffix(anchor):
        return None, (f"{required.host} varies in a label under {anchor or 'the root'}, and allowing "
                      f"{anchor or 'it'} would allow other tenants ({reason}); list the concrete hosts your "
                      "clients use (capture or DNS log) or mirror the images")
    return anchor, ""


@few_collections
def propose(required: list[RequiredHost], knowledge: Knowledge, budget: int = DEFAULT_BUDGET,
            mode: MatchMode = MatchMode.SUFFIX, count_docker_hub_default: bool = False) -> Proposal:
    effective = budget - (1 if count_docker_hub_default else 0)
    proposal = Proposal([], budget, mode, count_docker_hub_default, effective, required=list(required))
    index = {item.host: item for item in required}
    targets: dict[str, RequiredHost | list[RequiredHost]] = {}  # see _add_target
    for item in required:
        target, reason = _target_of(item, knowledge, mode)
        if target is None:
            proposal.uncovered.append(Uncovered(item, reason))
            continue
        _add_target(targets, target, item)
    if mode is MatchMode.EXACT:
        chosen = sorted(targets)
        proposal.over_budget = len(chosen) > effective
    else:
        chosen = narrowest(list(targets))
        if len(chosen) > effective:
            nodes, roots = build_tree(list(targets), knowledge)
            if len(roots) > effective:
                proposal.over_budget = True  # not even one entry per top-level domain fits
            else:
                penalty, chosen = solve(nodes, roots, effective)
                proposal.penalty = penalty or 0
    if mode is MatchMode.SUFFIX:
        # A collapse forced by the budget may happen to cover a pattern that could not be listed on its own.
        still = []
        for item in proposal.uncovered:
            anchor = pattern_anchor(item.requirement.host)
            if anchor and any(covers(address, anchor, mode) for address in chosen):
                _add_target(targets, anchor, item.requirement)
            else:
                still.append(item)
        proposal.uncovered = still
    covered_by: dict[str, list[str]] = {address: [] for address in chosen}
    for target in sorted(targets):
        # The narrowest chosen entry that covers the target: itself, or its nearest chosen ancestor.
        if target in covered_by or mode is MatchMode.EXACT:
            owner = target if target in covered_by else None
        else:
            owner = next((name for name in _parents(target) if name in covered_by), None)
        if owner is not None:
            covered_by[owner].append(target)
    for address in chosen:
        covered = covered_by[address]
        items = [item for t in covered for item in _target_items(targets[t])]
        proposal.entries.append(_entry(address, covered, items, knowledge, mode, address not in targets, index))
    _notes(proposal, knowledge, len(targets))
    return proposal


def _add_target(targets: dict[str, RequiredHost | list[RequiredHost]], target: str, item: RequiredHost) -> None:
    """ITEM among the required hosts TARGET stands for: held bare while it is the only one (nearly every
    target at 10^5 hosts, where a list each was 9 MB)."""
    held = targets.get(target)
    if held is None:
        targets[target] = item
    elif type(held) is list:
        held.append(item)
    else:
        targets[target] = [held, item]  # type: ignore[list-item]


def _target_items(held: RequiredHost | list[RequiredHost]) -> list[RequiredHost]:
    return held if type(held) is list else [held]  # type: ignore[list-item]


def _entry(address: str, covered: list[str], items: list[RequiredHost], knowledge: Knowledge, mode: MatchMode,
           collapsed: bool, index: dict[str, RequiredHost]) -> ProposedEntry:
    roles = sorted({role for item in items for role in item.roles})
    registries = sorted(distinct_registries({name for item in items for name in item.registries}))
    confidence = max((item.confidence for item in items), key=lambda c: CONFIDENCE_ORDER[c],
                     default=Confidence.UNCONFIRMED)
    sources = _first_distinct((source for item in items for source in item.sources), MAX_ENTRY_SOURCES)
    registries = registries[:MAX_ENTRY_REGISTRIES]
    explained = items[:MAX_RATIONALE_HOSTS]
    multi = knowledge.is_multi_tenant(address)
    if multi is None and mode is MatchMode.SUFFIX and collapsed:
        shared = [s for s in {knowledge.shared_suffix(c) for c in covered} if s and covers(address, s, mode)]
        if shared:
            multi = f"{address} contains the shared domain {sorted(shared)[0]}"
    rationale = rationale_lines(explained, index)
    if len(explained) < len(items):
        rationale.append(f"... and {len(items) - len(explained):,} more required hosts under {address} "
                         "(each listed in the proposal's required hosts)")
    return ProposedEntry(address, [item.host for item in items], rationale, collapsed,
                         _also_allows(address, covered, knowledge, mode, collapsed), multi, confidence,
                         sources, roles, registries, knowledge.is_public_suffix(address))


def _first_distinct(values: Iterable[str], limit: int) -> list[str]:
    kept: dict[str, None] = {}
    for value in values:
        kept[value] = None
        if len(kept) >= limit:
            break
    return list(kept)


def rationale_lines(items: list[RequiredHost], index: dict[str, RequiredHost] | None = None) -> list[str]:
    """Why each of ITEMS is needed: its needs (file:line), chains (with what needs the chain's start), facts."""
    index = index or {}
    lines = []
    for item in items:
        head = f"{item.host} [{', '.join(sorted(item.roles))}] ({item.confidence.value})"
        needs = [need.describe() for need in item.needed_by[:5]]
        total = max(item.need_count, len(item.needed_by))
        more = f" and {total - 5} more" if total > 5 else ""
        lines.append(f"{head}: needed by {'; '.join(needs)}{more}")
        for chain in item.chains[:3]:
            root = index.get(chain[0])
            why = ""
            if root is not None and root is not item:
                root_needs = [n.describe() for n in root.needed_by if n.kind != "edge"][:3]
                why = f" ({chain[0]} is needed by {'; '.join(root_needs)})" if root_needs else ""
            lines.append(f"  chain: {' -> '.join(chain)}{why}")
        for known in item.knowledge:
            lines.append(f"  knowledge: {known.profile} {known.host_or_pattern} ({known.role}) — {known.citation}")
        if item.cname_targets:
            lines.append(f"  CNAME to {', '.join(item.cname_targets)} (not needed: the filter sees the asked name)")
        for note in item.notes:
            if note.startswith("may also need"):
                lines.append(f"  {note}")
    return lines


def _also_allows(address: str, covered: list[str], knowledge: Knowledge, mode: MatchMode, collapsed: bool) -> str:
    if mode is MatchMode.EXACT:
        return "nothing else (exact match)"
    known_others = sorted({h for h in knowledge.well_known_registry_hosts()
                           if covers(address, h, mode) and h not in covered})
    text = f"every other name under {address}" if collapsed else f"any subdomain of {address}"
    if known_others:
        text += f", e.g. {', '.join(known_others[:5])}"
    return text


def _notes(proposal: Proposal, knowledge: Knowledge, target_count: int) -> None:
    notes = proposal.notes
    if proposal.count_docker_hub_default:
        notes.append(f"RAM's built-in Docker Hub entry is counted toward the limit: {proposal.effective_budget} "
                     f"of {proposal.budget} entries are left for this proposal.")
    else:
        notes.append("RAM's built-in Docker Hub entry is assumed not to count toward the limit (undocumented); "
                     "use --count-docker-hub-default if you want the safe assumption.")
    if proposal.over_budget:
        if proposal.mode is MatchMode.EXACT:
            notes.append(f"OVER BUDGET: {len(proposal.entries)} exact entries exceed {proposal.effective_budget}; "
                         "exact matching cannot collapse: use suffix matching, mirror images, or drop registries.")
        else:
            notes.append(f"OVER BUDGET: even one entry per top-level domain exceeds {proposal.effective_budget}; "
                         "the narrowest entries are listed: mirror images or drop registries to fit.")
    hub_only = [e.address for e in proposal.entries if e.registries and set(e.registries) <= DOCKER_HUB_FAMILY]
    if hub_only:
        notes.append(f"{', '.join(hub_only)} serve Docker Hub only. RAM's built-in Docker Hub entry allows Hub "
                     "pulls, but which hosts it lets through is not documented: keep them listed (a proxy or "
                     "firewall needs them in any case).")
    collapsed = proposal.collapsed
    if collapsed:
        notes.append(f"{len(collapsed)} entr{'y' if len(collapsed) == 1 else 'ies'} collapsed to fit "
                     f"{target_count} required names into {proposal.effective_budget}: "
                     + "; ".join(f"{e.address} covers {len(e.covers)} and allows {e.also_allows}" for e in collapsed))
    for entry in proposal.entries:
        if entry.multi_tenant_reason:
            forced = "forced by the budget" if entry.collapsed else "required as such"
            kind = "PUBLIC SUFFIX" if entry.public_suffix else "MULTI-TENANT"
            notes.append(f"{kind} entry {entry.address} ({forced}): {entry.multi_tenant_reason}.")
    for item in proposal.uncovered[:MAX_HOST_NOTES]:
        notes.append(f"NOT COVERED: {item.reason}.")
    if len(proposal.uncovered) > MAX_HOST_NOTES:
        notes.append(f"NOT COVERED: {len(proposal.uncovered) - MAX_HOST_NOTES:,} more patterns (see uncovered).")
    unknown = [item for item in proposal.required if item.unknown_chain]
    for item in unknown[:MAX_HOST_NOTES]:
        notes.append(f"UNKNOWN CHAIN for {item.host}: " + (item.notes[0] if item.notes else
                     "its redirect hosts are unknown. Trace or observe a pull.")
                     + " (`regaudit trace IMAGE`, or a capture of a pull, shows the hosts to add.)")
    if len(unknown) > MAX_HOST_NOTES:
        notes.append(f"UNKNOWN CHAIN for {len(unknown) - MAX_HOST_NOTES:,} more hosts (the required hosts marked "
                     "unknown_chain): their redirect hosts are unknown. Trace or observe a pull.")
