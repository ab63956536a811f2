"""The registry knowledge base: which hosts each registry family needs, as data with sources.

Every `*.yaml` file beside this module is one profile (a registry family); `multi_tenant.yaml` lists
shared domains and `self_hosted.yaml` the name hints of self-hosted registries. Code reads these files
and never hard-codes a registry host.

Host patterns are templates: `{account}.dkr.ecr.{region}.amazonaws.com`. A variable matches one DNS
label (or the regex the profile gives it) and is captured, so `required_for()` can fill the same
variable into the profile's other hosts (the ECR storage bucket of the same region). A pattern whose
variables stay unknown (the region of registry.k8s.io's S3 mirror depends on where the client is) is
returned as a wildcard with `*` in place of each unknown variable.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from auditor.core.model import Confidence
from parsers.common.yaml_loader import load_documents

KNOWLEDGE_DIR = Path(__file__).parent
DEFAULT_VARIABLE_RE = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # one DNS label
_VARIABLE_RE = re.compile(r"\{([a-z_]+)\}")
_CONFIDENCE = {"h": Confidence.HIGH, "high": Confidence.HIGH, "m": Confidence.MEDIUM, "medium": Confidence.MEDIUM,
               "l": Confidence.LOW, "low": Confidence.LOW, "unconfirmed": Confidence.UNCONFIRMED}
# Roles a client needs for a pull unless the profile says otherwise; others (ui, sign-in, cli) are context.
PULL_ROLES = frozenset({"api", "auth", "blob", "cdn", "storage", "certificate", "signature", "data"})
CONFIDENCE_ORDER = {Confidence.HIGH: 3, Confidence.MEDIUM: 2, Confidence.LOW: 1, Confidence.UNCONFIRMED: 0}


class KnowledgeError(ValueError):
    """A knowledge-base file is malformed: a packaging bug, reported with the file name."""


@dataclass(frozen=True, slots=True)  # one per fact, and one per filled template a fleet's hosts share
class KnownHost:
    """One host (or host pattern) a registry family uses, with where the fact comes from."""

    host_or_pattern: str
    role: str
    confidence: Confidence
    source: str  # URL (or citation) of the public source
    checked: str  # date the fact was checked, ISO
    note: str = ""
    wildcard: bool = False  # a pattern (`*.data.mcr.microsoft.com`), not one concrete host
    needed: bool = True  # needed for a plain pull (False: context or conditional, see condition)
    condition: str = ""  # when it is needed, if only sometimes ("clients on AWS")
    profile: str = ""
    applies_to: tuple[str, ...] = ()  # API host templates this host serves; empty: every API host of the profile

    @property
    def citation(self) -> str:
        return _citation(self.source, self.checked, self.confidence)


@functools.lru_cache(maxsize=1024)  # a few hundred facts, cited once per required host in a report
def _citation(source: str, checked: str, confidence: Confidence) -> str:
    return f"{source} (checked {checked}, confidence {confidence.value})"


@dataclass(frozen=True)
class HostPattern:
    template: str
    roles: tuple[str, ...]
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    known: KnownHost


@dataclass
class Profile:
    id: str
    name: str
    hosts: list[HostPattern]
    notes: list[str] = field(default_factory=list)
    unknown_chain: bool = False  # blobs may go anywhere the operator configured (self-hosted, JFrog)
    sources: list[str] = field(default_factory=list)
    tenant_variables: tuple[str, ...] = ()  # variables naming a customer (account, registry name)

    def api_patterns(self) -> list[HostPattern]:
        return [p for p in self.hosts if "api" in p.roles]


@dataclass(frozen=True, slots=True)  # remembered per matched host: 10^5 in a fleet
class ProfileMatch:
    profile: Profile
    pattern: HostPattern
    # the value of each of the pattern's variables, in pattern.variables order (None: not captured); a tuple,
    # not a dict per matched host
    values: tuple[str | None, ...]

    @classmethod
    def of(cls, profile: Profile, pattern: HostPattern, found: re.Match[str]) -> ProfileMatch:
        return cls(profile, pattern, tuple(map(found.group, pattern.variables)))

    @property
    def variables(self) -> dict[str, str]:
        """The captured variables by name (what fill_template fills)."""
        return {name: value for name, value in zip(self.pattern.variables, self.values, strict=True)
                if value is not None}

    @property
    def roles(self) -> tuple[str, ...]:
        return self.pattern.roles

    @property
    def known(self) -> KnownHost:
        return self.pattern.known


@dataclass(frozen=True)
class MultiTenant:
    domain: str
    reason: str
    source: str = ""


@dataclass
class Knowledge:
    profiles: list[Profile]
    multi_tenant: dict[str, MultiTenant] = field(default_factory=dict)
    self_hosted_hints: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    # Domains holding one label per customer, from templates with a tenant variable:
    # `{account}.dkr.ecr.{region}.amazonaws.com` makes every `dkr.ecr.REGION.amazonaws.com` multi-tenant.
    tenant_domains: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _suffix_index: _SuffixIndex | None = field(default=None, init=False, repr=False, compare=False)
    _above_shared: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _by_id: tuple[int, dict[str, Profile]] | None = field(default=None, init=False, repr=False, compare=False)
    # answers of match() and is_multi_tenant(), keyed by the name itself (no key tuple per host): the decisions
    # ask both several times per host
    _match_memo: dict[str, ProfileMatch | None] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)
    _tenant_memo: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    # required_for's patterns per (endpoint pattern, options), and its filled facts per the variables they name
    _required_plans: dict[tuple[int, bool, bool],
                          tuple[tuple[HostPattern, ...], Callable[[tuple[str | None, ...]], object]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _required_filled: dict[tuple[object, ...], tuple[KnownHost | None, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # required_for's filled facts by (fact, filled host): the storage bucket of a region is one object for all
    # the registries of that region, not one per registry
    _filled: dict[tuple[int, str], KnownHost] = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- matching --------------------------------------------------------------------------------

    def match(self, host: str, remember: bool = True) -> ProfileMatch | None:
        """Which registry family HOST belongs to, preferring an API pattern, then the most specific.

        Only the patterns whose fixed tail (`amazonaws.com` of `{account}.dkr.ecr.{region}.amazonaws.com`)
        is one of HOST's parent domains are tried (`_SuffixIndex`): a name under no registry's domain costs
        a few dictionary look-ups, not a regex per pattern. Ties go to the first pattern in profile order.
        REMEMBER False: a question asked once per name (a flood of new names past the host limit), whose
        answer would only fill the memo.
        """
        memo = self._match_memo
        if host in memo:
            return memo[host]
        found = self._match(host)
        if remember:
            _remember(memo, host, found)
        return found

    def forget_answers(self) -> None:
        """Drop the remembered answers of match() and is_multi_tenant() (not the filled facts, which records
        hold): a caller done asking about a run's hosts frees them for what comes next (a ProfileMatch and its
        variables per registry host, about 20 MB at 10^5 hosts). Only a cost if asked again, never a change."""
        self._match_memo.clear()
        self._tenant_memo.clear()

    def _match(self, host: str) -> ProfileMatch | None:
        index = self._suffix_index
        if index is None:
            index = self._suffix_index = _SuffixIndex(self.profiles)
        best: tuple[tuple[int, int], ProfileMatch] | None = None
        for rank, profile, pattern in index.candidates(host):
            if best is not None and rank <= best[0]:
                continue
            found = pattern.regex.fullmatch(host)
            if found is not None:
                best = (rank, ProfileMatch.of(profile, pattern, found))
        return None if best is None else best[1]

    def match_api(self, host: str) -> ProfileMatch | None:
        found = self.match(host)
        return found if found is not None and "api" in found.roles else None

    def required_for(self, endpoint_host: str, include_optional: bool = False, conditional_only: bool = False,
                     itself: bool = True) -> list[KnownHost]:
        """The hosts a pull from ENDPOINT_HOST needs (itself included), variables filled from the endpoint.

        The endpoint's own entry is included (with its roles, e.g. api+auth for ECR) unless ITSELF is False (the
        redirect graph and the audit's notes want only where the endpoint leads: a fact made per registry for
        nothing, 10^5 of them in a fleet). Hosts needed only under a condition, or not for a pull at all, are
        left out unless INCLUDE_OPTIONAL; CONDITIONAL_ONLY gives only those needed under a condition (the
        audit's notes: no template filled for the others).
        """
        found = self.match_api(endpoint_host)
        if found is None:
            return []
        plan_key = (id(found.pattern), include_optional, conditional_only)  # patterns live as long as self
        plan = self._required_plans.get(plan_key)
        if plan is None:
            plan = self._required_plans[plan_key] = self._required_plan(found, include_optional, conditional_only)
        patterns, pick = plan
        # The facts other than the endpoint depend only on the variables their templates name: a fleet's 10^5
        # ECR registries fill the same few token and bucket hosts per region, once each. Their values are picked
        # from the match by position; the variables' dict is made only to fill the templates.
        fill_key = (plan_key, pick(found.values))
        filled = self._required_filled.get(fill_key)
        if filled is None:
            variables = found.variables
            filled = tuple(None if pattern is found.pattern
                           else self._filled_fact(pattern.known, *fill_template(pattern.template, variables))
                           for pattern in patterns)
            _remember(self._required_filled, fill_key, filled)
        if not itself:
            return [known for known in filled if known is not None]
        result: list[KnownHost] = []
        for index, pattern in enumerate(patterns):
            if pattern is found.pattern:  # the endpoint itself: one per registry, not worth remembering
                known = pattern.known
                result.append(KnownHost(endpoint_host, known.role, known.confidence, known.source, known.checked,
                                        known.note, False, known.needed, known.condition, known.profile,
                                        known.applies_to))
            else:
                result.append(filled[index])  # type: ignore[arg-type]
        return result

    @staticmethod
    def _required_plan(found: ProfileMatch, include_optional: bool, conditional_only: bool
                       ) -> tuple[tuple[HostPattern, ...], Callable[[tuple[str | None, ...]], object]]:
        """The patterns of FOUND's profile that required_for reports for an endpoint matching FOUND's pattern (it
        included), in profile order, and what picks the values of the variables the other patterns' templates
        name from a match's values (None for one the endpoint's pattern does not capture)."""
        patterns = []
        for pattern in found.profile.hosts:
            known = pattern.known
            if not (known.needed or include_optional) or (conditional_only and not known.condition):
                continue
            if "api" in pattern.roles and pattern is not found.pattern:
                continue  # another front door of the family (FIPS, dual-stack, sovereign): an alternative
            if known.applies_to and found.pattern.template not in known.applies_to:
                continue  # serves another registry of the family (Red Hat's signature store, ...)
            patterns.append(pattern)
        used = sorted({name for pattern in patterns if pattern is not found.pattern
                       for name in _VARIABLE_RE.findall(pattern.template)})
        captured = found.pattern.variables
        positions = [captured.index(name) if name in captured else None for name in used]
        if None in positions:  # a template names a variable this endpoint does not capture: it stays a wildcard
            def pick(values: tuple[str | None, ...]) -> object:
                return tuple(None if at is None else values[at] for at in positions)
        elif positions:
            pick = operator.itemgetter(*positions)  # type: ignore[arg-type]
        else:
            def pick(values: tuple[str | None, ...]) -> object:
                return ()
        return tuple(patterns), pick

    def _filled_fact(self, known: KnownHost, host: str, wildcard: bool) -> KnownHost:
        """KNOWN about HOST, one shared object per (fact, host): the facts are frozen, and a fleet's registries
        of one region all need the same bucket host."""
        if host == known.host_or_pattern and wildcard == known.wildcard:
            return known
        key = (id(known), host)
        filled = self._filled.get(key)
        if filled is None:
            filled = KnownHost(host, known.role, known.confidence, known.source, known.checked, known.note,
                               wildcard, known.needed, known.condition, known.profile, known.applies_to)
            _remember(self._filled, key, filled)
        return filled

    def is_multi_tenant(self, domain: str) -> str | None:
        """Why allowing DOMAIN (and, by suffix matching, its subdomains) allows other tenants' content.

        True for knowledge-base entries, Public Suffix List suffixes (ICANN and private sections), and
        any domain above one of those (`core.windows.net` holds `blob.core.windows.net`).
        """
        memo = self._tenant_memo
        if domain in memo:
            return memo[domain]
        reason = self._multi_tenant_reason(domain)
        _remember(memo, domain, reason)
        return reason

    def _multi_tenant_reason(self, domain: str) -> str | None:
        entry = self.multi_tenant.get(domain)
        if entry is not None:
            return entry.reason
        for regex, reason in self.tenant_domains:
            if regex.fullmatch(domain):
                return f"{domain} holds {reason}"
        # the whole list first: a name it does not hold is in neither section (one look-up for most names; every
        # public suffix of the ICANN section is one of the whole list, checked over the list's rules)
        if _psl().is_public(domain):
            if _icann().is_public(domain):
                return f"{domain} is a public suffix (Public Suffix List): anyone can register names under it"
            return (f"{domain} is a shared domain (Public Suffix List, private section): "
                    "its subdomains belong to different customers")
        above = self._above_shared
        if above is None:  # every parent domain of a multi-tenant domain -> the first such domain under it
            above = self._above_shared = {}
            for shared in sorted(self.multi_tenant):
                labels = shared.split(".")
                for index in range(1, len(labels)):
                    above.setdefault(".".join(labels[index:]), shared)
        shared = above.get(domain)
        if shared is not None:
            return f"{domain} contains the multi-tenant domain {shared}: {self.multi_tenant[shared].reason}"
        return None

    def shared_suffix(self, host: str) -> str | None:
        """The longest multi-tenant domain strictly above HOST (`s3.us-east-1.amazonaws.com` for a bucket)."""
        labels = host.split(".")
        for index in range(1, len(labels)):
            candidate = ".".join(labels[index:])
            if self.is_multi_tenant(candidate) is not None:
                return candidate
        return None

    def is_public_suffix(self, domain: str) -> bool:
        """True for ICANN public suffixes (`com`, `co.uk`): never a sensible allowlist entry."""
        return bool(_icann().is_public(domain))

    def well_known_registry_hosts(self) -> list[str]:
        """Hosts of well-known registries, and the fixed domains of their patterns (for lookalike checks).

        `{account}.dkr.ecr.{region}.amazonaws.com` contributes `amazonaws.com`: a lookalike of a shared
        domain is as suspicious as one of a registry host.
        """
        names: set[str] = set()
        for profile in self.profiles:
            for pattern in profile.hosts:
                if "{" in pattern.template or "*" in pattern.template:
                    tail = _fixed_tail(pattern.template)
                    if "." in tail:
                        names.add(tail)
                else:
                    names.add(pattern.template)
        return sorted(names)

    def self_hosted_hint(self, host: str) -> str | None:
        """A hint that HOST looks like a self-hosted registry (Harbor, Nexus, Artifactory ...)."""
        if self.match(host) is not None:
            return None
        return self.self_hosted_look(host)

    def self_hosted_look(self, host: str) -> str | None:
        """The self-hosted hint HOST's name matches, whether or not the knowledge base knows HOST."""
        for regex, hint in self.self_hosted_hints:
            if regex.search(host):
                return hint
        return None

    def profile(self, profile_id: str) -> Profile | None:
        """The first profile with PROFILE_ID (asked once per registry host: a look-up, not a scan)."""
        held = self._by_id
        if held is None or held[0] != len(self.profiles):
            by_id: dict[str, Profile] = {}
            for profile in self.profiles:
                by_id.setdefault(profile.id, profile)
            held = self._by_id = (len(self.profiles), by_id)
        return held[1].get(profile_id)


