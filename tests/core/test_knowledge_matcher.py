"""The combined knowledge matcher gives the answer the one-pattern-at-a-time loop gave, for every kind of host."""

from __future__ import annotations

import random
import re
from typing import Any

from auditor.knowledge import _VARIABLE_RE, Knowledge, load_knowledge

KB = load_knowledge()


def _one_by_one(knowledge: Knowledge, host: str) -> tuple[Any, Any, dict[str, str]] | None:
    """The matcher as it was before the suffix index: every pattern of every profile, in order; (profile,
    pattern, the captured variables by name as groupdict gives them)."""
    best = None
    for profile in knowledge.profiles:
        for pattern in profile.hosts:
            found = pattern.regex.fullmatch(host)
            if found is None:
                continue
            fixed = len(_VARIABLE_RE.sub("", pattern.template).replace("*", ""))
            rank = (1 if "api" in pattern.roles else 0, fixed)
            if best is None or rank > best[0]:
                best = (rank, (profile, pattern, {k: v for k, v in found.groupdict().items() if v is not None}))
    return None if best is None else best[1]


def _instances(rng: random.Random) -> list[str]:
    """Hosts made from every template: variables filled with plausible values, `*` with one or two labels,
    and near misses (a label added in front, the tail alone, a sibling domain)."""
    values = {"account": "123456789012", "region": "eu-west-1", "tld": "io", "name": "contoso",
              "location": "europe-west4", "multiregion": "eu"}
    hosts = []
    for profile in KB.profiles:
        for pattern in profile.hosts:
            host = _VARIABLE_RE.sub(lambda m: values.get(m.group(1), f"v{rng.randrange(99)}"), pattern.template)
            host = host.replace("*", rng.choice(["a", "a.b", "x-1"]))
            hosts += [host, "extra." + host, host.split(".", 1)[-1], host.replace(".", "-", 1),
                      re.sub(r"\.[a-z]+$", ".example", host)]
    return hosts


def test_the_index_answers_as_the_loop_did() -> None:
    rng = random.Random(18)
    hosts = [*_instances(rng), "registry.lab.test", "harbor.corp.example", "s3.amazonaws.com", "com", "",
                               "a..b", "storage.googleapis.com", "mcr.microsoft.com", "x.blob.core.windows.net"]
    assert len(hosts) > 400
    matched = 0
    for host in hosts:
        expected, got = _one_by_one(KB, host), KB.match(host)
        assert (expected is None) == (got is None), host
        if expected is not None and got is not None:
            matched += 1
            profile, pattern, variables = expected
            assert (got.profile.id, got.pattern.template, got.variables) == \
                (profile.id, pattern.template, variables), host
    assert matched > 100  # the generated hosts do exercise the patterns


def test_a_name_under_no_registry_domain_tries_only_the_tail_less_patterns() -> None:
    KB.match("warm.up")  # the index is built on the first match
    index = KB._suffix_index
    assert index is not None
    tried = index.candidates("h1f.cdn3.example.net")
    total = sum(len(p.hosts) for p in KB.profiles)
    assert total > 50
    assert len(tried) == len(index.always) < 10
