"""Helm values as a release sees them: `--values` files (as `helm install -f`), a chart's `ci/*-values.yaml`
scenarios, and a parent chart's values flowing into its subcharts (alias keys, `global:`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from auditor.core.model import ImageReference, InputError
from auditor.pipeline.collect import CollectOptions, collect
from parsers.common.inputs import InputFile, ParseContext
from parsers.repo import helm_chart, helm_values
from tests.conftest import FIXTURES

CHARTS = FIXTURES / "repo" / "helm_chart"
UMBRELLA = CHARTS / "umbrella"
PROD = CHARTS / "overrides" / "prod.yaml"
HOTFIX = CHARTS / "overrides" / "hotfix.yaml"


def _parse(parser, path: Path, values: list[Path] | None = None) -> list:  # type: ignore[no-untyped-def, type-arg]
    ctx = ParseContext(values_files=list(values or []))
    return list(parser.parse(InputFile.from_path(path), ctx))


def _refs(records: list) -> set[tuple[str, str, int | None, str]]:  # type: ignore[type-arg]
    return {(r.canonical, Path(r.source.path).relative_to(CHARTS).as_posix(), r.source.line, r.context)
            for r in records if isinstance(r, ImageReference)}


def _discover(*args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    result = subprocess.run([sys.executable, "-m", "auditor", "discover", "--format", "json", *args],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def _located(document: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(r["canonical"], Path(r["source"]["path"]).relative_to(CHARTS).as_posix() + f":{r['source']['line']}")
            for r in document["references"]}


# -- subcharts -------------------------------------------------------------------------------------------------

def test_a_subchart_takes_the_parents_values_under_each_alias() -> None:
    records = _parse(helm_values, UMBRELLA / "charts/postgresql/values.yaml")
    assert _refs(records) == {
        # `db:` in the parent sets only the tag: the image is the subchart's with the parent's tag, located there
        ("docker.io/bitnami/postgresql:16.4.0", "umbrella/values.yaml", 8, "db.image"),
        # `analyticsdb`, the same chart under a second alias, is not overridden: the subchart's default
        ("docker.io/bitnami/postgresql:15.1.0", "umbrella/charts/postgresql/values.yaml", 5, "analyticsdb.image"),
    }


def test_an_image_block_set_by_the_parent_replaces_the_subcharts_default() -> None:
    records = _parse(helm_values, UMBRELLA / "charts/redis/values.yaml")
    # never docker.io/bitnami/redis:7.2.5: the parent moved redis to its mirror
    assert _refs(records) == {("registry.example.com/mirror/redis:7.4.1", "umbrella/values.yaml", 14, "redis.image")}


def test_the_parents_global_image_registry_reaches_the_subchart() -> None:
    records = _parse(helm_values, CHARTS / "mirrored/charts/metrics/values.yaml")
    assert _refs(records) == {("mirror.example.com/prometheus/node-exporter:v1.8.2", "mirrored/values.yaml", 2,
                               "metrics.image")}


def test_subchart_templates_render_with_the_parents_values() -> None:
    records = _parse(helm_chart, UMBRELLA / "charts/postgresql/templates/statefulset.yaml")
    refs = {(canonical, line, context.split(":")[0]) for canonical, _path, line, context in _refs(records)}
    assert refs == {("docker.io/bitnami/postgresql:16.4.0", 10, "db"),
                    ("docker.io/bitnami/postgresql:15.1.0", 10, "analyticsdb")}
    records = _parse(helm_chart, CHARTS / "mirrored/charts/metrics/templates/daemonset.yaml")
    assert {r.canonical for r in records if isinstance(r, ImageReference)} == {
        "mirror.example.com/prometheus/node-exporter:v1.8.2"}


# -- --values and ci/ scenarios -----------------------------------------------------------------------------

def test_values_files_apply_in_order_and_locate_what_they_set() -> None:
    records = _parse(helm_values, UMBRELLA / "values.yaml", [PROD, HOTFIX])
    refs = {(c, path, line) for c, path, line, _context in _refs(records)}
    assert ("ghcr.io/example/umbrella-api:2.2.1", "overrides/hotfix.yaml", 2) in refs  # the later file wins
    assert ("registry.example.com/mirror/redis:7.4.2", "overrides/prod.yaml", 6) in refs
    assert not any("umbrella-api:2.2.0" in c or "redis:7.4.1" in c for c, _p, _l in refs)
    swapped = {(c, path, line) for c, path, line, _ctx in _refs(_parse(helm_values, UMBRELLA / "values.yaml",
                                                                        [HOTFIX, PROD]))}
    assert ("ghcr.io/example/umbrella-api:2.2.0", "overrides/prod.yaml", 3) in swapped


def test_a_ci_scenario_reports_only_what_it_changes() -> None:
    records = _parse(helm_values, UMBRELLA / "ci/airgap-values.yaml")
    assert _refs(records) == {("airgap.example.com/bitnami/postgresql:16.4.0", "umbrella/ci/airgap-values.yaml", 4,
                               "db.image")}


def test_discover_with_values_through_the_cli() -> None:
    code, document, stderr = _discover(str(UMBRELLA), "--values", str(PROD), "--values", str(HOTFIX))
    assert code == 0, stderr
    located = _located(document)
    assert {("ghcr.io/example/umbrella-api:2.2.1", "overrides/hotfix.yaml:2"),
            ("ghcr.io/example/umbrella-api:2.2.1", "umbrella/templates/deployment.yaml:10"),
            ("registry.example.com/mirror/redis:7.4.2", "overrides/prod.yaml:6"),
            ("registry.example.com/mirror/redis:7.4.2", "umbrella/charts/redis/templates/deployment.yaml:10"),
            ("docker.io/bitnami/postgresql:16.4.0", "umbrella/values.yaml:8"),
            ("airgap.example.com/bitnami/postgresql:16.4.0", "umbrella/ci/airgap-values.yaml:4")} <= located
    canonicals = {canonical for canonical, _where in located}
    # what the overrides replaced is not pulled: not reported
    assert not canonicals & {"docker.io/bitnami/redis:7.2.5", "registry.example.com/mirror/redis:7.4.1",
                             "ghcr.io/example/umbrella-api:2.1.0", "ghcr.io/example/umbrella-api:2.2.0"}
    assert not document["unresolved"]  # the tag values.yaml leaves empty comes from the -f files


def test_without_values_the_chart_defaults_stand() -> None:
    code, document, stderr = _discover(str(UMBRELLA))
    assert code == 0, stderr
    canonicals = {canonical for canonical, _where in _located(document)}
    assert {"ghcr.io/example/umbrella-api:2.1.0", "registry.example.com/mirror/redis:7.4.1"} <= canonicals
    [no_tag] = document["unresolved"]
    assert no_tag["text"] == "ghcr.io/example/umbrella-api" and "appVersion" in no_tag["reason"]


def test_a_broken_values_file_is_one_error_and_the_chart_is_still_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("image: [unclosed\n")
    store = collect([str(UMBRELLA)], CollectOptions(variables={}, values_files=(broken, PROD)))
    errors = [e for e in store.errors if isinstance(e, InputError)]
    assert [e.source.path for e in errors] == [str(broken)] and "could not be read" in errors[0].message
    assert "registry.example.com/mirror/redis:7.4.2" in {r.canonical for r in store.references}
    code, _document, stderr = _discover(str(UMBRELLA), "--values", str(broken))
    assert code == 0 and stderr.count(str(broken)) == 1 and "--values file could not be read" in stderr


def test_a_missing_values_file_is_a_usage_error() -> None:
    code, _document, stderr = _discover(str(UMBRELLA), "--values", str(CHARTS / "overrides/absent.yaml"))
    assert code == 2 and "--values" in stderr


def test_a_helmfile_release_applies_its_values_files_to_the_local_chart() -> None:
    tree = CHARTS / "helmfile-tree"
    records = _parse(helm_values, tree / "charts/app/values.yaml")
    refs = {(c, path, line) for c, path, line, _context in _refs(records)}
    assert refs == {
        ("docker.io/acme/worker:3.0.0", "helmfile-tree/charts/app/values.yaml", 4),  # release app-default
        ("registry.corp.example/acme/worker:3.1.0", "helmfile-tree/env/prod.yaml", 4),  # release app-prod
    }
    [prod] = [r for r in records if isinstance(r, ImageReference) and r.registry == "registry.corp.example"]
    assert "release app-prod" in prod.context
    code, document, stderr = _discover(str(tree))
    assert code == 0, stderr
    assert ("registry.corp.example/acme/worker:3.1.0", "helmfile-tree/env/prod.yaml:4") in _located(document)
