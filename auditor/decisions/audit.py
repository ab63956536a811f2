"""Findings: what is wrong with an existing allowlist, judged against the evidence.

Each finding names its kind, severity, the allowlist entries and hosts involved, the evidence (with the
Sources it rests on) and the action that fixes it. Findings are sorted and keyed deterministically so two
audits can be compared (`regaudit diff`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from auditor.core.allowlist import (
    DOCKER_HUB_NAMES,
    Allowlist,
    AllowlistEntry,
    EntryIndex,
    EntryKind,
    MatchMode,
)
from auditor.core.evidence import BlockedGroup, EvidenceStore
from auditor.core.gc_budget import few_collections
from auditor.core.model import BlockReason, Source
from auditor.core.words import plural
from auditor.decisions.actions import align_actions
from auditor.decisions.admission import admission_problems, admission_recommendation
from auditor.decisions.desktop import MachineFinding, review_machines
from auditor.decisions.enforcement import Signal, scan_store_inputs
from auditor.decisions.lookalike import Lookalike, find_lookalike
from auditor.decisions.propose import Proposal
from auditor.decisions.recommend import Recommendation, recommend
from auditor.decisions.recommend import serves_docker_hub as _docker_hub_host
from auditor.decisions.requirements import Need, RequiredHost
from auditor.knowledge import Knowledge
from auditor.targets import DEFAULT_TARGET, target_named
from auditor.targets.base import Rule, Scope, Target, subsumes

if TYPE_CHECKING:
    from auditor.decisions.analysis import Analysis

AUDIT_SCHEMA_ID = "regaudit/audit"  # the JSON audit document (reports/json_report.py), read back by diff
DOCKER_HUB_REGISTRY = "docker.io"
RETRY_STORM_ATTEMPTS = 10  # this many attempts within RETRY_STORM_SECONDS is a loop, not people
RETRY_STORM_SECONDS = 600


class FindingKind(StrEnum):
    MISSING = "missing"
    UNUSED = "unused"
    REDUNDANT = "redundant"
    OVER_BROAD = "over-broad"
    OVER_LIMIT = "over-limit"
    BLOCKED_PATTERN = "blocked-pattern"
    LOOKALIKE = "lookalike"
    IMAGE_ACCESS = "image-access"
    NOT_ENFORCED = "not-enforced"
    SIGN_IN = "sign-in"  # Docker Desktop machine bundles (auditor/decisions/desktop.py)
    BYPASS = "bypass"
    EXPIRED_IGNORE = "expired-ignore"  # an ignore rule of the config file past its expiry date
    NETWORK_ENTRY = "network-entry"  # a CIDR block or address range: RAM matches host names, it allows nothing
    DUPLICATE = "duplicate"  # the same address listed twice


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
KIND_ORDER = {kind: index for index, kind in enumerate(FindingKind)}


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One claim a finding rests on, with the places in the inputs that show it."""

    text: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Acceptance:
    """Why a finding does not fail the run: an ignore rule (its FILE:LINE) or the baseline (its file)."""

    reason: str
    by: str
    expires: str | None = None  # ISO date

    def to_dict(self) -> dict[str, str | None]:
        return {"reason": self.reason, "by": self.by, "expires": self.expires}


@dataclass
class Finding:
    kind: FindingKind
    severity: Severity
    title: str
    detail: str
    action: str
    entries: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # kind-specific, JSON-safe
    id: str = ""  # F001 ..., assigned once the findings are sorted
    accepted: Acceptance | None = None  # stays in every report; only stops counting toward --fail-on

    @property
    def key(self) -> str:
        """Stable across runs: the same problem gets the same key whatever else changed."""
        return f"{self.kind.value}|{','.join(self.entries)}|{','.join(self.hosts)}"


@dataclass(frozen=True)
class AuditOptions:
    mode: MatchMode = MatchMode.SUFFIX
    budget: int = 100
    count_docker_hub_default: bool = False
    orgs: tuple[str, ...] = ()
    target: str = DEFAULT_TARGET  # the enforcement point whose semantics the allowlist is read with

    def enforcement(self) -> Target:
        return target_named(self.target, self.mode)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _strings(values: Iterable[object] | None) -> list[str]:
    return sorted({str(v) for v in values or ()})


def _sources(values: Iterable[object] | None) -> tuple[Source, ...]:
    found = [v for v in values or () if isinstance(v, Source)]
    return tuple(sorted(set(found), key=lambda s: (s.path, s.line or 0, s.packet or 0)))


def _time_window(store: EvidenceStore) -> str:
    first, last = store.time_window()
    if first is None:
        return "the inputs hold no timestamps (repository files only)"
    return f"{_iso(first)} to {_iso(last)}"


# -- the audit --------------------------------------------------------------------------------------


