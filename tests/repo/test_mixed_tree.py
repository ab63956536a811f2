"""A tree mixing every new kind: each reference once, with its registry, tag and digest; no input errors."""

from __future__ import annotations

from collections import Counter

from auditor.pipeline.collect import CollectOptions, collect
from tests.conftest import FIXTURES

REPO = FIXTURES / "repo"
PARTS = ["bake/hcl", "bake/json", "helm_chart/webapp", "helm_chart/ingress", "oci_charts/chart", "oci_charts/helmfile",
         "oci_charts/gitops", "quadlet/web.container", "quadlet/cache.image", "devcontainer/features",
         "devcontainer/jsonc", "cloudbuild/simple", "kubernetes/tekton/pipeline.yaml", "kubernetes/operators",
         "file_names", "ci/circleci/invocations", "ci/gitlab_ci/local_include", "ci/github_actions/implicit",
         "shell/semantics.sh", "helm_values/values-ingress-nginx.yaml"]


def test_every_reference_once_with_registry_tag_and_digest() -> None:
    store = collect([str(REPO / part) for part in PARTS], CollectOptions(variables={}))
    places = Counter((r.canonical, r.source.path, r.source.line) for r in store.references)
    assert [place for place, count in places.items() if count > 1] == []
    # the only input error is the one the operators fixture carries on purpose (a mapping where an image goes)
    assert [(e.source.path.rsplit("/", 1)[1], e.source.line) for e in store.errors] == [("monitoring.yaml", 44)]
    by_name = {(r.registry, r.repository, r.tag, r.digest) for r in store.references}
    digest5 = "sha256:" + "0" * 63 + "5"
    digest7 = "sha256:" + "0" * 63 + "7"
    for expected in [
        ("registry.k8s.io", "ingress-nginx/controller", "v1.15.1", digest5),  # values: global.image.registry
        ("registry.k8s.io", "ingress-nginx/controller", "v1.15.1", digest7),  # chart template rendered
        ("cgr.dev", "chainguard/static", "latest", None),  # bake docker-image:// context
        ("ghcr.io", "devcontainers/features/docker-in-docker", "2", None),  # devcontainer feature
        ("gcr.io", "cloud-builders/docker", "24.0.9", None),  # Cloud Build step
        ("quay.io", "example/tasks", "legacy", None),  # Tekton bundle
        ("quay.io", "prometheus/prometheus", "v2.54.1", None),  # operator CRD
        ("registry-1.docker.io", "bitnamicharts/postgresql", "15.5.38", None),  # OCI chart dependency
        ("docker.io", "tonistiigi/binfmt", "latest", None),  # implicit pull of setup-qemu-action
        ("docker.io", "library/redis", "7.2", None),  # CircleCI invocation, quadlet [Image]
        ("docker.io", "library/nginx", "1.27", None),  # shell ${V:-'1.27'}; compose by name
    ]:
        assert expected in by_name, expected
    assert not any(r.registry == "docker.io" and r.repository.startswith("ingress-nginx/") for r in store.references)
