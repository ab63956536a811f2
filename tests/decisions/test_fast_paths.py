"""The decisions' fast paths answer exactly as the general code they short-cut."""

from __future__ import annotations

import gc
import random
import re

import pytest

from auditor.core.allowlist import normalize_host
from auditor.core.gc_budget import FEW_COLLECTIONS_THRESHOLD, few_collections
from auditor.decisions.requirements import _normal
from auditor.knowledge import fill_template, load_knowledge

CRAFTED = ["registry.example", "1.2.3.4", "01.2.3.4", "300.1.1.1", "a-.b", "-a.b", "a..b", "a.", "x" * 63 + ".com",
           "x" * 64 + ".com", ("a" * 60 + ".") * 5 + "com", "xn--bcher-kva.example", "xn--zz.example", "a.b.123",
           "a_b.c", "Registry.Example", "a.b:5000", "https://a.b/v2/", "bücher.example", "[::1]:5000", "::1", "", " "]


def _reference(host: str) -> str | None:
    try:
        return normalize_host(host)
    except ValueError:
        return None


@pytest.mark.parametrize("host", CRAFTED)
def test_plain_host_fast_path_agrees_with_normalize_host(host: str) -> None:
    assert _normal(host) == _reference(host)


def test_plain_host_fast_path_agrees_on_random_names() -> None:
    rng = random.Random(18)
    alphabet = "ab09-_.xn:A/é"
    for _ in range(20_000):
        host = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        assert _normal(host) == _reference(host), host


def _fill_by_regex(template: str, variables: dict[str, str]) -> tuple[str, bool]:
    """The original fill_template, kept here as the reference the split-once version must equal."""
    wildcard = template.startswith("*.")
    parts, position = [], 0
    for found in re.finditer(r"\{([a-z_]+)\}", template):
        parts.append(template[position:found.start()])
        value = variables.get(found.group(1))
        if value is None:
            wildcard, value = True, "*"
        parts.append(value)
        position = found.end()
    parts.append(template[position:])
    return "".join(parts), wildcard


def test_fill_template_equals_the_regex_fill_for_every_knowledge_template() -> None:
    templates = [p.template for profile in load_knowledge().profiles for p in profile.hosts]
    assert any("{" in t for t in templates)
    for template in templates:
        for variables in ({}, {"account": "123456789012", "region": "eu-west-1"}, {"region": "us-east-1"}):
            assert fill_template(template, variables) == _fill_by_regex(template, variables), template


def test_few_collections_raises_the_threshold_only_while_it_runs() -> None:
    before = gc.get_threshold()
    seen = few_collections(gc.get_threshold)()
    assert seen[0] == max(before[0], FEW_COLLECTIONS_THRESHOLD) and seen[1:] == before[1:]
    assert gc.get_threshold() == before

    @few_collections
    def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.get_threshold() == before


def test_few_collections_freezes_only_while_it_runs_and_garbage_from_before_is_still_collected() -> None:
    import weakref

    class Node:
        pass

    if not gc.isenabled() or gc.get_threshold()[0] == 0:
        pytest.skip("the collector is off here: the block neither freezes nor relaxes")
    node = Node()
    node.self = node  # a cycle: only the collector frees it
    alive = weakref.ref(node)

    @few_collections
    def drop_and_count() -> int:
        nonlocal node
        del node
        gc.collect()  # the cycle made before the block is frozen: this pass cannot free it
        assert alive() is not None
        return gc.get_freeze_count()

    assert drop_and_count() > 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None  # unfrozen after the block, so the next pass frees it

    @few_collections
    def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.get_freeze_count() == 0


def test_a_block_inside_another_freezes_what_the_outer_made_and_only_the_outer_thaws() -> None:
    import weakref

    class Node:
        pass

    if not gc.isenabled() or gc.get_threshold()[0] == 0:
        pytest.skip("the collector is off here: the blocks neither freeze nor relax")
    before = gc.get_threshold()
    seen: dict[str, object] = {}

    @few_collections
    def inner() -> None:
        seen["inner"] = gc.get_freeze_count()
        node = seen.pop("node")
        del node  # made by the outer block before this one began: frozen by this one's start
        gc.collect()
        seen["kept"] = seen["alive"]() is not None  # type: ignore[operator]

    @few_collections
    def outer() -> None:
        seen["outer"] = gc.get_freeze_count()
        node = Node()
        node.self = node  # type: ignore[attr-defined]
        seen["alive"] = weakref.ref(node)
        seen["node"] = node
        del node
        inner()
        seen["after inner"] = gc.get_freeze_count()
        seen["threshold after inner"] = gc.get_threshold()
        gc.collect()
        seen["kept after inner"] = seen["alive"]() is not None  # type: ignore[operator]

    outer()
    assert seen["inner"] > seen["outer"]  # type: ignore[operator]
    assert seen["kept"] is True
    assert seen["after inner"] > 0 and seen["kept after inner"] is True  # the inner end thawed nothing
    assert seen["threshold after inner"][0] >= FEW_COLLECTIONS_THRESHOLD  # type: ignore[index]
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    gc.collect()
    assert seen["alive"]() is None  # type: ignore[operator]  # thawed with the outer block, then freed