@few_collections
def audit(analysis: Analysis, allowlist: Allowlist, options: AuditOptions) -> list[Finding]:
    """Every finding for ALLOWLIST against the evidence and requirements in ANALYSIS."""
    store: EvidenceStore = analysis.store
    knowledge = analysis.knowledge
    required = list(analysis.required)
    target = options.enforcement()
    findings: list[Finding] = []
    if target.matches_images:
        findings += [Finding(FindingKind(p.kind), Severity(p.severity), p.title, p.detail, p.action, p.entries,
                             p.hosts, tuple(EvidenceItem(text, sources) for text, sources in p.evidence), p.data)
                     for p in admission_problems(store, allowlist, target)]
    else:
        findings += _missing(required, allowlist, options, store, analysis.proposal)
        findings += _unused(required, allowlist, options, store)
        findings += _redundant(allowlist, options)
        findings += _network_entries(allowlist, target)
        findings += _duplicates(allowlist)
        findings += _over_broad(allowlist, options, knowledge, analysis.proposal, required)
        findings += _over_limit(allowlist, options)
    targets = _lookalike_targets(knowledge, allowlist)
    findings += _blocked_patterns(store, allowlist, options, required, knowledge, targets)
    findings += _lookalikes(store, allowlist, targets, knowledge)
    findings += _image_access(store, options)
    if target.hub_switch:  # RAM's own gaps (buildx drivers, Windows containers, Docker Debug) and machines
        findings += _not_enforced(scan_store_inputs(store))
        machines = review_machines(store, allowlist, options.mode, knowledge)  # Docker Desktop machine bundles
        findings += [_machine_finding(m) for m in machines.findings]
        analysis.fleet = machines.fleet
    for finding in findings:
        finding.data["target"] = target.name  # the semantics under which the finding holds
    if target.matches_images:  # prefixes, not hosts: the admission findings are the decision
        analysis.recommendation = admission_recommendation(findings, allowlist)
        return number_findings(findings)
    analysis.recommendation = recommendation(analysis, allowlist, options, findings)
    # the recommendation speaks in host names; a target other than RAM writes them its own way (`.quay.io`)
    written = None if target.hub_switch else (lambda address: _fix_text(address, analysis.proposal, target))
    align_actions(findings, analysis.recommendation, analysis.proposal, options.mode, store, written)
    return number_findings(findings)


# The action of a finding about allowlist entries is the recommendation's to word (actions.align_actions): the
# checks leave it empty rather than write a text that would be replaced, or contradict the difference.
PHRASED_BY_RECOMMENDATION = ""


def number_findings(findings: list[Finding]) -> list[Finding]:
    """FINDINGS in report order (severity, kind, key), numbered F001 ..."""
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], KIND_ORDER[f.kind], f.key))
    for number, finding in enumerate(findings, 1):
        finding.id = f"F{number:03d}"
    return findings


def recommendation(analysis: Analysis, allowlist: Allowlist, options: AuditOptions, findings: list[Finding]
                   ) -> Recommendation:
    """The one decision both the findings' actions and the reports' difference are read from."""
    never_allow = {f.hosts[0]: f.data["imitates"] for f in findings if f.kind is FindingKind.LOOKALIKE}
    return recommend(allowlist, analysis.proposal, options.mode, never_allow, options.enforcement().hub_switch)


def _role_words(req: RequiredHost) -> list[str]:
    return sorted(req.roles) or ["api"]


def _article(roles: Sequence[str]) -> str:
    return "an" if roles and roles[0][:1] in "aeiou" else "a"


def _is_registry_role(roles: Sequence[str]) -> bool:
    return "api" in roles or "registry" in roles


def _images_needing(req: RequiredHost, index: dict[str, RequiredHost]) -> list[Need]:
    """The needs (images, host references) behind REQ: its own, and those of each chain's first host."""
    needs = [n for n in req.needed_by if n.kind != "edge"]
    for chain in req.chains:
        root = index.get(chain[0])
        if root is not None and root is not req:
            needs += [n for n in root.needed_by if n.kind != "edge"]
    if len(needs) < 2:
        return needs  # most hosts: one image or observation, nothing to order
    unique: dict[str, Need] = {}
    for need in needs:
        unique.setdefault(need.describe(), need)
    return [unique[k] for k in sorted(unique)]


def _proposed_fixes(proposal: Proposal | None) -> dict[str, tuple[str | None, str | None]]:
    """Per required host, the proposal's entry that covers it, or the proposal's reason it could not
    (the first entry or reason wins, as a scan of the entries in order would find it)."""
    fixes: dict[str, tuple[str | None, str | None]] = {}
    if proposal is None:
        return fixes
    for entry in proposal.entries:
        for host in entry.covers:
            fixes.setdefault(host, (entry.address, None))
    for uncovered in proposal.uncovered:
        fixes.setdefault(uncovered.requirement.host, (None, uncovered.reason))
    return fixes