MEMO_LIMIT = 1 << 18  # answers remembered (about 100 bytes each); past it the memo starts over


def _remember(memo: dict[Any, Any], key: object, value: object) -> None:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


class _SuffixIndex:
    """Every host pattern of the knowledge base, filed under its fixed tail: the one combined matcher.

    A pattern can only match a host that ends in its tail at a label boundary (the tail follows the
    last variable label; a pattern without variables is its own tail), so a host's candidates are the
    patterns filed under its parent domains, plus the few whose template ends in a variable
    (`{name}.azurecr.{tld}`). Candidates come in profile order, each with its rank (API first, then the
    most fixed characters), as the one-by-one loop tried them.
    """

    def __init__(self, profiles: list[Profile]) -> None:
        entries: list[tuple[int, tuple[int, int], Profile, HostPattern, str]] = []
        for profile in profiles:
            for pattern in profile.hosts:
                template = pattern.template
                fixed = len(_VARIABLE_RE.sub("", template).replace("*", ""))
                rank = (1 if "api" in pattern.roles else 0, fixed)
                variable = "{" in template or "*" in template
                tail = _fixed_tail(template) if variable else template
                entries.append((len(entries), rank, profile, pattern, tail))
        self.by_tail: dict[str, list[tuple[int, tuple[int, int], Profile, HostPattern]]] = {}
        self.always: list[tuple[int, tuple[int, int], Profile, HostPattern]] = []
        for order, rank, profile, pattern, tail in entries:
            bucket = self.by_tail.setdefault(tail, []) if tail else self.always
            bucket.append((order, rank, profile, pattern))
        self._merged: dict[tuple[str, ...], list[tuple[tuple[int, int], Profile, HostPattern]]] = {}

    def candidates(self, host: str) -> list[tuple[tuple[int, int], Profile, HostPattern]]:
        by_tail = self.by_tail
        tails: list[str] = []  # HOST's parent domains that are some pattern's tail: the candidates follow from them
        position = 0
        while True:
            tail = host[position:] if position else host
            if tail in by_tail:
                tails.append(tail)
            position = host.find(".", position) + 1
            if position == 0:
                break
        key = tuple(tails)
        merged = self._merged.get(key)
        if merged is None:  # the set follows from HOST's deepest tail: at most one per tail, merged and ordered once
            found = list(self.always)
            for tail in tails:
                found.extend(by_tail[tail])
            found.sort(key=lambda item: item[0])
            merged = self._merged[key] = [(rank, profile, pattern) for _order, rank, profile, pattern in found]
        return merged


