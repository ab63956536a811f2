"""`regaudit discover` over a tree holding every input kind: the whole JSON output is asserted.

The tree (tests/fixtures/discover_tree) has one file per repository kind, logs of three formats and the
lab's plain-HTTP capture. The expected document is `discover_tree.expected.json`; every entry in it was
checked by hand against the fixture files (the hand-written lists below repeat the key facts so a
regenerated golden file cannot silently drift). Regenerate with REGAUDIT_UPDATE_GOLDEN=1 after a
deliberate change, and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema

from tests.conftest import FIXTURES, REPO_ROOT

TREE = "tests/fixtures/discover_tree"
CAPTURE = "sample_pcaps/lab-http-pull.pcap"
GOLDEN = FIXTURES / "discover_tree.expected.json"
SCHEMA = json.loads((REPO_ROOT / "reports/schemas/discover.schema.json").read_text())

EXPECTED_REFERENCES = [
    ("docker.io/cimg/python:3.12", ".circleci/config.yml:5"),
    ("docker.io/cimg/node:20.11", ".circleci/config.yml:13"),
    ("docker.io/library/redis:7", ".circleci/config.yml:14"),
    ("docker.io/library/rust:1.79", ".drone.yml:6"),
    ("ghcr.io/acme/setup-action:1", ".github/actions/setup/action.yml:4"),
    ("docker.io/library/node:20-bookworm", ".github/workflows/ci.yml:6"),
    ("docker.io/library/postgres:16", ".github/workflows/ci.yml:9"),
    ("docker.io/alpine/git:2.45.2", ".github/workflows/ci.yml:14"),
    ("quay.io/prometheus/node-exporter:v1.8.1", ".github/workflows/ci.yml:15"),
    ("docker.io/library/python:3.12", ".gitlab-ci.yml:4"),
    ("docker.io/library/docker:27-dind", ".gitlab-ci.yml:7"),
    ("gcr.io/kaniko-project/executor:v1.23.0-debug", ".gitlab-ci.yml:11"),
    ("docker.io/woodpeckerci/plugin-git:2.5", ".woodpecker.yml:3"),
    ("docker.io/docker/dockerfile:1.7", "Dockerfile:1"),
    ("ghcr.io/acme/node:20", "Dockerfile:4"),
    ("docker.io/tonistiigi/xx:1.4", "Dockerfile:5"),
    ("gcr.io/distroless/nodejs20-debian12:latest", "Dockerfile:12"),
    ("registry.example.com/maven:3.9-eclipse-temurin-21", "Jenkinsfile:4"),
    ("docker.io/aquasec/trivy:0.54.1", "Jenkinsfile:12"),
    ("mcr.microsoft.com/dotnet/sdk:8.0", "azure-pipelines.yml:4"),
    ("docker.io/atlassian/default-image:4", "bitbucket-pipelines.yml:1"),
    ("docker.io/library/golang:1.22", "bitbucket-pipelines.yml:5"),
    ("docker.io/bitnami/redis:7.2.5", "chart/values.yaml:3"),
    ("quay.io/oliver006/redis_exporter:v1.62.0", "chart/values.yaml:8"),
    ("docker.io/library/nginx:1.27", "compose.yaml:3"),
    ("container-registry.oracle.com/os/oraclelinux:9-slim", "inventory/images.json:1"),
    ("registry.k8s.io/busybox:1.36", "k8s/deploy.yaml:10"),
    ("public.ecr.aws/nginx/nginx:1.27", "k8s/deploy.yaml:13"),
    ("europe-docker.pkg.dev/acme-prod/tools/report@sha256:"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "k8s/deploy.yaml:27"),
    ("harbor.corp.example/platform/checker:2.1", "scripts/pull.sh:4"),
    # the Containerfile through compose's build.args (TAG=9.4); read on its own by the walk, TAG has no value:
    # one reference naming both contexts (see test_a_dockerfile_read_twice_is_one_reference_with_both_contexts)
    ("registry.access.redhat.com/ubi9/ubi-minimal:9.4", "services/api/Containerfile:2"),
]
EXPECTED_HOSTS = [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "login", ".github/workflows/ci.yml:13"),
    ("downloads.example.com", "add-url", "Dockerfile:14"),
    ("registry.example.com", "registry-url", "Jenkinsfile:5"),
    ("registry-1.docker.io", "credential", "client/config.json:3"),
    ("nvcr.io", "credential", "client/config.json:4"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "credential", "client/config.json:6"),
    ("mirror.gcr.io", "mirror", "client/daemon.json:2"),
    ("registry.lab.internal", "insecure-registry", "client/daemon.json:3"),
    ("harbor.corp.example", "login", "scripts/pull.sh:3"),
]
EXPECTED_UNRESOLVED = [
    ("${REDIS_IMAGE:?set REDIS_IMAGE}", "compose.yaml:11"),
    ("$UNSET_IMAGE", "scripts/pull.sh:5"),
]
EXPECTED_ERRORS = ["Dockerfile.broken", "k8s/broken.yaml:9", "logs/ssl.log:10"]
EXPECTED_BLOCKED = {"docker.io": {"iam-denied": 1}, "evil-registry.example.net": {"proxy-denied": 1},
                    "ghrc.io": {"ram-registry": 2}}
EXPECTED_EDGES = [
    ("blobs.storage.lab.test", "blobs-origin.storage.lab.test", "dns-cname"),
    ("registry.lab.test", "blobs.storage.lab.test", "http-location"),
    ("registry.lab.test", "registry-frontend.lab.test", "dns-cname"),
]


def _discover() -> dict:  # type: ignore[type-arg]
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "discover", "--format", "json", TREE, CAPTURE],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    errors_on_stderr = [line for line in result.stderr.splitlines() if line.startswith("regaudit: error: ")]
    assert len(errors_on_stderr) == len(EXPECTED_ERRORS)
    return json.loads(result.stdout)


def _local(location: str) -> str:
    return location.removeprefix(TREE + "/")


def test_discover_tree_matches_the_reviewed_document() -> None:
    doc = _discover()
    jsonschema.validate(doc, SCHEMA)
    doc.pop("regaudit_version")
    if os.environ.get("REGAUDIT_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    assert doc == json.loads(GOLDEN.read_text())

    assert [(r["canonical"], _local(r["location"])) for r in doc["references"]] == EXPECTED_REFERENCES
    assert [(h["host"], h["purpose"], _local(h["location"])) for h in doc["host_references"]] == EXPECTED_HOSTS
    assert [(u["text"], _local(u["location"])) for u in doc["unresolved"]] == EXPECTED_UNRESOLVED
    assert [_local(e["location"]) for e in doc["errors"]] == EXPECTED_ERRORS
    assert {g["host"]: g["reasons"] for g in doc["blocked"]["groups"]} == EXPECTED_BLOCKED
    assert [(e["from"], e["to"], e["via"]) for e in doc["redirect_edges"]] == EXPECTED_EDGES
    observed = {a["host"] for a in doc["observed_hosts"]}
    assert {"registry.lab.test", "blobs.storage.lab.test", "ghcr.io",
            "pkg-containers.githubusercontent.com"} <= observed
    # vendored and VCS trees are skipped; README.md is the one file of no known kind
    assert doc["skipped_files"] == 1
    assert not any("not-read" in r["original"] or "should" in r["original"] for r in doc["references"])


def test_a_dockerfile_read_twice_is_one_reference_with_both_contexts() -> None:
    doc = _discover()
    [ref] = [r for r in doc["references"] if r["location"].endswith("services/api/Containerfile:2")]
    assert ref["canonical"] == "registry.access.redhat.com/ubi9/ubi-minimal:9.4"
    assert ref["context"].startswith("services.api.build FROM | FROM (dockerfile alone: unresolved variable TAG")
    assert not [u for u in doc["unresolved"] if u["location"].endswith("services/api/Containerfile:2")]


def test_secrets_in_docker_config_never_reach_the_output() -> None:
    text = json.dumps(_discover())
    assert "c2VjcmV0OnNlY3JldA==" not in text
