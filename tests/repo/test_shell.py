"""Shell scripts and the container-command extractor the CI parsers share."""

from __future__ import annotations

from auditor.core.model import HostPurpose, HostReference, ImageReference, InputError, Source, Unresolved
from parsers import parser_for
from parsers.common.inputs import InputFile
from parsers.repo import shell
from tests.conftest import FIXTURES, run_parser

DIR = FIXTURES / "repo" / "shell"


def scan(text: str, variables: dict[str, str] | None = None) -> list:
    known = dict(variables or {})
    return list(shell.scan_script(text, 1, lambda line: Source("t.sh", line, parser="shell"), known.get))


def refs(items: list) -> list[tuple[str, int | None, str]]:
    return [(i.canonical, i.source.line, i.context) for i in items if isinstance(i, ImageReference)]


def test_script_fixture_commands() -> None:
    items = run_parser(shell.parse, DIR / "deploy.sh")
    assert refs(items) == [
        ("docker.io/library/alpine:3.19", 6, "docker run"),
        ("registry.example.com/app:1.0", 6, "docker pull"),
        ("ghcr.io/org/tool:v1", 8, "docker pull"),
        ("quay.io/x/y:latest", 8, "podman pull"),
        ("myreg.io/app:1", 11, "docker build -t"),
        ("myreg.io/app:cache", 11, "docker build --cache-from"),
        ("docker.io/library/alpine:3", 13, "docker tag (source)"),
        ("localhost:5000/alpine:3", 13, "docker tag (target)"),
        ("docker.io/library/nginx:latest", 20, "nerdctl run"),
        ("registry.access.redhat.com/ubi9/ubi:9.4", 21, "buildah from"),
        ("docker.io/library/busybox:1.36", 22, "skopeo copy"),
        ("docker.io/library/golang:1.22", 23, "docker run"),
    ]
    hosts = [(h.host, h.purpose, h.context) for h in items if isinstance(h, HostReference)]
    assert hosts == [
        ("ghcr.io", HostPurpose.LOGIN, "docker login"),
        ("registry-1.docker.io", HostPurpose.LOGIN, "docker login (no server: Docker Hub)"),
    ]
    unresolved = [(u.text, u.source.line, u.reason) for u in items if isinstance(u, Unresolved)]
    assert unresolved == [
        ("$REG/app", 12, "unresolved: $REG"),
        ("$(cat image.txt)", 17, "unresolved: $(cat image.txt)"),
        ("Bad:Ref", 18, "invalid reference: invalid reference format: repository name (library/Bad) must be lowercase"),
    ]
    # The commented-out pull (line 2), the heredoc body (line 15) and `docker compose` name nothing.
    assert not any("commented" in str(i) or "not/this" in str(i) for i in items)


def test_set_variables_resolve() -> None:
    items = run_parser(shell.parse, DIR / "deploy.sh", variables={"REG": "registry.internal:5000"})
    assert ("registry.internal:5000/app:latest", 12, "docker build -t") in refs(items)


def test_options_with_values_do_not_hide_the_image() -> None:
    upper = scan("docker run -e X=1 --name n -itd --network=host IMAGE:1 cmd --rm x\n")
    # An uppercase repository is what the engine refuses: reported, not dropped or lower-cased.
    assert [(u.text, u.reason) for u in upper] == [
        ("IMAGE:1", "invalid reference: invalid reference format: repository name (library/IMAGE) must be lowercase")]
    items = scan("docker run -e X=1 -v a:b --name n --platform linux/amd64 -itd --network=host img:1 cmd --rm x\n"
                 "docker container run --rm -p 80:80 -w /src nginx:1.27 nginx -g 'daemon off;'\n"
                 "sudo -E docker --host unix:///x.sock image pull --platform linux/arm64 alpine:3.20\n")
    assert [r[0] for r in refs(items)] == [
        "docker.io/library/img:1", "docker.io/library/nginx:1.27", "docker.io/library/alpine:3.20"]