def _missing(required: list[RequiredHost], allowlist: Allowlist, options: AuditOptions, store: EvidenceStore,
             proposal: Proposal | None = None) -> list[Finding]:
    findings = []
    target = options.enforcement()
    hub_listed = target.hub_allows(allowlist)
    index = {r.host: r for r in required}
    fixes = _proposed_fixes(proposal)
    missing: list[tuple[RequiredHost, bool]] = []  # (required host, whether RAM's Docker Hub switch covers it)
    for req in sorted(required, key=lambda r: r.host):
        if target.match(allowlist, req.host) is not None:
            continue
        hub = bool(target.hub_switch and _docker_hub_host(req))
        if not (hub_listed and hub):  # RAM's Docker Hub entry is one switch for all of Hub's hosts
            missing.append((req, hub))
    # Hosts one proposed entry fixes become one finding: each host's finding is folded into its group as it is
    # made, not held (50,000 of them at 10^5 hosts) until all are made.
    group_sizes = Counter(fixes[r.host][0] for r, _hub in missing if r.host in fixes and fixes[r.host][0])
    groups: dict[str, _FixGroup] = {}
    for req, hub in missing:
        host = req.host
        roles = _role_words(req)
        registries = sorted(req.registries)
        needs = _images_needing(req, index)
        chains = [" → ".join(chain) for chain in req.chains]
        registry_host = _is_registry_role(roles)
        what = "the registry itself" if registry_host else \
            f"{_article(roles)} {'/'.join(roles)} host of {', '.join(registries) or 'a registry'}"
        wildcard = req.wildcard or "*" in host
        fix, not_coverable = fixes.get(host, (None, None))
        images = [n.text for n in needs if n.kind == "image"]
        locations = sorted({str(n.source) for n in needs if n.source is not None})
        severity = Severity.WARNING if hub else Severity.ERROR
        if fix and group_sizes[fix] > 1:  # only what the grouped finding says of its members is made
            group = groups.get(fix)
            if group is None:
                group = groups[fix] = _FixGroup()
            evidence = _missing_evidence(req, what, needs, chains, store) if group.takes_evidence() else []
            group.add(host, severity, evidence, {
                "roles": roles, "registries": registries, "images": images[:50], "chains": chains,
                "locations": locations[:50], "notes": req.notes[:5], "registry_host": registry_host,
                "wildcard": wildcard})
            continue
        hub_note = " (allowed only while RAM's built-in Docker Hub entry stays on)" if hub else ""
        if fix is not None:
            action = PHRASED_BY_RECOMMENDATION
        elif not_coverable:
            action = not_coverable.rstrip(".") + "."
        elif wildcard:
            action = f"`{host}` varies per client: add the concrete hosts your clients use (see a capture or DNS log)."
        else:
            action = f"Add `{host}` to the allowlist."
        findings.append(Finding(
            FindingKind.MISSING, severity,
            f"{host} is not allowed" + ("" if registry_host else f" ({'/'.join(roles)} host)"),
            f"Pulls that need {host} ({what}) will fail{hub_note}."
            + (f" Needed by {plural(len(images), 'image reference')} at {plural(len(locations), 'place')}."
               if images else ""),
            action, hosts=(host,), evidence=tuple(_missing_evidence(req, what, needs, chains, store)),
            data={"roles": roles, "registries": registries, "images": images[:50], "chains": chains,
                  "registry_host": registry_host, "wildcard": wildcard, "locations": locations[:50],
                  "notes": req.notes[:5], "fix": fix},
        ))
    return findings + [group.finding(fix) for fix, group in sorted(groups.items())]


def _missing_evidence(req: RequiredHost, what: str, needs: list[Need], chains: list[str], store: EvidenceStore
                      ) -> list[EvidenceItem]:
    """What shows that REQ's host is required: the host, its needs, chains, knowledge and blocked attempts."""
    host = req.host
    evidence = [EvidenceItem(f"{host} is required ({what}; confidence {req.confidence.value})",
                             _sources(req.evidence))]
    for need in needs[:25]:
        evidence.append(EvidenceItem(f"needed by {need.kind} {need.text}"
                                     + (f" ({need.context})" if need.context else ""), _sources([need.source])))
    for chain in chains[:5]:
        evidence.append(EvidenceItem(f"redirect chain: {chain}", ()))
    for citation in [k.citation for k in req.knowledge][:3]:
        evidence.append(EvidenceItem(f"knowledge: {citation}", ()))
    blocked = store.blocked_groups.get(host)
    if blocked is not None:
        evidence.append(EvidenceItem(f"{plural(blocked.count, 'blocked attempt')} for {host} in the logs",
                                     tuple(blocked.sources)))
    return evidence


def _fix_text(address: str, proposal: Proposal | None, target: Target) -> str:
    """The proposal's entry for ADDRESS in the target's syntax (`.quay.io` on Squid: it stands for cdnNN too)."""
    entry = next((e for e in proposal.entries if e.address == address), None) if proposal is not None else None
    below = entry is not None and entry.reaches_below and proposal is not None \
        and proposal.mode is MatchMode.SUFFIX
    return target.written(Rule(address, Scope.SUBTREE if below else Scope.EXACT))


MAX_GROUP_EVIDENCE = 60  # distinct evidence items of one grouped missing finding
MAX_GROUP_LISTED = 50  # hosts named, and items per list, in one grouped missing finding (counts say the rest)


