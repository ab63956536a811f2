"""Hosts that imitate a registry host: homoglyphs, punycode, typosquats, prefix tricks, near misses.

A lookalike is only interesting when someone else could own it, so a host is compared by its registrable
domain (public suffix + one label): `registry-1.docker.io` is Docker's own whatever its spelling, while
`docker-io.com` or `ghrc.io` belong to whoever registered them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

# Characters that render like ASCII letters in common fonts (Unicode confusables, the subset attackers use
# in domain names: Cyrillic, Greek, Latin extensions), plus ASCII digit swaps.
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "в": "b",
    "ο": "o", "α": "a", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ε": "e",
    "ı": "i", "ł": "l", "ɩ": "i", "ɑ": "a", "ǀ": "l", "ḋ": "d", "ė": "e", "ȯ": "o", "ċ": "c", "ġ": "g",
    "0": "o", "1": "l", "3": "e", "5": "s",
})

_psl = PublicSuffixList()


@dataclass(frozen=True, slots=True)
class Lookalike:
    host: str
    imitates: str
    technique: str  # homoglyph | punycode | typosquat | prefix-trick | edit-distance
    distance: int
    explanation: str


def to_unicode(host: str) -> str:
    """The host as a person would read it (punycode labels decoded); unchanged when not decodable."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.decode(label)
            except idna.IDNAError:
                with suppress(UnicodeError):  # mixed scripts that IDNA 2008 refuses still display
                    label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    """What a reader sees: confusable characters folded to ASCII, `rn` read as `m`, `vv` as `w`."""
    folded = text.lower().translate(_CONFUSABLE)
    return folded.replace("rn", "m").replace("vv", "w")


@lru_cache(maxsize=4096)
def registrable(host: str) -> str:
    return _psl.privatesuffix(host) or host


@lru_cache(maxsize=65536)
def _suffix(host: str) -> str:
    return _psl.publicsuffix(host) or host.rpartition(".")[2]


