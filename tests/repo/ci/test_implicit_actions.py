"""Images well-known actions pull on their own: documented defaults, overridden by inputs, skipped by driver."""

from __future__ import annotations

from auditor.core.model import ImageReference
from parsers.repo.ci import github_actions
from tests.conftest import FIXTURES, run_parser

WORKFLOW = FIXTURES / "repo/ci/github_actions/implicit/.github/workflows/build.yml"


def test_setup_qemu_and_setup_buildx_pull_their_images() -> None:
    records = [r for r in run_parser(github_actions.parse, WORKFLOW) if isinstance(r, ImageReference)]
    implicit = [(r.canonical, r.source.line) for r in records if "pulls it" in r.context]
    assert implicit == [
        ("docker.io/tonistiigi/binfmt:latest", 7),  # setup-qemu-action's default `image`
        ("docker.io/moby/buildkit:buildx-stable-1", 8),  # the docker-container driver's default BuildKit
        ("mirror.example.com/tonistiigi/binfmt:qemu-v9.2.0", 17),  # the `image` input, at its line
        ("mirror.example.com/moby/buildkit:v0.18.2", 18),  # driver-opts image=, at the uses: line
    ]  # driver: docker uses the daemon's own BuildKit: nothing pulled
    assert "ghcr.io/example/app:latest" in {r.canonical for r in records}
