"""Required hosts: every host a client must reach for the registry activity the evidence shows.

A host is required when it is tied to registry activity (DESIGN.md, "Facts that shape decisions"):
- referenced: an image's endpoint, or a host named for login/mirror/credential/registry-url/ADD <url>;
- observed and tied: seen with a /v2/ request path, or matched by a knowledge-base profile with a
  pattern specific enough to name one registry's host (an observed `x.blob.core.windows.net` is not:
  every Azure customer's storage matches it);
- reached through a followed redirect edge (knowledge, HTTP Location, probe, timing) from one of those.
Other observed names (a resolver log holds all of a company's lookups) stay out. CNAME targets are
recorded on the host but are not required: a hostname filter sees the name the client asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from auditor.core.allowlist import normalize_host
from auditor.core.evidence import EvidenceStore
from auditor.core.gc_budget import few_collections
from auditor.core.model import Confidence, HostPurpose, Source
from auditor.core.words import plural
from auditor.decisions.redirects import GraphEdge, RedirectGraph
from auditor.knowledge import CONFIDENCE_ORDER, PULL_ROLES, Knowledge, KnownHost, pattern_anchor

# Samples kept per required host: a shared host (a region's layer bucket) is needed by every registry
# that chains to it, tens of thousands in a fleet. Past a cap the record keeps counting (`need_count`,
# `chain_count`, `registry_count`) but holds only the first ones, in the order required_hosts builds
# them (sorted references, then sorted hosts): the same inputs always give the same sample.
MAX_NEEDS_KEPT = 50
MAX_CHAINS_KEPT = 20
MAX_REGISTRIES_KEPT = 50
MAX_EVIDENCE_KEPT = 20
SCAN_LIMIT = 8  # needs or chains checked for repeats by a scan; more go through a set of hashes

REQUIRING_PURPOSES = {
    HostPurpose.LOGIN: "api",
    HostPurpose.MIRROR: "api",
    HostPurpose.CREDENTIAL: "api",
    HostPurpose.REGISTRY_URL: "api",
    HostPurpose.ADD_URL: "add-url",
}


# Sets most required hosts never fill (image registries, chain starts): one shared empty frozenset until the first
# item, not an empty set (216 bytes) each, at 10^5 hosts. Lists likewise start as the shared empty tuple and become
# lists at their first item (the add_* methods): while all 10^5 records are being built, before `seal`, empty
# lists and one-item sets were half of the decisions' peak memory.
_NONE_YET: frozenset[str] = frozenset()
_EMPTY: tuple = ()
# Registries a record holds as a tuple (a short scan per addition) before it takes a set.
_REGISTRY_TUPLE_LIMIT = 8


@dataclass(frozen=True, slots=True)
class Need:
    """One reason a host is required: an image, a host reference, an observation or an edge."""

    kind: str  # image | host-reference | observation | edge | knowledge
    text: str  # the image reference, the host as written, the edge description ...
    source: Source | None = None
    context: str = ""

    def describe(self) -> str:
        where = f" at {self.source}" if self.source else ""
        context = f" ({self.context})" if self.context else ""
        return f"{self.kind} {self.text}{context}{where}"


@dataclass(slots=True)  # one per required host: 10^5 in a fleet, no __dict__ each
class RequiredHost:
    host: str  # a concrete host, or a pattern such as `*.data.mcr.microsoft.com` when wildcard
    # a frozenset shared by every record with the same roles (add_role)
    roles: set[str] | frozenset[str] = _NONE_YET
    # registry names and knowledge-base families served: a tuple while short, then a set (add_registry); sealed,
    # a sorted tuple
    registries: set[str] | tuple[str, ...] = _EMPTY
    # registries as images name them (`docker.io`); the shared empty frozenset until the first (see _NONE_YET)
    image_registries: set[str] | frozenset[str] = _NONE_YET
    needed_by: list[Need] = _EMPTY  # type: ignore[assignment]  # the lists: _EMPTY until their first item
    chains: list[list[str]] = _EMPTY  # type: ignore[assignment]
    confidence: Confidence = Confidence.HIGH
    knowledge: list[KnownHost] = _EMPTY  # type: ignore[assignment]
    evidence: list[Source] = _EMPTY  # type: ignore[assignment]
    wildcard: bool = False
    unknown_chain: bool = False
    cname_targets: list[str] = _EMPTY  # type: ignore[assignment]
    notes: list[str] = _EMPTY  # type: ignore[assignment]
    need_count: int = 0  # distinct needs, of which `needed_by` holds the first MAX_NEEDS_KEPT
    chain_count: int = 0  # distinct chains, of which `chains` holds the first MAX_CHAINS_KEPT
    registry_count: int = 0  # distinct registries, of which `registries` holds the first MAX_REGISTRIES_KEPT
    chain_starts: set[str] | frozenset[str] = _NONE_YET  # the first host of every chain, not only the sample's
    # hashes of the needs and chains, once there are many: a repeat is not counted twice
    _seen: set[int] | None = field(default=None, repr=False, compare=False)

    @property
    def sources(self) -> list[str]:
        """Knowledge citations (URL, date checked, confidence) and evidence locations, as text."""
        cited = [k.citation for k in self.knowledge]
        return list(dict.fromkeys(cited + [str(s) for s in self.evidence]))

    def add_need(self, need: Need) -> None:
        if need.source is not None:
            self.add_evidence(need.source)
        if not self.needed_by:
            self.needed_by = []
        if self._is_new(need):
            self.need_count += 1

    def add_evidence(self, source: Source) -> None:
        """SOURCE among the evidence locations, while they have room."""
        if not self.evidence:
            self.evidence = [source]
        elif len(self.evidence) < MAX_EVIDENCE_KEPT and source not in self.evidence:
            self.evidence.append(source)

    def add_knowledge(self, known: KnownHost) -> None:
        if not self.knowledge:
            self.knowledge = [known]
        elif known not in self.knowledge:
            self.knowledge.append(known)

    def add_role(self, role: str) -> None:
        if role not in self.roles:
            self.roles = _shared_set(self.roles | {role})

    def add_roles(self, roles: Iterable[str]) -> None:
        more = self.roles.union(roles)
        if len(more) != len(self.roles):
            self.roles = _shared_set(more)

    def add_registry(self, name: str) -> None:
        held = self.registries
        if type(held) is tuple:
            if name not in held:
                self.registries = (*held, name) if len(held) < _REGISTRY_TUPLE_LIMIT else {*held, name}
        else:
            held.add(name)  # type: ignore[union-attr]

    def add_registries(self, names: Iterable[str]) -> None:
        held = self.registries
        if type(held) is not tuple:
            held.update(names)  # type: ignore[union-attr]
            return
        for name in names:
            self.add_registry(name)

    def add_path(self, chain: list[str], need: Callable[[], Need], seen_at: Source | None) -> None:
        """A root's path to this host, CHAIN (owned by the caller no more), and the need it makes (NEED, made
        only while the needs' sample has room; SEEN_AT its source), known to be new: _follow reaches each host
        once per root and follows each root once, its chains start at the root and its edge needs name the
        chain, and no direct need is an edge. So nothing is checked for a repeat: a region's bucket, reached
        from every registry of the region (10^4 in a fleet), counts them, the first ones kept, as
        add_need keeps its own."""
        if seen_at is not None:
            self.add_evidence(seen_at)
        if len(self.needed_by) < MAX_NEEDS_KEPT:
            if not self.needed_by:
                self.needed_by = []
            self.needed_by.append(need())
        self.need_count += 1
        if len(self.chains) < MAX_CHAINS_KEPT:
            if not self.chains:
                self.chains = []
            self.chains.append(chain)
        self.chain_count += 1
        if self.chain_starts:
            self.chain_starts.add(chain[0])  # type: ignore[union-attr]
        else:
            self.chain_starts = {chain[0]}

    def _is_new(self, need: Need) -> bool:
        """Whether NEED (a direct one: see add_path for the edges') was not recorded before; kept in needed_by
        while it has room. A short sample is scanned; from SCAN_LIMIT items on, a set of hashes answers (a 64-bit
        collision would undercount by one), so a host needed by tens of thousands of inputs costs O(1) per need."""
        sample = self.needed_by
        seen = self._seen
        if seen is None:
            if need in sample:
                return False
            if len(sample) < SCAN_LIMIT:
                sample.append(need)
                return True
            seen = self._seen = {hash(held) for held in sample}
        tag = hash(need)
        if tag in seen:
            return False
        seen.add(tag)
        if len(sample) < MAX_NEEDS_KEPT:
            sample.append(need)
        return True

    def seal(self) -> None:
        """Called when the record is complete: registries reduced to a sample, the repeat check freed, and the
        record made read-only in its smallest form. Its lists and registries become tuples (a one-item tuple
        is a quarter of a set and half a list; an empty one is shared) and its roles a frozenset shared by every
        record with the same roles: at 10^5 hosts the containers were most of a record's kilobyte."""
        self._seen = None
        if len(self.registries) < 2:  # one name is one registry (most records of a fleet)
            self.registry_count = len(self.registries)
            self.registries = tuple(self.registries)
        else:
            names = distinct_registries(set(self.registries))
            self.registry_count = len(names)
            if len(names) > MAX_REGISTRIES_KEPT:
                names = set(sorted(names)[:MAX_REGISTRIES_KEPT])
            self.registries = tuple(sorted(names))  # type: ignore[assignment]
        if type(self.roles) is not frozenset:  # add_role's sets are shared already
            self.roles = _shared_set(self.roles)
        self.needed_by = tuple(self.needed_by)  # type: ignore[assignment]
        self.chains = tuple(map(tuple, self.chains))  # type: ignore[assignment]
        self.knowledge = tuple(self.knowledge)  # type: ignore[assignment]
        self.evidence = tuple(self.evidence)  # type: ignore[assignment]
        self.cname_targets = tuple(self.cname_targets)  # type: ignore[assignment]
        self.notes = tuple(self.notes)  # type: ignore[assignment]

    def add_image_registry(self, registry: str) -> None:
        if self.image_registries:
            self.image_registries.add(registry)  # type: ignore[union-attr]
        else:
            self.image_registries = {registry}

    def add_note(self, note: str) -> None:
        if not note or note in self.notes:
            return
        if self.notes:
            self.notes.append(note)
        else:
            self.notes = [note]


_SHARED_SETS: dict[frozenset[str], frozenset[str]] = {}
_SHARED_SETS_LIMIT = 4096


def _shared_set(items: set[str] | frozenset[str]) -> frozenset[str]:
    """ITEMS as a frozenset, the same object for the same items: sealed records hold a few distinct role sets."""
    frozen = frozenset(items)
    shared = _SHARED_SETS.get(frozen)
    if shared is None:
        if len(_SHARED_SETS) >= _SHARED_SETS_LIMIT:
            _SHARED_SETS.clear()
        shared = _SHARED_SETS[frozen] = frozen
    return shared


class _Builder:
    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.hosts: dict[str, RequiredHost] = {}
        self._direct: set[str] = set()  # hosts required by evidence itself, not only via a chain
        self._texts: dict[str, str] = {}
        self._counted: dict[tuple[int, str], str] = {}

    def text(self, text: str) -> str:
        """TEXT, the same object for the same text: 10^5 observations say "2 /v2/ requests" once, not 10^5 times."""
        return self._texts.setdefault(text, text)

    def counted(self, count: int, noun: str) -> str:
        """`plural(COUNT, NOUN)`, made once per count (most observed registries show the same few counts)."""
        key = (count, noun)
        text = self._counted.get(key)
        if text is None:
            text = self._counted[key] = self.text(plural(count, noun))
        return text

    def get(self, host: str, wildcard: bool = False) -> RequiredHost:
        required = self.hosts.get(host)
        if required is None:
            required = self.hosts[host] = RequiredHost(host, wildcard=wildcard)
            required.confidence = Confidence.UNCONFIRMED if wildcard else Confidence.HIGH
        return required

    def direct(self, host: str, role: str, need: Need, registry: str = "") -> RequiredHost:
        required = self.get(host)
        required.add_role(role)
        if registry:
            required.add_registry(registry)
        required.add_need(need)
        if host not in self._direct:
            self._direct.add(host)
            required.confidence = Confidence.HIGH
        return required


# A name normalize_host would return unchanged: lowercase LDH labels (underscore allowed) of 1-63 characters, no
# leading or trailing hyphen, a last label not all digits (no IPv4 address), no punycode to check, 253 at most.
# Almost every observed host is one: it skips the general parser (a third of required_hosts at 10^5 hosts).
_PLAIN_HOST_RE = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)*(?!-)[a-z0-9_-]{1,63}(?<!-)")