class _FixGroup:
    """The missing hosts one proposed entry fixes (`quay.io` and its cdnNN.quay.io), folded into one finding as
    their findings are made: what the grouped finding says of them, with samples capped and counts kept."""

    KEYS = ("roles", "registries", "images", "chains", "locations")

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.per_host: list[dict[str, Any]] = []
        self.values: dict[str, set[str]] = {key: set() for key in self.KEYS}
        self.evidence: dict[EvidenceItem, None] = {}  # the first MAX_GROUP_EVIDENCE distinct, in order
        self.notes: set[str] = set()
        self.severity: Severity | None = None
        self.registry_host = self.wildcard = False

    def takes_evidence(self) -> bool:
        """Whether a member's evidence would still be kept (the first MAX_GROUP_EVIDENCE distinct items are)."""
        return len(self.evidence) < MAX_GROUP_EVIDENCE

    def add(self, host: str, severity: Severity, evidence: Iterable[EvidenceItem], data: dict[str, Any]) -> None:
        """Fold in one missing HOST: DATA holds what its own finding's data would (KEYS, notes, registry_host,
        wildcard), EVIDENCE its evidence items (may be empty once `takes_evidence` says no)."""
        self.hosts.append(host)
        if len(self.per_host) <= MAX_GROUP_LISTED:  # one past the cap: the count says the rest
            self.per_host.append({"host": host, "roles": data["roles"], "registry_host": data["registry_host"]})
        for key in self.KEYS:
            self.values[key].update(data[key])
        for item in evidence:
            if len(self.evidence) >= MAX_GROUP_EVIDENCE:
                break
            self.evidence.setdefault(item, None)
        self.notes.update(data["notes"])
        if self.severity is None or SEVERITY_ORDER[severity] < SEVERITY_ORDER[self.severity]:
            self.severity = severity
        self.registry_host = self.registry_host or data["registry_host"]
        self.wildcard = self.wildcard or data["wildcard"]

    def finding(self, fix: str) -> Finding:
        hosts = sorted(self.hosts)
        members = len(self.hosts)
        per_host = self.per_host
        others = len(hosts) - (1 if fix in hosts else 0)
        title = (f"{fix} and {plural(others, 'host')} under it are not allowed" if fix in hosts
                 else f"{len(hosts)} hosts under {fix} are not allowed")
        union = {key: sorted(self.values[key]) for key in self.KEYS}
        counts: dict[str, int] = {}
        for key in ("registries", "images", "chains", "locations"):  # samples: the first in sort order
            if len(union[key]) > MAX_GROUP_LISTED:
                counts[f"{key}_total"] = len(union[key])
                union[key] = union[key][:MAX_GROUP_LISTED]
        if members > MAX_GROUP_LISTED:
            counts["hosts_total"] = members
            per_host = per_host[:MAX_GROUP_LISTED]
        named = ", ".join(hosts[:MAX_GROUP_LISTED])
        if len(hosts) > MAX_GROUP_LISTED:
            named += f" and {len(hosts) - MAX_GROUP_LISTED:,} more"
        assert self.severity is not None  # a group has members
        return Finding(
            FindingKind.MISSING, self.severity, title,
            f"Pulls from {', '.join(union['registries']) or fix} need {len(hosts)} hosts the allowlist does not "
            f"allow: {named}."
            + (f" Needed by {plural(counts.get('images_total', len(union['images'])), 'image reference')} at "
               f"{plural(counts.get('locations_total', len(union['locations'])), 'place')}."
               if union["images"] else ""),
            PHRASED_BY_RECOMMENDATION,
            hosts=tuple(hosts), evidence=tuple(self.evidence),
            data={**union, "registry_host": self.registry_host, "hosts": per_host, "wildcard": self.wildcard,
                  "fix": fix, "notes": sorted(self.notes)[:5], **counts},
        )


def _unused(required: list[RequiredHost], allowlist: Allowlist, options: AuditOptions, store: EvidenceStore
            ) -> list[Finding]:
    findings = []
    target = options.enforcement()
    window = _time_window(store)
    index = allowlist.index
    needed = {id(e) for r in required for e in index.covering(r.host, options.mode)}
    observed: dict[int, list[str]] = {}  # entry -> the observed hosts it covers, one index walk per host
    for host in store.activity:
        for covering in index.covering(host, options.mode):
            observed.setdefault(id(covering), []).append(host)
    for entry in allowlist:
        if entry.kind is EntryKind.NETWORK:
            continue  # a network entry has its own finding
        if target.hub_switch:  # RAM's matching is the index's: one walk per host, not all pairs
            if id(entry) in needed:
                continue
            if entry.address in DOCKER_HUB_NAMES and any(_docker_hub_host(r) for r in required):
                continue
            seen = sorted(observed.get(id(entry), ()))
        else:  # another target's own semantics (Squid's `.name`, RPZ's `*.name` ...)
            if any(target.covers(entry, r.host) for r in required):
                continue
            seen = sorted(h for h in store.activity if target.covers(entry, h))
        evidence = [EvidenceItem(f"allowlist line {entry.line}: {entry.original}",
                                 (Source(allowlist.path or "allowlist", entry.line, parser="allowlist"),))]
        if seen:
            evidence.append(EvidenceItem(
                f"seen in traffic but never as registry activity: {', '.join(seen[:5])}",
                tuple(s for h in seen[:5] for s in store.activity[h].sources[:1])))
        findings.append(Finding(
            FindingKind.UNUSED, Severity.WARNING, f"{entry.address} is not needed",
            f"No image reference, registry redirect or observed registry activity needs {entry.address} "
            f"(evidence window: {window}).",
            PHRASED_BY_RECOMMENDATION,
            entries=(entry.address,), evidence=tuple(evidence), data={"time_window": window, "observed": seen[:20]},
        ))
    return findings


