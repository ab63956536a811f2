"""Charts and artifacts pulled from OCI registries: Chart.yaml, helmfile, Argo CD and Flux sources."""

from __future__ import annotations

from auditor.core.model import HostReference, ImageReference, InputError
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import kubernetes, oci_charts
from tests.conftest import FIXTURES, run_parser

OCI = FIXTURES / "repo" / "oci_charts"


def _refs(records: list) -> list[tuple[str, str | None, int | None]]:  # type: ignore[type-arg]
    return [(r.name, r.tag, r.source.line) for r in records if isinstance(r, ImageReference)]


def test_chart_yaml_oci_dependencies_only() -> None:
    path = OCI / "chart/Chart.yaml"
    assert parser_for(InputFile.from_path(path)).name == "oci_charts"  # type: ignore[union-attr]
    records = run_parser(oci_charts.parse, path)
    assert _refs(records) == [
        ("registry-1.docker.io/bitnamicharts/postgresql", "15.5.38", 6),
        ("ghcr.io/example/charts/redis", None, 9),  # a version range names no tag; the registry is still known
    ]
    assert "version >=19.0.0 <20.0.0" in [r for r in records if isinstance(r, ImageReference)][1].context


def test_helmfile_oci_repositories_and_direct_oci_charts() -> None:
    records = run_parser(oci_charts.parse, OCI / "helmfile/helmfile.yaml")
    assert _refs(records) == [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts/api", "3.1.0", 9),
        ("quay.io/example/metrics-chart", "0.4.2", 12),
    ]  # stable/nginx-ingress comes from an HTTP chart repository: no registry pull


def test_argo_cd_and_flux_sources_in_kubernetes_files() -> None:
    records = run_parser(kubernetes.parse, OCI / "gitops/apps.yaml")
    assert _refs(records) == [
        ("quay.io/jetstack/charts/cert-manager", "v1.15.3", 7),
        ("ghcr.io/stefanprodan/charts/podinfo", "6.7.0", 17),
        ("ghcr.io/example/manifests/app", None, 27),
    ]
    assert [(h.host, h.source.line) for h in records if isinstance(h, HostReference)] == [
        ("registry-1.docker.io", 37)]


def test_malformed_chart_yaml_is_one_error() -> None:
    records = run_parser(oci_charts.parse, OCI / "broken/Chart.yaml")
    assert [(type(r), r.source.line) for r in records] == [(InputError, 4)]
