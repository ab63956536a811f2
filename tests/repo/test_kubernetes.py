"""Kubernetes manifests: images from every workload kind, with context and line, and bad input survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core.model import ImageReference, InputError, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import kubernetes
from tests.conftest import FIXTURES, run_parser

K8S = FIXTURES / "repo" / "kubernetes"


def _refs(items: list) -> list[tuple[str, str, int | None]]:  # type: ignore[type-arg]
    return [(i.canonical, i.context, i.source.line) for i in items if isinstance(i, ImageReference)]


def test_every_workload_kind_yields_its_images_with_context_and_line() -> None:
    refs = _refs(run_parser(kubernetes.parse, K8S / "workloads.yaml"))
    assert refs == [
        ("ghcr.io/acme/app:1.4.2", "Pod/debug: spec.containers[app].image", 12),
        ("docker.io/library/nginx:latest", "Pod/debug: spec.containers[1].image", 13),
        ("docker.io/library/busybox:1.36", "Pod/debug: spec.initContainers[init].image", 9),
        ("docker.io/nicolaka/netshoot:v0.11", "Pod/debug: spec.ephemeralContainers[dbg].image", 16),
        ("registry.example.com:5000/web/frontend:2.0", "Deployment/web: spec.template.spec.containers[app].image", 31),
        ("quay.io/prometheus/node-exporter@sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d",
         "Deployment/web: spec.template.spec.containers[sidecar].image", 33),
        ("docker.io/library/postgres:16", "StatefulSet/db: spec.template.spec.containers[postgres].image", 42),
        ("docker.io/library/alpine:3.19", "StatefulSet/db: spec.template.spec.initContainers[perms].image", 41),
        ("public.ecr.aws/aws-observability/aws-otel-collector:v0.35.0",
         "DaemonSet/agent: spec.template.spec.containers[agent].image", 53),
        ("mcr.microsoft.com/dotnet/aspnet:8.0", "ReplicaSet/rs: spec.template.spec.containers[c].image", 64),
        ("registry.k8s.io/pause:3.9", "ReplicationController/rc: spec.template.spec.containers[c].image", 75),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/migrate:42",
         "Job/migrate: spec.template.spec.containers[migrate].image", 87),
        ("gcr.io/distroless/static:nonroot",
         "CronJob/nightly: spec.jobTemplate.spec.template.spec.containers[backup].image", 101),
        ("localhost:5000/tools/wait:latest",
         "CronJob/nightly: spec.jobTemplate.spec.template.spec.initContainers[wait].image", 104),
        ("docker.io/library/redis:7", "PodTemplate/tpl: template.spec.containers[t].image", 114),
        ("us-docker.pkg.dev/proj/repo/canary:3", "Rollout/canary: spec.template.spec.containers[app].image", 127),
    ]


def test_endpoints_and_sources() -> None:
    items = run_parser(kubernetes.parse, K8S / "workloads.yaml")
    refs = [i for i in items if isinstance(i, ImageReference)]
    assert all(r.source is not None and r.source.parser == "kubernetes" for r in refs)
    assert {r.endpoint for r in refs} >= {"registry-1.docker.io", "registry.example.com", "ghcr.io", "localhost"}
    # ConfigMap data that merely mentions `image:` is not a pod spec
    assert not any("evil.example.com" in r.canonical or "not-an-image-field" in r.canonical for r in refs)
    assert not [i for i in items if isinstance(i, (InputError, Unresolved))]


def test_kubectl_list_json() -> None:
    assert _refs(run_parser(kubernetes.parse, K8S / "list.json")) == [
        ("registry.k8s.io/coredns/coredns:v1.10.1",
         "List.items[0] Pod/coredns-5d78c9869d-abcde: spec.containers[coredns].image", 11),
        ("ghcr.io/acme/api:7", "List.items[1] Deployment/api: spec.template.spec.containers[api].image", 19),
    ]


def test_image_volumes() -> None:
    items = run_parser(kubernetes.parse, K8S / "volumes.yaml")
    assert _refs(items) == [
        ("docker.io/library/alpine:3.19", "Pod/with-image-volume: spec.containers[app].image", 8),
        ("quay.io/acme/dataset:v2", "Pod/with-image-volume: spec.volumes[data].image.reference", 12),
    ]
    assert len(items) == 2


def test_broken_document_is_reported_and_the_others_are_read() -> None:
    items = run_parser(kubernetes.parse, K8S / "broken.yaml")
    assert _refs(items) == [
        ("docker.io/library/alpine:3.19", "Pod/first: spec.containers[a].image", 8),
        ("quay.io/acme/last:1", "Pod/last: spec.containers[c].image", 27),
    ]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 3
    assert errors[0].message.startswith("invalid YAML: ")
    assert "document 2, starting at line 9" in errors[0].message
    assert errors[0].source.line == 16
    assert errors[1].message == "document 3 is a list, not a Kubernetes object"
    assert errors[2].message == "Pod/last: spec.containers[number].image is not a string (1.25)"
    assert errors[2].source.line == 29


def test_truncated_file_keeps_the_complete_documents() -> None:
    items = run_parser(kubernetes.parse, K8S / "truncated.yaml")
    assert _refs(items) == [("docker.io/library/nginx:1.25", "Deployment/cut: spec.template.spec.containers[ok].image",
                             10)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1
    assert "unexpected end of stream" in errors[0].message and "starting at line 11" in errors[0].message


def test_binary_junk_document_is_skipped_and_named() -> None:
    inp = InputFile.from_path(K8S / "binary.yaml")
    assert inp.looks_binary and kubernetes.detect(inp)
    items = run_parser(kubernetes.parse, K8S / "binary.yaml")
    assert _refs(items) == [
        ("docker.io/library/alpine:3.19", "Pod/before: spec.containers[a].image", 8),
        ("docker.io/library/busybox:1.36", "Pod/after: spec.containers[b].image", 19),
    ]
    errors = [i for i in items if isinstance(i, InputError)]
    assert errors and errors[0].source.line == 10 and "NUL" in errors[0].message
    assert any("document 2, starting at line 9" in e.message for e in errors)


def test_variables_templates_and_invalid_names_are_unresolved() -> None:
    items = run_parser(kubernetes.parse, K8S / "templated.yaml", variables={"TAG": "5"})
    unresolved = {(u.text, u.reason) for u in items if isinstance(u, Unresolved)}
    assert ("${REGISTRY}/app:${TAG}", "unset variable(s): REGISTRY (give them with --set NAME=VALUE)") in unresolved
    assert any(text.startswith("{{ .Values.image.repository }}") and "helm template" in reason
               for text, reason in unresolved)
    assert ("Registry.Example.com/App:1",
            "invalid reference: invalid reference format: repository name (App) must be lowercase") in unresolved
    assert ("nginx :1.25", "invalid reference: invalid reference format") in unresolved
    assert _refs(items) == [
        ("mirror.example.com/base:1", "Deployment/envsubst: spec.template.spec.containers[defaulted].image", 14)]


def test_variables_given_with_set_resolve() -> None:
    variables = {"TAG": "5", "REGISTRY": "reg.example.com"}
    items = run_parser(kubernetes.parse, K8S / "templated.yaml", variables=variables)
    expected = ("reg.example.com/app:5", "Deployment/envsubst: spec.template.spec.containers[app].image", 10)
    assert expected in _refs(items)


def test_helm_template_is_scanned_line_by_line() -> None:
    items = run_parser(kubernetes.parse, K8S / "helm-template.yaml")
    assert _refs(items) == [("docker.io/library/busybox:1.36", "template line 14: image", 14)]
    unresolved = [u for u in items if isinstance(u, Unresolved)]
    assert [(u.source.line, u.text[:30]) for u in unresolved] == [(17, "{{ .Values.image.repository }}")]
    assert len([i for i in items if isinstance(i, InputError)]) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("workloads.yaml", True),
        ("list.json", True),
        ("binary.yaml", True),
        ("not-k8s-compose.yaml", False),
        ("Chart.yaml", False),
    ],
)
def test_detect(name: str, expected: bool) -> None:
    assert kubernetes.detect(InputFile.from_path(K8S / name)) is expected


def test_detect_requires_a_yaml_or_json_name(tmp_path: Path) -> None:
    text = (K8S / "workloads.yaml").read_bytes()
    (tmp_path / "manifest.txt").write_bytes(text)
    (tmp_path / "manifest.YML").write_bytes(text)
    assert not kubernetes.detect(InputFile.from_path(tmp_path / "manifest.txt"))
    assert kubernetes.detect(InputFile.from_path(tmp_path / "manifest.YML"))


def test_nested_apiversion_is_not_top_level(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("app:\n  apiVersion: v1\n  kind: Pod\nimage: nginx\n")
    assert not kubernetes.detect(InputFile.from_path(path))


def test_registry_picks_kubernetes_for_a_manifest() -> None:
    spec = parser_for(InputFile.from_path(K8S / "workloads.yaml"))
    assert spec is not None and spec.name == "kubernetes"


def test_kustomization_image_overrides_are_what_is_pulled() -> None:
    items = run_parser(kubernetes.parse, K8S / "kustomization.yaml")
    assert _refs(items) == [
        ("registry.example.com/mirror/nginx:1.25", "Kustomization: images[nginx]", 7),
        ("ghcr.io/acme/app@sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d",
         "Kustomization: images[ghcr.io/acme/app]", 10),
        ("docker.io/library/postgres:16.10", "Kustomization: images[postgres]", 12),  # the float 16.1 as written
        ("mirror.example.com/library/redis", "Kustomization: images[redis], tag from the resources", 14),
    ]
    assert len(items) == 4  # `untouched` changes nothing; the replaced names are not reported


def test_deeply_nested_document_is_refused_without_crashing(tmp_path: Path) -> None:
    # 100,000 nested flow sequences overflow libyaml's C stack (SIGSEGV) unless refused before composing.
    path = tmp_path / "deep.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n"
                    "    - name: a\n      image: alpine:3.19\n---\nx: " + "[" * 100_000 + "]" * 100_000 + "\n")
    items = run_parser(kubernetes.parse, path)
    assert _refs(items) == [("docker.io/library/alpine:3.19", "Pod/ok: spec.containers[a].image", 8)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1 and "nested deeper than" in errors[0].message and "starting at line 9" in errors[0].message


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: {{ .Values.apiVersion }}\n",  # kind missing
        "apiVersion: v1\nkind: deployment\n",  # kinds are CamelCase
        "apiVersion: v1\n  kind: Pod\n",  # kind not at the top level
        "metadata:\n  apiVersion: v1\n  kind: Pod\n",
    ],
)
def test_detect_is_strict(tmp_path: Path, text: str) -> None:
    path = tmp_path / "thing.yaml"
    path.write_text(text)
    assert not kubernetes.detect(InputFile.from_path(path))
