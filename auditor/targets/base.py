"""What every enforcement point has in common: rules that allow names, each with a scope, and native formats.

A target is the semantics of one place where the registry decision is enforced (Docker Desktop RAM, a Squid
proxy, a DNS firewall, harden-runner, Kubernetes admission). The same allowlist line means different things
in each: `docker.io` is one Docker Hub switch on RAM, one exact name on Squid. A Target says how an entry
matches a host, which entries are valid, the limits, what is allowed without an entry, and how its native
configuration is read and written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from auditor.core.allowlist import DOCKER_HUB_NAMES, Allowlist, AllowlistEntry, is_ip, read_allowlist
from auditor.core.model import InputError


class Scope(StrEnum):
    EXACT = "exact"  # the name only
    SUBTREE = "subtree"  # the name and every name below it (Squid `.example.com`)
    BELOW = "below"  # only the names below it (RPZ/harden-runner `*.example.com`)


@dataclass(frozen=True)
class Rule:
    """One allowed name as an enforcement point stores it: a host and how far below it the rule reaches."""

    host: str
    scope: Scope
    nickname: str = ""
    rationale: str = ""

    def covers(self, host: str) -> bool:
        """Whether this rule lets HOST through (`*.x` patterns: only a rule reaching below x covers them)."""
        if host.startswith("*."):
            base = host[2:]
            return self.scope is not Scope.EXACT and (base == self.host or base.endswith("." + self.host))
        if host == self.host:
            return self.scope is not Scope.BELOW
        return self.scope is not Scope.EXACT and host.endswith("." + self.host) and not is_ip(host)


Writer = Callable[[Sequence[Rule]], str]


@dataclass(frozen=True)
class Target:
    """The semantics of one enforcement point. Subclasses override what differs."""

    name: str = ""
    title: str = ""
    limit: int | None = None  # most entries the enforcement point accepts (None: no documented limit)
    hub_switch: bool = False  # one Docker Hub entry allows every host of a Hub pull
    matches_images: bool = False  # entries are image-name prefixes, not hosts (Kubernetes admission)
    formats: dict[str, Writer] = field(default_factory=dict, compare=False, hash=False)
    default_format: str = ""
    summary: str = ""  # one sentence on how entries match here, for proposals and reports

    # -- entries -----------------------------------------------------------------------------------

    def scope(self, entry: AllowlistEntry) -> Scope:
        """How far below its address ENTRY reaches, read from how it was written."""
        text = entry.original.strip()
        if text.startswith("*."):
            return Scope.BELOW
        if text.startswith("."):
            return Scope.SUBTREE
        return Scope.EXACT

    def rule(self, entry: AllowlistEntry) -> Rule:
        return Rule(entry.address, self.scope(entry), entry.nickname, entry.rationale)

    def rules(self, allowlist: Iterable[AllowlistEntry]) -> list[Rule]:
        return [self.rule(e) for e in allowlist]

    def validate(self, text: str) -> str | None:
        """Why TEXT is not a valid entry in this target's native syntax, or None."""
        return None

    def written(self, rule: Rule) -> str:
        """RULE in this target's entry syntax, as a finding's action quotes it."""
        return rule.host

    # -- matching ----------------------------------------------------------------------------------

    def covers(self, entry: AllowlistEntry, host: str) -> bool:
        return self.rule(entry).covers(host)

    def reaches_below(self, entry: AllowlistEntry) -> bool:
        """Whether ENTRY allows names below its own (what makes a shared domain over-broad)."""
        return self.scope(entry) is not Scope.EXACT

    def match(self, allowlist: Allowlist, host: str) -> AllowlistEntry | None:
        """The narrowest entry that lets HOST through, or None."""
        best: AllowlistEntry | None = None
        for entry in allowlist:
            if self.covers(entry, host) and (best is None or len(entry.address) > len(best.address)):
                best = entry
        return best

    def hub_allows(self, allowlist: Allowlist) -> bool:
        """Whether the allowlist's Docker Hub entry stands for all of Hub's hosts (RAM's switch)."""
        return self.hub_switch and any(e.address in DOCKER_HUB_NAMES for e in allowlist)

    def count(self, allowlist: Allowlist, count_docker_hub_default: bool = False) -> int:
        """Entries toward the limit."""
        return len(allowlist)

    def implicitly_allowed(self, host: str) -> str | None:
        """Why HOST passes without any entry on this target, or None."""
        return None

    # -- native formats ----------------------------------------------------------------------------

    def read(self, path: Path) -> tuple[Allowlist, list[InputError]]:
        """The allowlist in PATH (plain text, CSV, JSON or Squid acl lines: auditor/core/allowlist.py)."""
        return read_allowlist(path)

    def write(self, rules: Sequence[Rule], output_format: str | None = None) -> str:
        name = output_format or self.default_format
        if name not in self.formats:
            known = ", ".join(sorted(self.formats))
            raise ValueError(f"target {self.name} has no format {name!r} (known: {known})")
        return self.formats[name](rules)


def merged(rules: Iterable[Rule]) -> list[Rule]:
    """RULES sorted by host, one per host (the widest scope wins), without rules another rule already covers.

    Engines refuse or warn about a name listed next to a rule that already covers it (Squid: "is a subdomain
    of"); a writer therefore gets the smallest equivalent set.
    """
    widest: dict[str, Rule] = {}
    order = {Scope.EXACT: 0, Scope.BELOW: 1, Scope.SUBTREE: 2}
    for rule in rules:
        kept = widest.get(rule.host)
        if kept is None:
            widest[rule.host] = rule
        elif kept.scope is not rule.scope and {kept.scope, rule.scope} == {Scope.EXACT, Scope.BELOW}:
            widest[rule.host] = Rule(rule.host, Scope.SUBTREE, kept.nickname or rule.nickname,
                                     kept.rationale or rule.rationale)
        elif order[rule.scope] > order[kept.scope]:
            widest[rule.host] = rule
    kept_rules = list(widest.values())
    return sorted((r for r in kept_rules if not any(o is not r and subsumes(o, r) for o in kept_rules)),
                  key=lambda r: r.host)


def subsumes(wider: Rule, rule: Rule) -> bool:
    """Whether WIDER lets through every name RULE does."""
    below = wider.covers("*." + rule.host)
    if rule.scope is Scope.BELOW:
        return below
    return wider.covers(rule.host) and (rule.scope is Scope.EXACT or below)


def one_line(text: str) -> str:
    return " ".join(text.split())


def read_words(path: Path, words: Callable[[str], list[tuple[int, str]]] | None
               ) -> tuple[Allowlist, list[InputError]] | None:
    """An allowlist from the (line, entry) pairs WORDS finds in PATH's text, or None when it finds none.

    For the native formats whose entries sit among other syntax (an RPZ zone, a workflow step): each entry
    is checked like an allowlist line; the other syntax is not an entry and is not reported.
    """
    from auditor.core.allowlist import MAX_ALLOWLIST_BYTES, normalize_host
    from auditor.core.model import Source

    try:
        with path.open("rb") as handle:
            text = handle.read(MAX_ALLOWLIST_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None  # the plain reader reports it
    found = words(text) if words else []
    if not found:
        return None
    entries: list[AllowlistEntry] = []
    errors: list[InputError] = []
    for line, word in found:
        bare = word[2:] if word.startswith("*.") else word
        try:
            entries.append(AllowlistEntry(normalize_host(bare), word, line=line))
        except ValueError as exc:
            errors.append(InputError(f"invalid entry {word[:80]!r}: {exc}", Source(str(path), line)))
    return Allowlist(entries, str(path)), errors