def _normal(host: str) -> str | None:
    if host.startswith("*."):
        return host.lower()
    if (len(host) <= 253 and _PLAIN_HOST_RE.fullmatch(host) and "xn--" not in host
            and not host.rpartition(".")[2].isdigit()):
        return host
    try:
        return normalize_host(host)
    except ValueError:
        return None


# Roles whose hosts do nothing but serve registry traffic. Token, certificate and signature hosts are
# often general sites too (gitlab.com, sso.redhat.com, access.redhat.com): seeing them in a resolver log
# says nothing about pulls; they become required through their registry instead.
OBSERVATION_TIE_ROLES = frozenset({"api", "blob", "cdn", "storage", "data"})
_TYING_ROLES = PULL_ROLES & OBSERVATION_TIE_ROLES


def _tied_by_knowledge(knowledge: Knowledge, host: str) -> KnownHost | None:
    """The knowledge fact that ties an observed HOST to a registry, if the pattern is specific enough."""
    found = knowledge.match(host)
    if found is None or _TYING_ROLES.isdisjoint(found.roles):
        return None
    template = found.pattern.template
    anchor = pattern_anchor(template) if ("{" in template or "*" in template) else host
    if template.startswith("*.") and knowledge.is_multi_tenant(anchor):
        return None  # `*.blob.core.windows.net`: every tenant's host matches
    if knowledge.is_multi_tenant(host):
        return None  # `storage.googleapis.com`: used by far more than registries
    return found.known


