"""Bake expressions: variables with defaults, `${}` interpolation, functions (stdlib and user `function`
blocks), conditionals, `for` expressions, `inherits` and build args reaching a Dockerfile's `FROM ${BASE}`;
partial references where the time or another unknowable decides part of a name; never executed."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from auditor.core.evidence import EvidenceStore
from auditor.core.model import ImageReference, Unresolved
from parsers.repo import bake
from parsers.repo.bake_file import BakeProject, evaluate, parse_hcl
from tests.conftest import FIXTURES, run_parser

TREE = FIXTURES / "repo" / "bake" / "expressions"


def _eval(expression: str, preamble: str = "", overrides: dict[str, str] | None = None) -> tuple[str | None, str]:
    blocks, error = parse_hcl(f'{preamble}\ntarget "t" {{\n  x = {expression}\n}}\n')
    assert error is None, error
    project = BakeProject(blocks, overrides or {})
    value = evaluate(project.targets["t"].attributes["x"], project.variables)
    return value.text, value.shown


VARS = 'variable "REGISTRY" {\n  default = "ghcr.io/acme"\n}\nvariable "V" {\n  default = "1.2.3"\n}\n'


@pytest.mark.parametrize(("expression", "expected"), [
    ('"${REGISTRY}/app:${V}"', "ghcr.io/acme/app:1.2.3"),
    ('join("/", [REGISTRY, "app"])', "ghcr.io/acme/app"),
    ('format("%s/%s:%s", REGISTRY, "app", V)', "ghcr.io/acme/app:1.2.3"),
    ('"${lower("QUAY.IO")}/x:${trimprefix("v1", "v")}"', "quay.io/x:1"),
    ('V == "1.2.3" ? "a:1" : "b:2"', "a:1"),
    ('notequal("", REGISTRY) ? "${REGISTRY}/x" : "x"', "ghcr.io/acme/x"),
    ('"${replace(V, ".", "-")}"', "1-2-3"),
    ('element(split(",", "a,b"), 1)', "b"),
    ('"$${NOT_INTERPOLATED}"', "${NOT_INTERPOLATED}"),
    ('"${substr(V, 0, 3)}"', "1.2"),
    ('coalesce("", REGISTRY)', "ghcr.io/acme"),
])
def test_expressions_bake_files_use_are_evaluated(expression: str, expected: str) -> None:
    assert _eval(expression, VARS) == (expected, "")


def test_set_overrides_a_default_that_other_defaults_use() -> None:
    preamble = VARS + 'variable "IMAGE" {\n  default = "${REGISTRY}/app:${V}"\n}\n'
    assert _eval("IMAGE", preamble, {"REGISTRY": "registry.corp.example"})[0] == "registry.corp.example/app:1.2.3"


def test_user_functions_and_for_expressions() -> None:
    preamble = VARS + 'function "tag" {\n  params = [name]\n  result = "${REGISTRY}/${name}:${V}"\n}\n'
    assert _eval('tag("web")', preamble)[0] == "ghcr.io/acme/web:1.2.3"
    blocks, _error = parse_hcl(preamble + 'target "t" {\n  tags = [for n in ["a", "b"] : tag(n) if n != "b"]\n}\n')
    project = BakeProject(blocks, {})
    from parsers.repo.bake_file import evaluate_items
    assert [v.text for _e, v in evaluate_items(project.targets["t"].attributes["tags"], project.variables)] == [
        "ghcr.io/acme/a:1.2.3"]


def test_what_cannot_be_known_keeps_the_known_text() -> None:
    text, shown = _eval('"${REGISTRY}/app:${formatdate("YYYYMMDD", timestamp())}"', VARS)
    assert text is None and shown == 'ghcr.io/acme/app:${formatdate("YYYYMMDD", timestamp())}'
    text, shown = _eval('"${MISSING}/app:1"', VARS)
    assert text is None and shown == "${MISSING}/app:1"
    text, shown = _eval('regex_replace(V, "[.]", "")', VARS)
    assert text is None and shown == '${regex_replace(V, "[.]", "")}'
    text, _shown = _eval('"${a}" + 1', 'variable "a" {\n  default = "x"\n}\n')
    assert text is None  # `+` on a string: bake refuses, so does this reader


def test_a_bake_tree_with_expressions() -> None:
    records = run_parser(bake.parse, TREE / "docker-bake.hcl")
    refs = {(r.canonical, r.source.path.rsplit("/", 1)[1], r.source.line, r.context)
            for r in records if isinstance(r, ImageReference)}
    assert refs == {
        ("ghcr.io/acme/web:2.3.1", "docker-bake.hcl", 34, "target.web.tags (pushed)"),  # a user function
        ("ghcr.io/acme/web:stable", "docker-bake.hcl", 34, "target.web.tags (pushed)"),  # a for over split()
        ("ghcr.io/acme/web:lts", "docker-bake.hcl", 34, "target.web.tags (pushed)"),
        ("ghcr.io/acme/cache/web:latest", "docker-bake.hcl", 35, "target.web.cache-from"),  # join()
        ("ghcr.io/acme/cache/web:latest", "docker-bake.hcl", 35, "target.nightly.cache-from"),  # inherited
        ("ghcr.io/acme/web:2.3", "docker-bake.hcl", 40, "target.nightly.tags (pushed)"),
        ("ghcr.io/acme/web:m1", "docker-bake.hcl", 48, "target.mirror.tags (pushed)"),
        ("ghcr.io/acme/web:m2", "docker-bake.hcl", 48, "target.mirror.tags (pushed)"),
        # BASE from a conditional variable default, inherited from _base, into the Dockerfile's FROM ${BASE}
        ("docker.io/library/node:20-alpine", "Dockerfile", 2, "target.web FROM"),
        ("docker.io/library/node:20-alpine", "Dockerfile", 2, "target.nightly FROM"),
        ("registry.example.com/mirror/node:20-alpine", "Dockerfile", 2, "target.mirror FROM"),
    }
    [nightly] = [r for r in records if isinstance(r, Unresolved) and r.context == "target.nightly.tags (pushed)"]
    assert nightly.text == 'ghcr.io/acme/web:nightly-${formatdate("YYYYMMDD", timestamp())}'
    assert "formatdate" in nightly.reason and nightly.source.line == 40
    store = EvidenceStore()
    store.add(nightly)
    [partial] = store.references  # the registry is certain: the allowlist needs it whatever the date
    assert partial.registry == "ghcr.io" and partial.repository == "acme/web" and partial.tag is None


def test_a_mirror_given_with_set_changes_the_base_image_through_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "auditor", "discover", "--format", "json", str(TREE),
                             "--set", "MIRROR=mirror.corp.example"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    bases = {r["canonical"] for r in document["references"] if "target.web FROM" in r["context"]}
    assert bases == {"mirror.corp.example/library/node:20-alpine"}
    assert any(r["registry"] == "ghcr.io" and r["unresolved"] for r in document["references"])


@pytest.mark.parametrize("expression", [
    "(" * 5_000 + "1" + ")" * 5_000,
    " + ".join(["1"] * 50_000),
    "!" * 50_000 + "true",
    'a ? b : ' * 20_000 + "c",
    '"' + "${" * 50_000 + '"',
    '"' + "${a}" * 100_000 + '"',  # one scan for template directives, not one per interpolation
    "f(" * 5_000 + ")" * 5_000,
    "[for x in " * 3_000 + "[]" + " : x]" * 3_000,
])
def test_hostile_expressions_are_bounded(expression: str) -> None:
    started = time.monotonic()
    blocks, _error = parse_hcl(f'target "t" {{\n  x = {expression}\n}}\n')
    for block in blocks:
        project = BakeProject(blocks, {})
        for expr in block.attributes.values():
            evaluate(expr, project.variables)
    assert time.monotonic() - started < 5


def test_a_build_arg_bake_computes_is_not_replaced_by_the_args_default() -> None:
    records = run_parser(bake.parse, TREE / "docker-bake.hcl")
    dated = [r for r in records if "target.dated" in getattr(r, "context", "")]
    # never docker.io/library/node:18-alpine, the Dockerfile's ARG default, which bake does not use here
    [base] = dated
    assert isinstance(base, Unresolved) and base.source.line == 2
    assert base.text == 'ghcr.io/acme/node:${formatdate("YYYYMMDD", timestamp())}'
    assert base.reason.startswith("build arg BASE: formatdate()")
    store = EvidenceStore()
    store.add(base)
    [partial] = store.references
    assert (partial.registry, partial.repository) == ("ghcr.io", "acme/node")
