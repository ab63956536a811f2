"""RAM's `match` walks the allowlist index (a look-up per label of the host) instead of testing every entry: it
must pick exactly the entry the entry-by-entry definition (`Target.match`, from `covers`) picks, duplicates,
networks, IP hosts and wildcard hosts included, in both matching modes."""

from __future__ import annotations

import random

import pytest

from auditor.core.allowlist import MatchMode, covers, read_allowlist_bytes
from auditor.targets.base import Target
from auditor.targets.ram import RamTarget

LABELS = ["docker", "io", "com", "ghcr", "registry", "a", "b", "amazonaws", "dkr", "ecr", "us-east-1", "example"]


def _name(rng: random.Random) -> str:
    return ".".join(rng.choice(LABELS) for _ in range(rng.randint(1, 4)))


@pytest.mark.parametrize("mode", [MatchMode.SUFFIX, MatchMode.EXACT])
@pytest.mark.parametrize("seed", range(5))
def test_ram_match_through_the_index_is_the_entry_by_entry_match(mode: MatchMode, seed: int) -> None:
    rng = random.Random(seed)
    lines = [_name(rng) for _ in range(rng.randint(1, 40))]
    lines += rng.sample(lines, min(3, len(lines)))  # repeated entries: the first one stands
    lines += ["10.0.0.0/8", "192.0.2.7", "io"]
    allowlist, _errors = read_allowlist_bytes(("\n".join(lines) + "\n").encode(), "allow.txt", ".txt")
    target = RamTarget(mode=mode)
    hosts = [_name(rng) for _ in range(300)] + ["192.0.2.7", "10.1.2.3", "*.docker.io", "*.io", "io"]
    hosts += [f"*.{_name(rng)}" for _ in range(50)]
    for host in hosts:
        assert target.match(allowlist, host) is Target.match(target, allowlist, host), host
    assert any(target.match(allowlist, h) is not None for h in hosts)


@pytest.mark.parametrize("mode", [MatchMode.SUFFIX, MatchMode.EXACT])
@pytest.mark.parametrize("seed", range(5))
def test_the_index_finds_every_covering_entry_narrowest_first(mode: MatchMode, seed: int) -> None:
    """The index's walk stops at the first suffix no entry ends in: it must still find every entry `covers`
    admits, in the order the audit reads them (narrowest first)."""
    rng = random.Random(100 + seed)
    lines = [_name(rng) for _ in range(rng.randint(1, 40))]
    lines += ["192.0.2.7", "2.7", "0.2.7", "example", "io", "docker.io"]
    allowlist, _errors = read_allowlist_bytes(("\n".join(lines) + "\n").encode(), "allow.txt", ".txt")
    entries = list({e.address: e for e in reversed(allowlist.entries) if e.kind.name == "HOST"}.values())
    hosts = [_name(rng) for _ in range(300)] + ["192.0.2.7", "10.192.0.2.7", "*.2.7", "*.example", "a.docker.io"]
    hosts += [f"*.{_name(rng)}" for _ in range(50)] + [f"x.{_name(rng)}." for _ in range(20)]
    seen_wider = False
    for host in hosts:
        expected = sorted((e for e in entries if covers(e.address, host, mode)), key=lambda e: -len(e.address))
        found = allowlist.index.covering(host, mode)
        assert [e.address for e in found] == [e.address for e in expected], host
        assert all(a is b for a, b in zip(found, expected, strict=True)), host  # the first of repeated entries stands
        seen_wider = seen_wider or len(found) > 1
    assert seen_wider or mode is MatchMode.EXACT


@pytest.mark.parametrize("bound", [7, 250_000])
def test_remembered_answers_are_the_walk_and_stay_within_their_bound(bound: int, monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    """An audit asks the index about each host several times: the second answer is the first, whether remembered
    or asked again after the memo started over at its bound."""
    import auditor.core.allowlist as allowlist_module

    monkeypatch.setattr(allowlist_module, "MAX_REMEMBERED_ANSWERS", bound)
    rng = random.Random(7)
    lines = [_name(rng) for _ in range(30)] + ["docker.io", "io", "192.0.2.7"]
    allowlist, _errors = read_allowlist_bytes(("\n".join(lines) + "\n").encode(), "allow.txt", ".txt")
    index = allowlist.index
    hosts = [_name(rng) for _ in range(200)] + ["*.docker.io", "10.192.0.2.7"]
    first = [index.covering(host, MatchMode.SUFFIX) for host in hosts]
    again = [index.covering(host, MatchMode.SUFFIX) for host in reversed(hosts)][::-1]
    assert first == again
    assert first == [index._suffix_walk(host) for host in hosts]
    assert len(index._answers) <= bound
    assert any(first)