def test_quotes_escapes_and_assignments() -> None:
    items = scan("""export BASE=ghcr.io/org\nTAG="2.0" ; docker pull "${BASE}/app:$TAG" && docker pull '$BASE/x'\n""")
    assert [r[0] for r in refs(items)] == ["ghcr.io/org/app:2.0"]
    # Single quotes keep `$` literal: not a variable, and not a valid name.
    assert [u.text for u in items if isinstance(u, Unresolved)] == ["$BASE/x"]
    defaults = scan("docker pull ${IMAGE:-redis:7}\n")
    assert [r[0] for r in refs(defaults)] == ["docker.io/library/redis:7"]


def test_ci_expressions_are_unresolved_as_written() -> None:
    items = scan("docker pull ghcr.io/org/app:${{ github.sha }}\n")
    assert [(u.text, u.reason) for u in items] == [
        ("ghcr.io/org/app:${{ github.sha }}", "unresolved: ${{ github.sha }}")]


def test_malformed_scripts() -> None:
    items = run_parser(shell.parse, DIR / "malformed" / "unterminated.sh")
    errors = [e for e in items if isinstance(e, InputError)]
    assert [(e.source.line, e.message) for e in errors] == [
        (3, "unterminated ' quote: the rest of the script is one word")]
    assert refs(items) == [("docker.io/library/alpine:3.20", 2, "docker pull")]
    binary = run_parser(shell.parse, DIR / "malformed" / "binary.sh")
    assert len(binary) == 1 and isinstance(binary[0], InputError) and "binary" in binary[0].message
    latin = run_parser(shell.parse, DIR / "malformed" / "latin1.sh")
    assert isinstance(latin[0], InputError) and latin[0].source.line == 2
    assert refs(latin) == [("docker.io/library/nginx:1.27", 3, "docker pull")]


def test_hostile_input_terminates() -> None:
    text = "docker pull $(" * 2000 + "\n" + "'" * 3001 + "\n" + "${" * 3000 + "<<" * 500
    assert isinstance(scan(text), list)


def test_detect() -> None:
    assert shell.detect(InputFile.from_path(DIR / "deploy.sh"))
    assert shell.detect(InputFile.from_path(DIR / "no-suffix-script"))
    assert not shell.detect(InputFile.from_path(DIR / "malformed" / "binary.sh"))
    spec = parser_for(InputFile.from_path(DIR / "no-suffix-script"))
    assert spec is not None and spec.name == "shell"


def test_cloud_cli_logins() -> None:
    items = scan("gcloud auth configure-docker us-docker.pkg.dev,europe-west1-docker.pkg.dev --quiet\n"
                 "az acr login --name myregistry\n"
                 "aws ecr get-login-password | docker login --username AWS --password-stdin "
                 "123456789012.dkr.ecr.eu-west-1.amazonaws.com\n")
    assert [(h.host, h.purpose, h.context) for h in items] == [
        ("us-docker.pkg.dev", HostPurpose.LOGIN, "gcloud auth configure-docker"),
        ("europe-west1-docker.pkg.dev", HostPurpose.LOGIN, "gcloud auth configure-docker"),
        ("myregistry.azurecr.io", HostPurpose.LOGIN, "az acr login"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", HostPurpose.LOGIN, "docker login"),
    ]


def test_loops_and_compound_commands() -> None:
    items = run_parser(shell.parse, DIR / "loops.sh")
    assert refs(items) == [
        # one reference per word of the `for` list
        ("docker.io/library/alpine:3.20", 2, "docker pull"),
        ("docker.io/library/redis:7", 2, "docker pull"),
        ("ghcr.io/org/x:1", 2, "docker pull"),
        # after `then`: a command like any other (`docker image inspect` names a local image: nothing)
        ("docker.io/library/busybox:1.36", 4, "docker pull"),
    ]
    # loop words that come from a command or a file are not known
    assert [(u.text, u.source.line) for u in items if isinstance(u, Unresolved)] == [("$f", 5), ("$img", 6)]