@few_collections
def required_hosts(store: EvidenceStore, knowledge: Knowledge, graph: RedirectGraph) -> list[RequiredHost]:
    builder = _Builder(knowledge)
    for ref in store.sorted_references():
        host = _normal(ref.endpoint)
        if host:
            required = builder.direct(host, "api", Need("image", ref.original or ref.canonical, ref.source,
                                                         ref.context), ref.registry)
            required.add_image_registry(ref.registry)
    for href in sorted(store.host_references, key=lambda h: (str(h.source), h.host)):
        role = REQUIRING_PURPOSES.get(href.purpose)
        host = _normal(href.host)
        if role and host:
            builder.direct(host, role, Need("host-reference", f"{href.purpose.value} {href.text or href.host}",
                                            href.source, href.context))
    for activity in store.sorted_activity():
        host = _normal(activity.host)
        if host is None:
            continue
        sources = activity.sources  # a view's sources are made when asked
        sample = sources[0] if sources else None
        if activity.registry_api_calls:
            builder.direct(host, "api", Need("observation", builder.counted(activity.registry_api_calls,
                                                                             "/v2/ request"), sample), host)
        known = _tied_by_knowledge(knowledge, host)
        if known is not None:
            required = builder.direct(host, known.role.split("+")[0],
                                      Need("observation", builder.text(f"{plural(activity.count, 'contact')}, matches "
                                                                       f"{known.profile} host {known.host_or_pattern}"),
                                           sample))
            required.add_knowledge(known)
            profile = knowledge.profile(known.profile)
            required.add_registry(profile.name if profile is not None else known.profile)
    for root in sorted(builder.hosts):
        if graph.has_edges_from(root):  # most of a fleet's self-hosted registries lead nowhere known
            _follow(builder, graph, root)
    for required in builder.hosts.values():
        _annotate(builder, graph, required)
        required.seal()
    knowledge.forget_answers()  # the later decisions ask about parent domains, not these hosts again
    return [builder.hosts[h] for h in sorted(builder.hosts)]