_NOT_ASCII_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def _collapse(text: str) -> str:
    if text.isascii():  # every host name of a resolver log: one regex pass, not a generator per character
        return _NOT_ASCII_ALNUM.sub("", text)
    return "".join(ch for ch in text if ch.isalnum())


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions).

    With LIMIT, stops as soon as the distance must exceed it and returns LIMIT + 1: screening thousands of
    resolver names only needs to know whether a name is within one or two edits.
    """
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if limit is not None and min(cur) > limit and (i < 2 or min(prev) > limit):
            return limit + 1  # every later row only grows (a transposition reaches back one row)
        prev2, prev = prev, cur
    distance = prev[len(b)]
    return distance if limit is None or distance <= limit else limit + 1


@lru_cache(maxsize=1 << 16)
def _label_distance(a: str, b: str, limit: int) -> int:
    """edit_distance of two registrable labels, remembered: a resolver's long tail names thousands of hosts under
    each of a few hundred domains (`t1f.metrics.vendor12.net`), and each is compared with the same targets."""
    return edit_distance(a, b, limit)


def _strip_suffix(host: str) -> str:
    return host[: -len(_suffix(host)) - 1] if "." in host else host


@dataclass(frozen=True, slots=True)
class _Name:
    """Every spelling of a name the comparisons need, computed once."""

    host: str
    domain: str  # registrable domain
    label: str  # the registrable domain without its public suffix
    suffix: str
    collapsed: str  # host without dots and hyphens
    collapsed_domain: str
    collapsed_bare: str  # host without its suffix, without dots and hyphens
    skeleton: str
    skeleton_domain: str
    skeleton_registrable: str
    collapsed_label: str

    @classmethod
    def of(cls, host: str, shown: str | None = None, screened_ascii: bool = False) -> _Name:
        """HOST's spellings (SHOWN: as a reader sees it). SCREENED_ASCII: HOST is a screened ASCII name shown as
        itself, whose `collapsed`, `collapsed_domain`, `skeleton` and `skeleton_domain` _compare never reads
        (only a target's, or a confusable name's): they are left empty, not computed for 10^5 names."""
        shown = shown or host
        domain = registrable(host)
        # a name's public suffix is its registrable domain's: one Public Suffix List look-up per name, not two
        suffix = _suffix(domain)
        label = domain[:-len(suffix) - 1] if "." in domain else domain
        bare = host[:-len(suffix) - 1] if "." in host else host
        if screened_ascii:
            return cls(host, domain, label, suffix, "", "", _collapse(bare), "", "", skeleton(domain),
                       _collapse(label))
        return cls(host, domain, label, suffix, _collapse(host), _collapse(domain), _collapse(bare), skeleton(shown),
                   skeleton(registrable_unicode(shown)), skeleton(domain), _collapse(label))


@lru_cache(maxsize=16)
def _prepared(targets: frozenset[str]) -> tuple[tuple[_Name, ...], frozenset[str]]:
    names = tuple(_Name.of(t) for t in sorted(targets))
    return names, frozenset(n.domain for n in names)


@dataclass(frozen=True)
class _Index:
    """The targets by each spelling an ASCII host can share with one (see _candidates)."""

    by_host: dict[str, list[int]]
    by_label_form: dict[str, list[int]]  # collapsed, collapsed_domain, collapsed_bare
    by_collapsed: dict[str, list[int]]
    by_skeleton: dict[str, list[int]]  # skeleton_registrable
    by_suffix: dict[str, list[int]]


@lru_cache(maxsize=16)
def _index(targets: frozenset[str]) -> _Index:
    index = _Index({}, {}, {}, {}, {})
    for position, name in enumerate(_prepared(targets)[0]):
        index.by_host.setdefault(name.host, []).append(position)
        for form in {name.collapsed, name.collapsed_domain, name.collapsed_bare}:
            index.by_label_form.setdefault(form, []).append(position)
        index.by_collapsed.setdefault(name.collapsed, []).append(position)
        index.by_skeleton.setdefault(name.skeleton_registrable, []).append(position)
        index.by_suffix.setdefault(name.suffix, []).append(position)
    return index


def _candidates(host: str, own: _Name, targets: frozenset[str]) -> list[int]:
    """Positions of the targets _compare could match an ASCII HOST (shown as itself) with, in target order: a
    superset of those it does match, found by look-ups rather than a comparison with every target (an audit
    screens every observed host, 10^5 of them in a fleet)."""
    index = _index(targets)
    found: set[int] = set()
    by_host = index.by_host
    for separator in ".-":  # prefix-trick: the target, then `.` or `-` (found by find, not a loop per character)
        at = host.find(separator)
        while at >= 0:
            found.update(by_host.get(host[:at], ()))
            at = host.find(separator, at + 1)
    found.update(index.by_label_form.get(own.collapsed_label, ()))
    found.update(index.by_collapsed.get(own.collapsed_bare, ()))
    found.update(index.by_skeleton.get(own.skeleton_registrable, ()))
    names = _prepared(targets)[0]
    length = len(own.label)
    found.update(position for position in index.by_suffix.get(own.suffix, ())  # edit distance: same suffix,
                 if abs(len(names[position].label) - length) <= 2)  # lengths within the larger limit
    return sorted(found)


def _covered(host: str, targets: frozenset[str]) -> bool:
    """Whether HOST is a target or under one: HOST and each of its parent domains looked up, not every target."""
    if host in targets:
        return True
    at = host.find(".")
    while at >= 0:
        if host[at + 1:] in targets:
            return True
        at = host.find(".", at + 1)
    return False


def find_lookalike(host: str, targets: frozenset[str]) -> Lookalike | None:
    """The registry host HOST imitates, if any. TARGETS are approved and well-known registry hosts."""
    host = host.lower().rstrip(".")
    if not host or _covered(host, targets):
        return None
    prepared, domains = _prepared(targets)
    shown = to_unicode(host) if "xn--" in host else host  # only punycode labels read differently
    plain = shown == host and host.isascii()  # no confusable to check: only targets sharing a spelling can match
    own = _Name.of(host, shown, screened_ascii=plain)
    if own.domain in domains:
        return None  # a subdomain of a known registry's own domain: misspelt perhaps, but not someone else's
    if plain:
        considered: Iterable[_Name] = (prepared[position] for position in _candidates(host, own, targets))
    else:
        considered = prepared
    found = [f for t in considered if (f := _compare(host, shown, own, t)) is not None]
    if not found:
        return None
    # the closest imitation names the most telling target: `d0cker.io` imitates `docker.io`, not `auth.docker.io`
    return min(found, key=lambda f: (_RANK[f.technique], edit_distance(shown, f.imitates), f.imitates))


_RANK = {"punycode": 0, "homoglyph": 1, "prefix-trick": 2, "typosquat": 3, "edit-distance": 4}


def _compare(host: str, shown: str, own: _Name, target: _Name) -> Lookalike | None:
    if (shown != host or not host.isascii()) and (
            own.skeleton in (target.skeleton, target.skeleton_domain) or own.skeleton_domain == target.skeleton_domain):
        technique = "punycode" if shown != host else "homoglyph"
        return Lookalike(host, target.host, technique, edit_distance(shown, target.host),
                         f"{shown!r} renders like {target.host!r} (confusable characters"
                         f"{', IDNA/punycode ' + host if shown != host else ''})")
    if host.startswith((target.host + ".", target.host + "-")):
        return Lookalike(host, target.host, "prefix-trick", len(host) - len(target.host),
                         f"starts with {target.host!r} but belongs to {own.domain!r}")
    own_label = own.collapsed_label
    if own_label in (target.collapsed, target.collapsed_domain, target.collapsed_bare) \
            or own.collapsed_bare == target.collapsed:
        how = "uses the same name under another suffix" if own_label == target.collapsed_bare \
            else "spells it with its dots moved or replaced"
        return Lookalike(host, target.host, "typosquat", edit_distance(host, target.host),
                         f"{own.domain!r} {how} ({target.host!r})")
    if own.skeleton_registrable == target.skeleton_registrable:
        return Lookalike(host, target.host, "homoglyph", edit_distance(own.domain, target.domain),
                         f"{own.domain!r} reads like {target.domain!r} (look-alike characters)")
    limit = 1 if len(target.label) < 8 else 2
    if own.suffix != target.suffix or len(target.label) < 4 or abs(len(own.label) - len(target.label)) > limit \
            or own.label == target.label:
        return None
    distance = _label_distance(own.label, target.label, limit)
    if distance <= limit:
        return Lookalike(host, target.host, "edit-distance", distance,
                         f"{own.domain!r} is {distance} edit{'' if distance == 1 else 's'} from {target.domain!r}")
    return None


def registrable_unicode(shown: str) -> str:
    labels = shown.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else shown
