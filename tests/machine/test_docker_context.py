"""`docker context ls --format json`: contexts with endpoint and current flag; a junk line named."""

from __future__ import annotations

from auditor.core.model import DockerContext
from tests.machine.machine_helpers import BUNDLES, MACHINE, errors, parse_detected


def _contexts(items):  # type: ignore[no-untyped-def]
    return [(c.name, c.endpoint, c.current) for c in items if isinstance(c, DockerContext)]


def test_desktop_contexts() -> None:
    kind, items = parse_detected(BUNDLES / "win-clean" / "docker-context-ls.json")
    assert kind == "docker_context"
    assert _contexts(items) == [("default", "npipe:////./pipe/docker_engine", False),
                                ("desktop-linux", "npipe:////./pipe/dockerDesktopLinuxEngine", True)]


def test_junk_line_and_ssh_userinfo() -> None:
    _, items = parse_detected(MACHINE / "docker_context" / "broken" / "docker-context-ls.json")
    assert errors(items) == [(2, "not a JSON object line")]
    assert _contexts(items) == [("remote", "ssh://build.acme.example", True),
                                ("default", "unix:///var/run/docker.sock", False)]
