"""The new extractors (Cloud Build, Tekton, quadlet, devcontainer) and Helm values against Renovate's own test
expectations (../shared/corpora/renovate, read from outside the project; never copied into it).

Renovate's names are not normalized, so both sides go through regaudit's reference grammar before comparing.
Where Renovate's semantics differ from what a pull does, the difference is listed in DEVIATIONS with the reason;
every other file must match exactly. Run with -s to see the per-manager figures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.core.model import Evidence, ImageReference
from auditor.core.reference import InvalidReference, parse_reference
from parsers.common.inputs import InputFile, ParseContext, read_config_text
from parsers.common.yaml_stream import YamlDocument, iter_documents
from parsers.repo import cloudbuild, devcontainer, helm_values, quadlet, tekton
from tests.conftest import SHARED

# a worktree sits one level deeper than the main checkout: REGAUDIT_SHARED names the corpus there
CORPUS = Path(os.environ.get("REGAUDIT_SHARED", str(SHARED))) / "corpora" / "renovate"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"Renovate corpus not present at {CORPUS}")


def _tekton_parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    """Renovate's Tekton fixtures carry no apiVersion: walk every document as a Tekton object."""
    text, errors = read_config_text(inp, tekton.NAME)
    yield from errors
    for item in iter_documents(text or ""):
        if isinstance(item, YamlDocument) and isinstance(item.value, dict):
            yield from tekton.object_images(inp, ctx, item.value, "?")


MANAGERS: dict[str, Callable[[InputFile, ParseContext], Iterator[Evidence]]] = {
    "cloudbuild": cloudbuild.parse,
    "tekton": _tekton_parse,
    "quadlet": quadlet.parse,
    "devcontainer": devcontainer.parse,
    "helm-values": helm_values.parse,
}

# (manager, file) -> (references regaudit adds, references Renovate has and regaudit does not), and why
DEVIATIONS: dict[tuple[str, str], tuple[set[str], set[str], str]] = {
    ("cloudbuild", "fixtures/cloudbuild.yml"): (
        {"gcr.io/my-project/myimage:latest"}, set(),
        "`images:` are pushed by Cloud Build after the steps: a registry access Renovate does not update"),
    ("quadlet", "cases/007-handles-docker-daemon-prefix.container"): (
        set(), {"docker.io/library/alpine:3.22"},
        "docker-daemon: reads the local Docker daemon's storage; no registry is contacted"),
    ("quadlet", "cases/010-extract-data-from-file-with-registry-aliases.container"): (
        {"quay.io/metallb/controller:v0.13.10"}, {"registry.internal/mirror/quay.io/metallb/controller:v0.13.10"},
        "the test sets Renovate's registryAliases, which rewrites names for Renovate's lookups, not the pull"),
    ("devcontainer", "cases/014-returns-only-docker-dependencies-when-non-docker-f.devcontainer.json"): (
        {"devcontainer.registry.renovate.com/test/feature/other.tgz:latest"}, set(),
        "the devcontainer CLI treats any id that is not ./local or https:// as an OCI reference, `.tgz` included"),
}


def _normal(ref: str) -> str | None:
    if ref.startswith(("[", "<skip")) or ref == "?":
        return None  # another datasource, or a reference Renovate itself refuses
    try:
        return parse_reference(ref).canonical
    except InvalidReference:
        return None


def _cases(manager: str) -> list[tuple[str, list[str]]]:
    expected = json.loads((CORPUS / manager / "expected.json").read_text())
    cases = []
    for name, assertions in sorted(expected.items()):
        plain = [a for a in assertions if "refs" in a and not a.get("config")]
        if plain:
            cases.append((name, [n for n in map(_normal, plain[0]["refs"]) if n]))
    return cases


def _ours(manager: str, name: str) -> list[str]:
    inp = InputFile.from_path(CORPUS / manager / name)
    return [r.canonical for r in MANAGERS[manager](inp, ParseContext()) if isinstance(r, ImageReference)]


@pytest.mark.parametrize("manager", sorted(MANAGERS))
def test_manager_matches_renovate_except_where_semantics_differ(manager: str) -> None:
    matched, differing = 0, []
    for name, expected in _cases(manager):
        ours = _ours(manager, name)
        added, missing = set(ours) - set(expected), set(expected) - set(ours)
        known = DEVIATIONS.get((manager, name))
        if known is not None:
            assert (added, missing) == known[:2], f"{manager}/{name}: {known[2]}"
            differing.append(name)
        else:
            assert (added, missing) == (set(), set()), f"{manager}/{name}"
            assert sorted(ours) == sorted(expected), f"{manager}/{name}: counts differ"
            matched += 1
    total = matched + len(differing)
    print(f"\n{manager}: {matched}/{total} files match Renovate exactly; {len(differing)} differ by design")
    assert total > 0