def fill_template(template: str, variables: dict[str, str]) -> tuple[str, bool]:
    """TEMPLATE with known variables filled; unknown ones become `*` (then it is a wildcard pattern)."""
    wildcard = template.startswith("*.")
    pieces = _TEMPLATE_PIECES.get(template)
    if pieces is None:  # a few dozen templates, each filled once per registry host: split once
        pieces = _TEMPLATE_PIECES[template] = _VARIABLE_RE.split(template)
    if len(pieces) == 1:
        return template, wildcard
    parts = list(pieces)
    for index in range(1, len(parts), 2):  # re.split puts each variable's name at the odd positions
        value = variables.get(parts[index])
        if value is None:
            wildcard = True
            value = "*"
        parts[index] = value
    return "".join(parts), wildcard


_TEMPLATE_PIECES: dict[str, list[str]] = {}


def _fixed_tail(template: str) -> str:
    """The labels after the last variable or `*`: `{a}.dkr.ecr.{r}.amazonaws.com` -> `amazonaws.com`."""
    labels = template.split(".")
    for index in range(len(labels) - 1, -1, -1):
        if "{" in labels[index] or "*" in labels[index]:
            return ".".join(labels[index + 1:])
    return template


def pattern_anchor(pattern: str) -> str:
    """The fixed domain a wildcard pattern lives under: what a suffix entry must cover."""
    return _fixed_tail(pattern)


