"""Operator custom resources with image fields, from the sourced table (parsers/repo/data/operator_images.yaml)."""

from __future__ import annotations

from auditor.core.model import ImageReference, InputError
from parsers.repo import kubernetes, operator_crds
from tests.conftest import FIXTURES, run_parser


def test_operator_resources_name_their_images() -> None:
    records = run_parser(kubernetes.parse, FIXTURES / "repo/kubernetes/operators/monitoring.yaml")
    assert [(r.canonical, r.source.line, r.context) for r in records if isinstance(r, ImageReference)] == [
        ("quay.io/prometheus/prometheus:v2.54.1", 6, "Prometheus/main: spec.image"),
        ("quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0", 9,
         "Prometheus/main: spec.containers[config-reloader].image"),
        ("ghcr.io/cloudnative-pg/postgresql:16.4", 23, "Cluster/db: spec.imageName"),
        ("docker.io/docker/whalesay:latest", 33, "Workflow/hello: spec.templates[main].container.image"),
        ("docker.io/library/python:3.12-alpine", 36, "Workflow/hello: spec.templates[script].script.image"),
    ]  # the Alertmanager without an image: the operator's version-dependent default is not guessed
    [error] = [r for r in records if isinstance(r, InputError)]
    assert error.source.line == 44 and "spec.kafka.image is not an image name" in error.message


def test_every_table_entry_has_a_source_and_paths() -> None:
    from importlib import resources

    import yaml
    data = yaml.safe_load(resources.files("parsers.repo").joinpath("data/operator_images.yaml").read_text())
    for entry in data["resources"]:
        assert entry["source"].startswith("https://") and entry["paths"] and entry["kinds"], entry
    assert operator_crds.paths_for({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus"})
    assert operator_crds.paths_for({"apiVersion": "apps/v1", "kind": "Deployment"}) == ()