def distinct_registries(names: set[str]) -> set[str]:
    """One name per registry: `Quay.io` (the knowledge base's name) and `quay.io` (as images name it) are
    one; `registry.lab.test` (an observed /v2/ host) is the `registry.lab.test:5000` images name."""
    if len(names) < 2:  # one name is one registry (most records of a fleet)
        return set(names)
    by_case: dict[str, str] = {}
    for name in sorted(names):  # capitals sort first: the knowledge base's spelling wins
        by_case.setdefault(name.casefold(), name)
    kept = set(by_case.values())
    # `name` is dropped when another name is `name:<something>`: every prefix ending before a colon
    ported = {other[:index] for other in kept if ":" in other
              for index in range(len(other)) if other[index] == ":"}
    return kept - ported


def _follow(builder: _Builder, graph: RedirectGraph, root: str) -> None:
    root_required = builder.hosts[root]
    for host, (chain, edges) in sorted(graph.paths([root]).items()):
        if host == root:
            continue
        last = edges[-1]
        required = builder.get(host, wildcard="*" in host)
        required.add_registries(root_required.registries)
        role = last.knowledge.role.split("+")[0] if last.knowledge else _role_from_detail(last.detail)
        required.add_role(role)
        for edge in edges:
            if edge.knowledge is not None and edge.to_host == host:
                required.add_knowledge(edge.knowledge)
            for source in edge.sources:
                if len(required.evidence) >= MAX_EVIDENCE_KEPT:
                    break
                required.add_evidence(source)
        seen_at = last.sources[0] if last.sources else None

        def need(chain: list[str] = chain, edges: list[GraphEdge] = edges, seen_at: Source | None = seen_at) -> Need:
            # one edge (a knowledge fact straight from the registry: most paths) said without the generators
            vias = edges[0].via.value if len(edges) == 1 else ", ".join(e.via.value for e in edges)
            return Need("edge", f"{' -> '.join(chain)} ({vias})", seen_at)

        required.add_path(chain, need, seen_at)
        weakest = (last.confidence if len(edges) == 1
                   else min((e.confidence for e in edges), key=CONFIDENCE_ORDER.__getitem__))
        if host not in builder._direct and (
                required.chain_count == 1 or CONFIDENCE_ORDER[weakest] > CONFIDENCE_ORDER[required.confidence]):
            required.confidence = weakest