def _redundant(allowlist: Allowlist, options: AuditOptions) -> list[Finding]:
    findings = []
    target = options.enforcement()
    how = f"With {options.mode.value} matching" if target.hub_switch else f"On {target.title}"
    index = allowlist.index
    for entry in allowlist:
        if entry.kind is EntryKind.NETWORK:
            continue
        if target.hub_switch:
            wider = [o for o in index.covering(entry.address, options.mode) if o is not entry]
        else:
            wider = [o for o in allowlist if o is not entry and subsumes(target.rule(o), target.rule(entry))]
        if not wider:
            continue
        cover = min(wider, key=lambda o: (len(o.address.split(".")) * -1, o.address))
        sources = tuple(Source(allowlist.path or "allowlist", e.line, parser="allowlist") for e in (entry, cover))
        findings.append(Finding(
            FindingKind.REDUNDANT, Severity.NOTE, f"{entry.address} is covered by {cover.address}",
            f"{how}, `{_written(cover, target)}` already allows {_written(entry, target)}.",
            PHRASED_BY_RECOMMENDATION,
            entries=(entry.address, cover.address),
            evidence=(EvidenceItem(f"{entry.original} (line {entry.line}) is covered by {cover.original} "
                                   f"(line {cover.line})", sources),),
            data={"covered_by": cover.address, "mode": options.mode.value},
        ))
    return findings


def _written(entry: AllowlistEntry, target: Target) -> str:
    """An entry as the finding should show it: RAM ignores the markers (`.`, `*.`), the other targets do not."""
    return entry.address if target.hub_switch else entry.original


def _over_broad(allowlist: Allowlist, options: AuditOptions, knowledge: Knowledge, proposal: Proposal,
                required: list[RequiredHost]) -> list[Finding]:
    target = options.enforcement()
    findings = []
    index = allowlist.index
    under_proposed = _names_under(index, [p.address for p in proposal.entries], options.mode)
    under_required = _names_under(index, [r.host for r in required], options.mode)
    for entry in allowlist:
        if entry.kind is EntryKind.NETWORK or not target.reaches_below(entry):
            continue  # an exact entry allows one name only, however shared its domain is
        reason = knowledge.is_multi_tenant(entry.address)
        if reason is None:
            continue
        if target.hub_switch:
            needed_here = sorted(set(under_required.get(id(entry), ())))
            narrower = sorted({a for a in under_proposed.get(id(entry), ()) if a != entry.address})
        else:
            needed_here = sorted({r.host for r in required if target.covers(entry, r.host)})
            narrower = sorted({p.address for p in proposal.entries
                               if p.address != entry.address and target.covers(entry, p.address)})
        if not narrower:
            narrower = [h for h in needed_here if h != entry.address]
        source = Source(allowlist.path or "allowlist", entry.line, parser="allowlist")
        evidence = [EvidenceItem(f"{entry.address}: {reason}", (source,))]
        if needed_here:
            evidence.append(EvidenceItem(f"what the evidence needs under it: {', '.join(needed_here[:10])}",
                                         tuple(s for r in required if r.host in needed_here[:10]
                                               for s in _sources(r.evidence)[:1])))
        findings.append(Finding(
            FindingKind.OVER_BROAD, Severity.ERROR, f"{entry.address} allows other tenants' content",
            f"`{entry.address}` is a shared domain: {reason} "
            + ("With suffix matching it allows every subdomain." if target.hub_switch
               else f"`{entry.original}` allows every subdomain on {target.title}."),
            PHRASED_BY_RECOMMENDATION, entries=(entry.address,), hosts=tuple(narrower), evidence=tuple(evidence),
            data={"reason": reason, "narrower": narrower, "needed_under": needed_here[:MAX_GROUP_LISTED],
                  **({"needed_under_total": len(needed_here)} if len(needed_here) > MAX_GROUP_LISTED else {})},
        ))
    return findings


def _names_under(index: EntryIndex, names: Iterable[str], mode: MatchMode) -> dict[int, list[str]]:
    """Entry (by id) -> the NAMES it covers: one index walk per name instead of one scan per entry."""
    found: dict[int, list[str]] = {}
    for name in names:
        for entry in index.covering(name, mode):
            found.setdefault(id(entry), []).append(name)
    return found


def _entry_source(allowlist: Allowlist, entry: AllowlistEntry) -> Source:
    return Source(allowlist.path or "allowlist", entry.line, parser="allowlist")


