"""Helm values shapes beyond repository/registry: ingress-nginx's split `image:` with global.image.registry."""

from __future__ import annotations

from auditor.core.model import ImageReference, Unresolved
from parsers.repo import helm_values
from tests.conftest import FIXTURES, run_parser


def test_ingress_nginx_split_image_takes_global_registry_tag_and_digest() -> None:
    records = run_parser(helm_values.parse, FIXTURES / "repo/helm_values/values-ingress-nginx.yaml")
    refs = [(r.canonical, r.source.line, r.context) for r in records if isinstance(r, ImageReference)]
    assert refs == [
        ("registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:" + "0" * 63 + "5", 8, "controller.image"),
        # the block's own registry wins over global.image.registry (sprig's merge keeps the first dict's keys)
        ("registry.example.com/ingress-nginx/kube-webhook-certgen:v1.6.1", 17,
         "controller.admissionWebhooks.patch.image"),
    ]
    # never docker.io/ingress-nginx/controller:latest, the registry an allowlist must not name
    assert not any(r.registry == "docker.io" for r in records if isinstance(r, ImageReference))
    [no_tag] = [r for r in records if isinstance(r, Unresolved)]
    assert no_tag.text == "registry.k8s.io/defaultbackend-amd64" and "appVersion" in no_tag.reason


def test_a_missing_tag_stays_unresolved_even_beside_a_chart() -> None:
    # Charts default a tag in different ways (`default .Chart.AppVersion`, `printf "v%s" .Chart.AppVersion`, the
    # cluster's version): the values file cannot tell which, so the chart's templates give the tag instead.
    records = run_parser(helm_values.parse, FIXTURES / "repo/helm_chart/webapp/values.yaml")
    [app] = [r for r in records if isinstance(r, Unresolved)]
    assert app.text == "ghcr.io/example/webapp" and "appVersion" in app.reason