def _role_from_detail(detail: str) -> str:
    """The role an observed edge shows: a token realm (probe), a blob redirect (`307 for /v2/x/blobs/...`)."""
    text = detail.lower()
    if "realm" in text or "token" in text:
        return "auth"
    if "blob" in text:
        return "blob"
    return "redirect-target"


def _annotate(builder: _Builder, graph: RedirectGraph, required: RequiredHost) -> None:
    knowledge = builder.knowledge
    required.cname_targets = graph.cname_targets(required.host)
    if "api" not in required.roles or required.wildcard:
        return
    found = knowledge.match_api(required.host)
    # Evidence (not knowledge) showing where this registry sends clients: a Location, a probe, timing.
    observed_chain = graph.observed_followed(required.host)
    if found is None:
        if not observed_chain:
            required.unknown_chain = True
            hint = knowledge.self_hosted_hint(required.host)
            required.add_note(hint or ("registry not in the knowledge base: its token and blob hosts are unknown. "
                                       "Trace or observe a pull."))
        return
    required.add_knowledge(found.known)
    required.add_roles(found.roles)  # e.g. ECR authenticates on the registry host itself: api+auth
    required.add_registry(found.profile.name)
    if found.profile.unknown_chain and not observed_chain:
        required.unknown_chain = True
        required.add_note(f"{found.profile.name}: where its blobs come from is not documented. "
                          "Trace or observe a pull.")
    for optional in knowledge.required_for(required.host, include_optional=True, conditional_only=True,
                                           itself=False):
        if optional.host_or_pattern != required.host:
            required.add_note(f"may also need {optional.host_or_pattern} ({optional.role}) for "
                              f"{optional.condition}: {optional.citation}")
    for note in found.profile.notes:
        required.add_note(note)