def _network_entries(allowlist: Allowlist, target: Target) -> list[Finding]:
    findings = []
    there = ("Registry Access Management matches the host names clients ask for, never addresses, so this entry "
             "allows nothing there; a proxy or firewall that matches addresses reads it differently."
             if target.hub_switch else
             f"The hosts the evidence needs are judged by name, and on {target.title} a name is allowed by a name "
             "entry: whatever this range lets through by address, it allows none of them.")
    for entry in allowlist:
        if entry.kind is not EntryKind.NETWORK:
            continue
        findings.append(Finding(
            FindingKind.NETWORK_ENTRY, Severity.WARNING, f"{entry.original} is an address range, not a host name",
            f"`{entry.original}` (line {entry.line}) is a network ({entry.address}). {there}",
            PHRASED_BY_RECOMMENDATION,
            entries=(entry.address,),
            evidence=(EvidenceItem(f"allowlist line {entry.line}: {entry.original}",
                                   (_entry_source(allowlist, entry),)),),
            data={"network": entry.address, "nickname": entry.nickname},
        ))
    return findings


MAX_REPEAT_LINES = 50  # repeated lines named in one duplicate finding (repeats_total counts them all)


def _duplicates(allowlist: Allowlist) -> list[Finding]:
    """One finding per entry listed more than once, naming its repeated lines (a file that repeats one entry
    thousands of times is one finding, not thousands)."""
    repeats: dict[int, tuple[AllowlistEntry, list[AllowlistEntry]]] = {}
    for repeat, first in allowlist.duplicates:
        repeats.setdefault(id(first), (first, []))[1].append(repeat)
    findings = []
    for first, copies in sorted(repeats.values(), key=lambda pair: pair[0].line or 0):
        lines = [c.line for c in copies]
        shown = ", ".join(str(n) for n in lines[:MAX_REPEAT_LINES]) + (
            f" and {len(lines) - MAX_REPEAT_LINES:,} more" if len(lines) > MAX_REPEAT_LINES else "")
        title = (f"{first.address} is listed twice" if len(copies) == 1
                 else f"{first.address} is listed {len(copies) + 1:,} times")
        findings.append(Finding(
            FindingKind.DUPLICATE, Severity.NOTE, title,
            f"`{first.original}` (line {first.line}) is repeated on line{'s' if len(lines) > 1 else ''} {shown}; "
            "the repeats add nothing and each takes a place in the entry budget.",
            PHRASED_BY_RECOMMENDATION,
            entries=(first.address,),
            evidence=tuple(EvidenceItem(f"line {c.line} repeats line {first.line}",
                                        (_entry_source(allowlist, c), _entry_source(allowlist, first)))
                           for c in copies[:20]),
            data={"first_line": first.line, "line": lines[0], "lines": lines[:MAX_REPEAT_LINES],
                  **({"repeats_total": len(lines)} if len(lines) > MAX_REPEAT_LINES else {})},
        ))
    return findings


def _over_limit(allowlist: Allowlist, options: AuditOptions) -> list[Finding]:
    target = options.enforcement()
    if target.limit is None:
        return []  # the budget is RAM's limit; this enforcement point documents none
    count = target.count(allowlist, options.count_docker_hub_default)
    if count <= options.budget:
        return []
    hub = " (Docker Hub's default entry counted)" if options.count_docker_hub_default \
        and not allowlist.has_docker_hub() else ""
    return [Finding(
        FindingKind.OVER_LIMIT, Severity.ERROR, f"{count} entries exceed the budget of {options.budget}",
        f"The allowlist has {count} entries{hub}; the limit is {options.budget}.",
        f"Remove {count - options.budget} entries: start with unused and redundant ones, or use the proposal.",
        evidence=(EvidenceItem(f"{len(allowlist)} entries in {allowlist.path or 'the allowlist'}",
                               (Source(allowlist.path or "allowlist", parser="allowlist"),)),),
        data={"count": count, "budget": options.budget, "docker_hub_default_counted": bool(hub)},
    )]


# -- blocked attempts ------------------------------------------------------------------------------


def _lookalike_targets(knowledge: Knowledge, allowlist: Allowlist) -> frozenset[str]:
    well_known = frozenset(knowledge.well_known_registry_hosts()) | {DOCKER_HUB_REGISTRY}
    approved = {e.address for e in allowlist if find_lookalike(e.address, well_known) is None
                and knowledge.is_multi_tenant(e.address) is None}
    return well_known | approved


def _registry_of(host: str, required: list[RequiredHost]) -> RequiredHost | None:
    return next((r for r in required if r.host == host), None)


def classify_blocked(group: BlockedGroup, allowlist: Allowlist, options: AuditOptions,
                     required: list[RequiredHost], knowledge: Knowledge, targets: frozenset[str]
                     ) -> tuple[str, str, Lookalike | None]:
    """(classification, explanation, lookalike) for one blocked host."""
    if group.reasons.get(BlockReason.IAM_DENIED.value):
        return ("image-access-denied", "Image Access Management refused the image (a Docker Hub category is off), "
                "not the registry allowlist", None)
    req = _registry_of(group.host, required)
    if req is not None and not _is_registry_role(_role_words(req)):
        registries = sorted(req.registries)
        approved = [r for r in registries if options.enforcement().match(allowlist, r) is not None]
        if approved or not registries:
            return ("missing-domain-mapping",
                    f"{_article(_role_words(req))} {'/'.join(_role_words(req))} host of approved registry "
                    f"{', '.join(approved or registries)}: "
                    "the registry is allowed but the host it sends clients to is not", None)
    found = find_lookalike(group.host, targets)
    if found is not None:
        return ("lookalike", f"imitates {found.imitates} ({found.technique}: {found.explanation})", found)
    matched = knowledge.match(group.host)
    if matched is not None or req is not None:
        name = matched.profile.name if matched is not None else group.host
        return ("unapproved-registry", f"a registry ({name}) the allowlist does not approve", None)
    return ("unapproved-host", "a host the allowlist does not approve, not known as a registry", None)