def _compile(template: str, variable_res: dict[str, str]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    regex = []
    names: list[str] = []
    position = 0
    for found in _VARIABLE_RE.finditer(template):
        regex.append(_literal(template[position:found.start()]))
        name = found.group(1)
        body = variable_res.get(name, DEFAULT_VARIABLE_RE)
        # A variable used twice must hold the same value: a backreference after its first use.
        regex.append(f"(?P={name})" if name in names else f"(?P<{name}>{body})")
        names.append(name)
        position = found.end()
    regex.append(_literal(template[position:]))
    return re.compile("".join(regex)), tuple(dict.fromkeys(names))


def _literal(text: str) -> str:
    # `*` is one or more labels, as in a DNS wildcard / an allowlist pattern like `*.blob.core.windows.net`.
    return re.escape(text).replace(r"\*", r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def _confidence(value: object, where: str) -> Confidence:
    key = str(value).strip().lower()
    if key not in _CONFIDENCE:
        raise KnowledgeError(f"{where}: unknown confidence {value!r}")
    return _CONFIDENCE[key]


def _load_profile(path: Path, data: dict) -> Profile:
    profile_id = str(data.get("id") or path.stem)
    variable_res = {str(k): str(v) for k, v in (data.get("variables") or {}).items()}
    patterns: list[HostPattern] = []
    for index, item in enumerate(data.get("hosts") or []):
        where = f"{path.name}: hosts[{index}]"
        if not isinstance(item, dict) or "host" not in item or "role" not in item:
            raise KnowledgeError(f"{where}: needs 'host' and 'role'")
        template = str(item["host"]).lower()
        roles = tuple(str(r) for r in [item["role"], *(item.get("also") or [])])
        needed_default = roles[0] in PULL_ROLES and not item.get("condition")
        known = KnownHost(
            host_or_pattern=template,
            role="+".join(roles),
            confidence=_confidence(item.get("confidence", "unconfirmed"), where),
            source=str(item.get("source") or ""),
            checked=str(item.get("checked") or data.get("checked") or ""),
            note=" ".join(str(item.get("note") or "").split()),
            wildcard=template.startswith("*."),
            needed=bool(item.get("needed", needed_default)),
            condition=" ".join(str(item.get("condition") or "").split()),
            profile=profile_id,
            applies_to=tuple(str(a).lower() for a in item.get("applies_to") or []),
        )
        if not known.source:
            raise KnowledgeError(f"{where}: every fact needs a source")
        regex, names = _compile(template, variable_res)
        patterns.append(HostPattern(template, roles, regex, names, known))
    notes = [" ".join(str(n).split()) for n in data.get("notes") or []]
    return Profile(profile_id, str(data.get("name") or profile_id), patterns, notes,
                   bool(data.get("unknown_chain", False)), [str(s) for s in data.get("sources") or []],
                   tuple(str(v) for v in data.get("tenant_variables") or []))


def _tenant_domains(profile: Profile, variable_res: dict[str, str]) -> list[tuple[re.Pattern[str], str]]:
    """Domains under which each tenant of PROFILE gets its own label (see Knowledge.tenant_domains)."""
    found = []
    for pattern in profile.hosts:
        labels = pattern.template.split(".")
        for index, label in enumerate(labels):
            if any(f"{{{name}}}" in label for name in profile.tenant_variables):
                suffix = ".".join(labels[index + 1:])
                if suffix:
                    regex, _names = _compile(suffix, variable_res)
                    found.append((regex, f"every {profile.name} customer's {pattern.template}"))
                break
    return found


@cache
def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """Read every profile under DIRECTORY (the packaged knowledge base by default)."""
    profiles: list[Profile] = []
    multi_tenant: dict[str, MultiTenant] = {}
    hints: list[tuple[re.Pattern[str], str]] = []
    tenant_domains: list[tuple[re.Pattern[str], str]] = []
    for path in sorted(directory.glob("*.yaml")):
        documents = list(load_documents(path.read_text(encoding="utf-8")))
        data = documents[0] if documents else None
        if not isinstance(data, dict):
            raise KnowledgeError(f"{path.name}: expected a mapping")
        if path.stem == "multi_tenant":
            for item in data.get("domains") or []:
                domain = str(item["domain"]).lower()
                multi_tenant[domain] = MultiTenant(domain, " ".join(str(item["reason"]).split()),
                                                   str(item.get("source") or ""))
        elif path.stem == "self_hosted":
            for item in data.get("hints") or []:
                hints.append((re.compile(str(item["pattern"])), " ".join(str(item["hint"]).split())))
        else:
            profile = _load_profile(path, data)
            profiles.append(profile)
            variable_res = {str(k): str(v) for k, v in (data.get("variables") or {}).items()}
            tenant_domains.extend(_tenant_domains(profile, variable_res))
    return Knowledge(profiles, multi_tenant, hints, tenant_domains)


@cache
def _psl():  # type: ignore[no-untyped-def]
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False)


@cache
def _icann():  # type: ignore[no-untyped-def]
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=True, accept_unknown=False)
