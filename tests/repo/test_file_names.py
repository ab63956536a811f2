"""Which files are read, and as what: Renovate-style name patterns, compose by content, explicit files by content."""

from __future__ import annotations

import subprocess
import sys

from auditor.pipeline.collect import CollectOptions, collect
from tests.conftest import FIXTURES, REPO_ROOT

TREE = FIXTURES / "repo" / "file_names"


def _kinds(store) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {record.path.removeprefix(str(TREE) + "/"): record.kind for record in store.inputs}


def test_a_walk_reads_the_ecosystems_names_and_compose_files_by_content() -> None:
    store = collect([str(TREE)], CollectOptions(variables={}))
    kinds = _kinds(store)
    assert {name: kinds.get(name) for name in (
        "Dockerfile-chroot", "Dockerfile-windows", "Dockerfile_alpine",
        "docker-compose-site1.yaml", "docker-compose_secrets.yml", "stack.yml",
        "integration/resources/compose/db.yml", "integration/resources/compose/cache/Dockerfile",
        "ci/lint-values.yaml", "app.helm.values.yaml",
    )} == {
        "Dockerfile-chroot": "dockerfile", "Dockerfile-windows": "dockerfile", "Dockerfile_alpine": "dockerfile",
        "docker-compose-site1.yaml": "compose", "docker-compose_secrets.yml": "compose", "stack.yml": "compose",
        "integration/resources/compose/db.yml": "compose",
        "integration/resources/compose/cache/Dockerfile": "dockerfile",
        "ci/lint-values.yaml": "helm_values", "app.helm.values.yaml": "helm_values",
    }
    # a template, a README, a CI template whose services is a list, endpoint settings, unnamed files: not read
    for name in ("Dockerfile.template", "Dockerfile-notes.md", "ci-template.yml", "settings.yml",
                 "explicit/web.df", "explicit/compose-for-ci", "explicit/notes.txt"):
        assert name not in kinds, name
    refs = {ref.canonical for ref in store.references}
    assert {"docker.io/library/debian:bookworm-slim", "mcr.microsoft.com/windows/servercore:ltsc2022",
            "docker.io/library/alpine:3.20", "docker.io/library/nginx:1.27", "docker.io/hashicorp/vault:1.17",
            "ghcr.io/example/api:2.1", "docker.io/library/postgres:16", "docker.io/library/redis:7.2-alpine",
            "ghcr.io/example/chart-app:0.9.0", "quay.io/example/controller:v2.0.0"} <= refs
    assert not store.errors


def test_a_file_named_on_the_command_line_is_read_by_content() -> None:
    names = ["explicit/web.df", "explicit/compose-for-ci", "Dockerfile.template"]
    store = collect([str(TREE / name) for name in names], CollectOptions(variables={}))
    assert _kinds(store) == {"explicit/web.df": "dockerfile", "explicit/compose-for-ci": "compose",
                             "Dockerfile.template": "dockerfile"}
    assert sorted(ref.canonical for ref in store.references) == [
        "gcr.io/distroless/static-debian12:nonroot",
        "ghcr.io/example/test-runner:5"]
    # the template's %%PLACEHOLDER%% stays unresolved: never guessed
    [template] = store.unresolved
    assert template.text == "balenalib/%%BALENA_MACHINE_NAME%%-node:18" and "%%NAME%%" in template.reason


def test_an_explicit_file_no_content_rule_accepts_is_still_an_error() -> None:
    result = subprocess.run([sys.executable, "-m", "auditor", "discover", str(TREE / "explicit/notes.txt")],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert "unrecognized input kind" in result.stdout + result.stderr