def _blocked_patterns(store: EvidenceStore, allowlist: Allowlist, options: AuditOptions,
                      required: list[RequiredHost], knowledge: Knowledge, targets: frozenset[str]) -> list[Finding]:
    findings = []
    for group in store.sorted_blocked_groups():
        classification, explanation, lookalike = classify_blocked(group, allowlist, options, required, knowledge,
                                                                  targets)
        span = (group.last - group.first) if group.first is not None and group.last is not None else None
        storm = group.count >= RETRY_STORM_ATTEMPTS and span is not None and span <= RETRY_STORM_SECONDS * max(
            1, group.count // 50)
        profile = {_iso(hour * 3600.0) or "": count for hour, count in sorted(group.hours.items())}
        severity = Severity.ERROR if classification in ("missing-domain-mapping", "lookalike") else Severity.WARNING
        actions = {
            "missing-domain-mapping": f"Add `{group.host}` to the allowlist: the approved registry needs it.",
            "lookalike": f"Do not allow `{group.host}`; find and fix the reference that names it"
                         + (f" (it should probably be {lookalike.imitates})" if lookalike else "") + ".",
            "unapproved-registry": f"Decide: approve `{group.host}` or move the images to an approved registry.",
            "unapproved-host": f"Find out what contacts `{group.host}`; allow it only if a registry needs it.",
            "image-access-denied": "Enable the Docker Hub category the image needs, add it to the repository "
                                   "allowlist, or use an Official/Organization image instead.",
        }
        reasons = ", ".join(f"{k} ×{v}" for k, v in sorted(group.reasons.items()))
        clients = plural(len(group.clients), "client") if group.clients else "an unrecorded client"
        evidence = [EvidenceItem(f"{plural(group.count, 'attempt')} from {clients}, "
                                 f"{_iso(group.first) or 'time unknown'} to {_iso(group.last) or 'time unknown'} "
                                 f"({reasons})", tuple(group.sources))]
        if group.images:
            evidence.append(EvidenceItem(f"images: {', '.join(sorted(group.images)[:10])}", ()))
        for detail in group.details[:3]:
            evidence.append(EvidenceItem(f"log text: {detail}", ()))
        findings.append(Finding(
            FindingKind.BLOCKED_PATTERN, severity,
            f"{plural(group.count, 'blocked attempt')} for {group.host}" + (" (retry storm)" if storm else ""),
            f"{classification}: {explanation}." + (f" {group.count} attempts in {int(span or 0)} s look like an "
                                                    "automated retry loop." if storm else ""),
            actions[classification], hosts=(group.host,), evidence=tuple(evidence),
            data={"classification": classification, "count": group.count, "clients": len(group.clients),
                  "first": _iso(group.first), "last": _iso(group.last), "hourly": profile,
                  "retry_storm": storm, "reasons": dict(sorted(group.reasons.items())),
                  "images": sorted(group.images)[:20],
                  "imitates": lookalike.imitates if lookalike else None},
        ))
    return findings


# -- lookalikes, image access, enforcement gaps ----------------------------------------------------------


def _lookalikes(store: EvidenceStore, allowlist: Allowlist, targets: frozenset[str], knowledge: Knowledge
                ) -> list[Finding]:
    named: dict[str, list[tuple[str, Source | None]]] = defaultdict(list)  # references: few, told up front
    for ref in store.sorted_references():
        named[ref.registry].append((f"image {ref.original}", ref.source))
        if ref.endpoint != ref.registry:
            named[ref.endpoint].append((f"image {ref.original}", ref.source))
    for host_ref in store.host_references:
        named[host_ref.host].append((f"{host_ref.purpose.value} {host_ref.text or host_ref.host}", host_ref.source))

    def uses_of(host: str) -> list[tuple[str, Source | None]]:
        """Where HOST appears, in the order references, observation, allowlist entries: worded only for the
        few hosts found to imitate one (an audit screens 10^5 observed hosts)."""
        uses = list(named.get(host, ()))
        activity = store.activity.get(host)
        if activity is not None:
            uses.append((f"observed {activity.count}× ({', '.join(sorted(activity.kinds))})",
                         activity.sources[0] if activity.sources else None))
        uses.extend((f"allowlist entry {entry.original}",
                     Source(allowlist.path or "allowlist", entry.line, parser="allowlist"))
                    for entry in allowlist if entry.address == host)
        return uses

    names = set(named) | set(store.activity) | {entry.address for entry in allowlist}
    well_known = frozenset(knowledge.well_known_registry_hosts()) | {DOCKER_HUB_REGISTRY}
    findings = []
    for host in sorted(names):
        in_allowlist = host in allowlist.index.by_address  # (was a scan of every entry per host)
        found = find_lookalike(host, well_known if in_allowlist else targets)
        if found is None:
            continue
        uses = uses_of(host)
        evidence = [EvidenceItem(found.explanation, ())]
        for text, count in Counter(t for t, _ in uses).most_common(10):
            evidence.append(EvidenceItem(f"{text}" + (f" ({count}×)" if count > 1 else ""),
                                         _sources(s for t, s in uses if t == text)))
        findings.append(Finding(
            FindingKind.LOOKALIKE, Severity.ERROR, f"{found.host} imitates {found.imitates}",
            f"{found.host} looks like {found.imitates} ({found.technique}, distance {found.distance}). "
            "Someone else may own it and serve other images under familiar names.",
            f"Correct the reference to `{found.imitates}`" + (f" and remove `{host}` from the allowlist"
                                                               if in_allowlist else "")
            + "; never allow the lookalike.",
            entries=(host,) if in_allowlist else (), hosts=(host,), evidence=tuple(evidence),
            data={"imitates": found.imitates, "technique": found.technique, "distance": found.distance},
        ))
    return findings


def _hub_namespace(repository: str) -> str:
    return repository.split("/", 1)[0] if "/" in repository else "library"


def _image_access(store: EvidenceStore, options: AuditOptions) -> list[Finding]:
    by_namespace: dict[str, list[Any]] = defaultdict(list)
    for ref in store.sorted_references():
        if ref.registry == DOCKER_HUB_REGISTRY:
            by_namespace[_hub_namespace(ref.repository)].append(ref)
    orgs = {o.lower() for o in options.orgs}
    findings = []
    for namespace in sorted(by_namespace):
        refs = by_namespace[namespace]
        images = sorted({r.name for r in refs})
        if namespace == "library":
            category, severity = "official", Severity.NOTE
            detail = ("Docker Official Images (`library/`): allowed while the Docker Official Images category is on.")
            action = "Nothing to do while the Docker Official Images category stays enabled."
        elif namespace.lower() in orgs:
            category, severity = "organization", Severity.NOTE
            detail = f"`{namespace}` is one of your organizations (--org): Organization images are always allowed."
            action = "Nothing to do."
        else:
            category, severity = "community-or-verified", Severity.WARNING
            detail = (f"`{namespace}/` is neither `library/` nor an organization given with --org: with Community "
                      "images disabled (the default) these pulls are refused, unless the namespace is a Docker "
                      "Verified Publisher — that status cannot be told from a name (it is a badge on Docker Hub).")
            action = (f"Check `{namespace}` on Docker Hub: if it is not a Verified Publisher, enable Community "
                      "images, add the repositories to the IAM repository allowlist, or mirror them.")
        evidence = tuple(EvidenceItem(f"{r.original} ({r.context or 'reference'})", _sources([r.source]))
                         for r in refs[:20])
        findings.append(Finding(
            FindingKind.IMAGE_ACCESS, severity, f"Docker Hub `{namespace}/`: {category.replace('-', ' ')}",
            detail + f" {plural(len(images), 'image')}, {plural(len(refs), 'reference')}.", action,
            hosts=(f"{DOCKER_HUB_REGISTRY}/{namespace}",),  # the key tells namespaces apart
            evidence=evidence, data={"namespace": namespace, "category": category, "images": images},
        ))
    return findings


_SIGNAL_TITLES = {
    "buildx-kubernetes": "buildx kubernetes driver",
    "buildx-docker-container": "buildx docker-container driver",
    "windows-containers": "Windows containers",
    "docker-debug": "Docker Debug",
}


def _not_enforced(signals: list[Signal]) -> list[Finding]:
    by_kind: dict[str, list[Signal]] = defaultdict(list)
    for signal in signals:
        by_kind[signal.kind].append(signal)
    findings = []
    for kind in sorted(by_kind):
        items = by_kind[kind]
        findings.append(Finding(
            FindingKind.NOT_ENFORCED, Severity.WARNING,
            f"{_SIGNAL_TITLES.get(kind, kind)}: pulls RAM does not filter",
            f"{plural(len(items), 'place')} in the inputs use {_SIGNAL_TITLES.get(kind, kind)}: "
            f"{items[0].explanation}. The allowlist does not protect those pulls.",
            "Use the `docker` buildx driver on Desktop, or enforce the same allowlist at the network proxy/firewall"
            if kind.startswith("buildx") else
            "Turn on \"Use proxy for Windows Docker daemon\" or enforce the allowlist at the network proxy"
            if kind == "windows-containers" else "Enforce the allowlist at the network proxy as well",
            hosts=(f"signal:{kind}",),
            evidence=tuple(EvidenceItem(f"{s.text}", (s.source,)) for s in items[:20]),
            data={"signal": kind, "count": len(items)},
        ))
    return findings


def _machine_finding(found: MachineFinding) -> Finding:
    return Finding(FindingKind(found.kind), Severity(found.severity), found.title, found.detail, found.action,
                   hosts=found.key_hosts, data=found.as_data(),
                   evidence=tuple(EvidenceItem(text, sources) for text, sources in found.evidence))
