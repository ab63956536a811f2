"""The decisions' fast paths answer exactly as the general code they short-cut."""

from __future__ import annotations

import gc
import random
import re

import pytest

from auditor.core.allowlist import normalize_host
from auditor.core.gc_budget import few_collections
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


def test_few_collections_pauses_the_collector_only_while_it_runs() -> None:
    if not gc.isenabled():
        pytest.skip("the collector is off here already")
    seen = few_collections(gc.isenabled)()
    assert seen is False and gc.isenabled()

    @few_collections
    def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        few_collections(gc.isenabled)()
        assert not gc.isenabled()  # a caller's paused collector stays paused
    finally:
        gc.enable()


def test_what_a_block_keeps_leaves_the_young_generation_and_a_cycle_it_drops_is_freed_after() -> None:
    import weakref

    class Node:
        pass

    if not gc.isenabled():
        pytest.skip("the collector is off here already")

    @few_collections
    def build() -> tuple[list[list[int]], weakref.ref[Node]]:
        node = Node()
        node.self = node  # type: ignore[attr-defined]  # a cycle: only the collector frees it
        return [[index] for index in range(20_000)], weakref.ref(node)

    kept, alive = build()
    # the 20,000 lists kept were moved to the oldest generation without a pass over them: no young pass is due
    assert gc.get_count()[0] < 1_000 and len(kept) == 20_000
    assert alive() is not None  # nothing walked the block's objects
    gc.collect()
    assert alive() is None


def test_the_collector_resumes_when_the_last_block_ends_nested_or_in_another_thread() -> None:
    import threading

    if not gc.isenabled():
        pytest.skip("the collector is off here already")
    seen: dict[str, bool] = {}

    @few_collections
    def inner() -> None:
        seen["inner"] = gc.isenabled()

    @few_collections
    def outer() -> None:
        inner()
        seen["after inner"] = gc.isenabled()

    outer()
    assert seen == {"inner": False, "after inner": False} and gc.isenabled()

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    @few_collections
    def first() -> None:
        first_in.set()
        second_in.wait(5)

    @few_collections
    def second() -> None:
        second_in.set()
        first_out.wait(5)
        seen["after the first ended"] = gc.isenabled()

    one = threading.Thread(target=first)
    two = threading.Thread(target=lambda: (first_in.wait(5), second()))
    one.start()
    two.start()
    one.join(5)
    first_out.set()
    two.join(5)
    assert seen["after the first ended"] is False  # the first block to start was not the last to end
    assert gc.isenabled()
