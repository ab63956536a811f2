"""find_lookalike's look-up of candidate targets finds what comparing a host with every target finds."""

from __future__ import annotations

import random

from auditor.decisions import lookalike
from auditor.decisions.lookalike import _compare, _Name, _prepared, find_lookalike, to_unicode
from auditor.knowledge import load_knowledge


def _every_target(host: str, targets: frozenset[str]) -> lookalike.Lookalike | None:
    """find_lookalike as it was: _compare with every target, the closest kept."""
    host = host.lower().rstrip(".")
    if not host or any(host == t or host.endswith("." + t) for t in targets):
        return None
    prepared, domains = _prepared(targets)
    shown = to_unicode(host)
    own = _Name.of(host, shown)
    if own.domain in domains:
        return None
    found = [f for t in prepared if (f := _compare(host, shown, own, t)) is not None]
    if not found:
        return None
    return min(found, key=lambda f: (lookalike._RANK[f.technique], lookalike.edit_distance(shown, f.imitates),
                                     f.imitates))


def _variants(target: str, rng: random.Random) -> list[str]:
    label, _, rest = target.partition(".")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"
    at = rng.randrange(len(label))
    return [
        label[:at] + rng.choice(alphabet) + label[at + 1:] + "." + rest,  # one substitution
        label[:at] + label[at + 1:] + "." + rest if len(label) > 1 else target,  # a deletion
        label[:at] + rng.choice(alphabet) + label[at:] + "." + rest,  # an insertion
        target + rng.choice([".evil.example", "-mirror.net", ".attacker.io"]),  # a prefix trick
        target.replace(".", "-", 1) + ".com",  # dots replaced
        label + "." + rng.choice(["net", "org", "co", "io", "dev"]),  # another suffix
        target.replace("o", "0").replace("l", "1"),  # digit look-alikes
        f"h{rng.randrange(10**6)}.cdn{rng.randrange(97)}.example.net",  # unrelated
    ]


def test_the_candidate_lookup_finds_what_every_comparison_finds() -> None:
    rng = random.Random(18)
    well_known = frozenset(load_knowledge().well_known_registry_hosts()) | {"docker.io"}
    approved = frozenset({"ghcr.io", "quay.io", "registry.corp.example", "harbor.internal.test"})
    hosts = [h for target in sorted(well_known) for _ in range(4) for h in _variants(target, rng)]
    flagged = 0
    for targets in (well_known, approved):
        for host in hosts:
            expected = _every_target(host, targets)
            assert find_lookalike(host, targets) == expected, host
            flagged += expected is not None
    assert flagged > 200  # the variants do imitate: the comparison is not vacuous


def test_collapsing_and_coverage_by_lookup_agree_with_the_character_scans() -> None:
    rng = random.Random(7)
    targets = frozenset({"docker.io", "ghcr.io", "quay.io", "registry.k8s.io", "a.b.c"})
    for _ in range(3000):
        host = "".join(rng.choice("abcio.-_9kdr") for _ in range(rng.randrange(1, 14)))
        host = rng.choice([host, host + ".docker.io", host + ".quay.io", "docker.io", host + "ghcr.io", host + ".c"])
        assert lookalike._covered(host, targets) == any(host == t or host.endswith("." + t) for t in targets), host
        for text in (host, host.upper(), "ünï-" + host, "d\u043ecker.io"):
            assert lookalike._collapse(text) == "".join(ch for ch in text if ch.isalnum()), text
