"""The image-reference grammar, checked against the rules of distribution/reference and go-digest.

Every expected value below is written from the Go sources and their own test tables (reference_test.go,
normalize_test.go, regexp_test.go of github.com/distribution/reference; digest.go and algorithm.go of
github.com/opencontainers/go-digest), not from this project's output. Where the Go tests name a case,
it is reused; the rest follow from the grammar:

- a name without `/` is Docker Hub: `docker.io/library/NAME`;
- the first component is a registry iff it is `localhost`, contains `.` or `:`, or is not lowercase;
- `index.docker.io` is Docker Hub's legacy name and becomes `docker.io`;
- the endpoint is `registry-1.docker.io` for Docker Hub, else the registry's host, lowercased, port dropped.
"""

from __future__ import annotations

import pytest

from auditor.core.reference import (
    InvalidReference,
    endpoint_host,
    normalize_registry_host,
    parse_reference,
    partial_reference,
    split_docker_domain,
    validate_digest,
)

HUB = "registry-1.docker.io"
D256 = "sha256:" + "f" * 64
D256B = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
DBE = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
D384 = "sha384:" + "0123456789abcdef" * 6
D512 = "sha512:" + "f" * 128
HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

INVALID_FORMAT = "invalid reference format"
TOO_LONG = "repository name must not be more than 255 characters"
DIGEST_FORMAT = "invalid checksum digest format"
DIGEST_LENGTH = "invalid checksum digest length"
DIGEST_UNSUPPORTED = "unsupported digest algorithm"


def _lower(remote: str) -> str:
    return f"invalid reference format: repository name ({remote}) must be lowercase"


def _hex_refused(text: str) -> str:
    return f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"


def _id(text: str) -> str:
    """A readable test id: long inputs shortened, whitespace made visible."""
    shown = text.replace("\n", "\\n").replace("\t", "\\t").replace(" ", "\u2423") or "<empty>"
    return shown if len(shown) <= 70 else f"{shown[:40]}...{shown[-20:]}(len{len(text)})"


# (input, registry, endpoint, repository, tag, digest)
VALID: list[tuple[str, str, str, str, str | None, str | None]] = [
    # --- Docker Hub, familiar names -----------------------------------------------------------
    ("ubuntu", "docker.io", HUB, "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", HUB, "library/ubuntu", "22.04", None),
    ("debian", "docker.io", HUB, "library/debian", "latest", None),
    ("library/debian", "docker.io", HUB, "library/debian", "latest", None),
    ("docker/docker", "docker.io", HUB, "docker/docker", "latest", None),
    ("docker.io/docker/docker", "docker.io", HUB, "docker/docker", "latest", None),
    ("docker.io/library/debian", "docker.io", HUB, "library/debian", "latest", None),
    ("docker.io/debian", "docker.io", HUB, "library/debian", "latest", None),
    ("index.docker.io/docker/docker", "docker.io", HUB, "docker/docker", "latest", None),
    ("index.docker.io/library/debian", "docker.io", HUB, "library/debian", "latest", None),
    ("index.docker.io/debian", "docker.io", HUB, "library/debian", "latest", None),
    ("index.docker.io/fooo/bar", "docker.io", HUB, "fooo/bar", "latest", None),
    ("fooo/bar", "docker.io", HUB, "fooo/bar", "latest", None),
    ("docker.io/fooo/bar", "docker.io", HUB, "fooo/bar", "latest", None),
    ("nonlibrary/ubuntu", "docker.io", HUB, "nonlibrary/ubuntu", "latest", None),
    ("other/library", "docker.io", HUB, "other/library", "latest", None),
    ("ubuntu-12.04-base", "docker.io", HUB, "library/ubuntu-12.04-base", "latest", None),
    ("docker.io/library/ubuntu-12.04-base", "docker.io", HUB, "library/ubuntu-12.04-base", "latest", None),
    ("library/foo/bar", "docker.io", HUB, "library/foo/bar", "latest", None),
    ("docker.io/library/foo/bar", "docker.io", HUB, "library/foo/bar", "latest", None),
    ("store/foo/bar", "docker.io", HUB, "store/foo/bar", "latest", None),
    ("docker/migrator", "docker.io", HUB, "docker/migrator", "latest", None),
    ("test_com/foo", "docker.io", HUB, "test_com/foo", "latest", None),
    ("test_com", "docker.io", HUB, "library/test_com", "latest", None),
    ("dmcgowan/myapp", "docker.io", HUB, "dmcgowan/myapp", "latest", None),
    ("dmcgowan/myapp:latest", "docker.io", HUB, "dmcgowan/myapp", "latest", None),
    ("docker.io/mcgowan/myapp:latest", "docker.io", HUB, "mcgowan/myapp", "latest", None),
    ("redis", "docker.io", HUB, "library/redis", "latest", None),
    ("redis:7-alpine", "docker.io", HUB, "library/redis", "7-alpine", None),
    ("nginx:1.25.3-alpine3.18", "docker.io", HUB, "library/nginx", "1.25.3-alpine3.18", None),
    ("postgres:16.1-bookworm", "docker.io", HUB, "library/postgres", "16.1-bookworm", None),
    ("bitnami/redis:7.2.4-debian-12-r9", "docker.io", HUB, "bitnami/redis", "7.2.4-debian-12-r9", None),
    ("calico/node", "docker.io", HUB, "calico/node", "latest", None),
    ("amd64/alpine:3.19", "docker.io", HUB, "amd64/alpine", "3.19", None),
    ("foo/bar/baz", "docker.io", HUB, "foo/bar/baz", "latest", None),
    ("a/b/c/d/e/f", "docker.io", HUB, "a/b/c/d/e/f", "latest", None),
    ("d/docker", "docker.io", HUB, "d/docker", "latest", None),
    ("jess/t", "docker.io", HUB, "jess/t", "latest", None),
    ("a", "docker.io", HUB, "library/a", "latest", None),
    ("0", "docker.io", HUB, "library/0", "latest", None),
    ("1/2", "docker.io", HUB, "1/2", "latest", None),
    ("dbcc1", "docker.io", HUB, "library/dbcc1", "latest", None),
    ("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io", HUB,
     "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", None),
    # a name that looks like a host stays a Docker Hub name when nothing follows it
    ("localhost", "docker.io", HUB, "library/localhost", "latest", None),
    ("localhost:5000", "docker.io", HUB, "library/localhost", "5000", None),
    ("localhost:latest", "docker.io", HUB, "library/localhost", "latest", None),
    ("example.com", "docker.io", HUB, "library/example.com", "latest", None),
    ("example.com:5000", "docker.io", HUB, "library/example.com", "5000", None),
    ("test.com:tag", "docker.io", HUB, "library/test.com", "tag", None),
    ("docker.io", "docker.io", HUB, "library/docker.io", "latest", None),
    ("foo_bar.com:8080", "docker.io", HUB, "library/foo_bar.com", "8080", None),
    ("foo/foo_bar.com:8080", "docker.io", HUB, "foo/foo_bar.com", "8080", None),
    ("192.168.0.1", "docker.io", HUB, "library/192.168.0.1", "latest", None),
    ("192.168.0.1:80", "docker.io", HUB, "library/192.168.0.1", "80", None),
    ("192.168.1.1:tag", "docker.io", HUB, "library/192.168.1.1", "tag", None),
    # 64 hex characters are refused only on their own: with a namespace, a tag or 63/65 characters they name
    ("docker.io/" + HEX64, "docker.io", HUB, "library/" + HEX64, "latest", None),
    ("someone/" + HEX64, "docker.io", HUB, "someone/" + HEX64, "latest", None),
    (HEX64 + ":tag", "docker.io", HUB, "library/" + HEX64, "tag", None),
    (HEX64[:63], "docker.io", HUB, "library/" + HEX64[:63], "latest", None),
    (HEX64 + "a", "docker.io", HUB, "library/" + HEX64 + "a", "latest", None),
    ("example.com/" + HEX64, "example.com", "example.com", HEX64, "latest", None),
    # --- path separators ------------------------------------------------------------------------
    ("ns/a.b", "docker.io", HUB, "ns/a.b", "latest", None),
    ("ns/a_b", "docker.io", HUB, "ns/a_b", "latest", None),
    ("ns/a__b", "docker.io", HUB, "ns/a__b", "latest", None),
    ("ns/a-b", "docker.io", HUB, "ns/a-b", "latest", None),
    ("ns/a--b", "docker.io", HUB, "ns/a--b", "latest", None),
    ("ns/a---b", "docker.io", HUB, "ns/a---b", "latest", None),
    ("ns/a----------b", "docker.io", HUB, "ns/a----------b", "latest", None),
    ("ns/a.b.c.d", "docker.io", HUB, "ns/a.b.c.d", "latest", None),
    ("ns/a_b.c-d__e", "docker.io", HUB, "ns/a_b.c-d__e", "latest", None),
    ("ns/a.b_c", "docker.io", HUB, "ns/a.b_c", "latest", None),
    ("docker-rules/docker", "docker.io", HUB, "docker-rules/docker", "latest", None),
    ("docker---rules/docker", "docker.io", HUB, "docker---rules/docker", "latest", None),
    ("dock__er/docker", "docker.io", HUB, "dock__er/docker", "latest", None),
    ("my_org/my.app", "docker.io", HUB, "my_org/my.app", "latest", None),
    ("ghcr.io/o/a.b_c__d-e--f", "ghcr.io", "ghcr.io", "o/a.b_c__d-e--f", "latest", None),
    ("ns/9", "docker.io", HUB, "ns/9", "latest", None),
    ("ns/0.1", "docker.io", HUB, "ns/0.1", "latest", None),
    # --- registries: the first component is a host iff localhost, `.`, `:` or not lowercase -------
    ("localhost/foo", "localhost", "localhost", "foo", "latest", None),
    ("localhost/foo:tag", "localhost", "localhost", "foo", "tag", None),
    ("localhost:5000/foo", "localhost:5000", "localhost", "foo", "latest", None),
    ("localhost:5000/foo/bar:1", "localhost:5000", "localhost", "foo/bar", "1", None),
    ("localhost/library/foo", "localhost", "localhost", "library/foo", "latest", None),
    ("example.com/foo", "example.com", "example.com", "foo", "latest", None),
    ("example.com/privatebase", "example.com", "example.com", "privatebase", "latest", None),
    ("example.com/private/moonbase", "example.com", "example.com", "private/moonbase", "latest", None),
    ("example.com:8000/private/moonbase", "example.com:8000", "example.com", "private/moonbase", "latest", None),
    ("example.com:8000/privatebasee", "example.com:8000", "example.com", "privatebasee", "latest", None),
    ("example.com:8000/named:tagged", "example.com:8000", "example.com", "named", "tagged", None),
    ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "127.0.0.1", "private/moonbase", "latest", None),
    ("127.0.0.1:8000/privatebase", "127.0.0.1:8000", "127.0.0.1", "privatebase", "latest", None),
    ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "127.0.0.1", "docker/docker", "latest", None),
    ("127.0.0.1:5000/library/debian", "127.0.0.1:5000", "127.0.0.1", "library/debian", "latest", None),
    ("127.0.0.1:5000/debian", "127.0.0.1:5000", "127.0.0.1", "debian", "latest", None),
    ("192.168.0.1:8/debian", "192.168.0.1:8", "192.168.0.1", "debian", "latest", None),
    ("192.168.0.2:25000/debian", "192.168.0.2:25000", "192.168.0.2", "debian", "latest", None),
    ("192.168.1.1/repo", "192.168.1.1", "192.168.1.1", "repo", "latest", None),
    ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "192.168.1.1", "repo", "5050", None),
    ("10.0.0.1:443/a/b", "10.0.0.1:443", "10.0.0.1", "a/b", "latest", None),
    ("test.com/repo:tag", "test.com", "test.com", "repo", "tag", None),
    ("test:5000/repo", "test:5000", "test", "repo", "latest", None),
    ("test:5000/repo:tag", "test:5000", "test", "repo", "tag", None),
    ("test.com:8080/foo", "test.com:8080", "test.com", "foo", "latest", None),
    ("test-com:8080/foo", "test-com:8080", "test-com", "foo", "latest", None),
    ("myregistry:5000/team/app:2.1", "myregistry:5000", "myregistry", "team/app", "2.1", None),
    ("registry:0/x", "registry:0", "registry", "x", "latest", None),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "sub-dom1.foo.com", "bar/baz/quux", "latest", None),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "sub-dom1.foo.com", "bar/baz/quux",
     "some-long-tag", None),
    ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "b.gcr.io", "test.example.com/my-app",
     "test.example.com", None),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", None),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "xn--n3h.com", "foo", "latest", None),
    ("xn--7o8h.com/myimage:xn--7o8h.com@" + D512, "xn--7o8h.com", "xn--7o8h.com", "myimage", "xn--7o8h.com",
     D512),
    ("a.b-c.d/e", "a.b-c.d", "a.b-c.d", "e", "latest", None),
    ("a--b.example/x", "a--b.example", "a--b.example", "x", "latest", None),
    ("ghcr.io/owner/repo:v1.2.3", "ghcr.io", "ghcr.io", "owner/repo", "v1.2.3", None),
    ("quay.io/prometheus/node-exporter:v1.7.0", "quay.io", "quay.io", "prometheus/node-exporter", "v1.7.0", None),
    ("quay.io:1234/node", "quay.io:1234", "quay.io", "node", "latest", None),
    ("gcr.io/distroless/static:nonroot", "gcr.io", "gcr.io", "distroless/static", "nonroot", None),
    ("us-docker.pkg.dev/project/repo/img:1", "us-docker.pkg.dev", "us-docker.pkg.dev", "project/repo/img", "1",
     None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0", "123456789012.dkr.ecr.us-east-1.amazonaws.com",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com", "app", "1.0", None),
    ("public.ecr.aws/docker/library/alpine:3.19", "public.ecr.aws", "public.ecr.aws", "docker/library/alpine",
     "3.19", None),
    ("mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com", "mcr.microsoft.com", "dotnet/sdk", "8.0", None),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io", "registry.k8s.io", "pause", "3.9", None),
    ("registry.gitlab.com/group/sub/project:main", "registry.gitlab.com", "registry.gitlab.com", "group/sub/project",
     "main", None),
    ("registry2.something.info:5005/node:8", "registry2.something.info:5005", "registry2.something.info", "node",
     "8", None),
    ("registry-1.docker.io/library/ubuntu", "registry-1.docker.io", HUB, "library/ubuntu", "latest", None),
    ("registry-1.docker.io/ubuntu", "registry-1.docker.io", HUB, "ubuntu", "latest", None),
    ("example.com/ubuntu", "example.com", "example.com", "ubuntu", "latest", None),
    # not lowercase: a registry, whose host is contacted lowercased
    ("Docker/docker", "Docker", "docker", "docker", "latest", None),
    ("DOCKER/docker", "DOCKER", "docker", "docker", "latest", None),
    ("Foo/bar", "Foo", "foo", "bar", "latest", None),
    ("FOO/bar", "FOO", "foo", "bar", "latest", None),
    ("EXAMPLE.COM/foo", "EXAMPLE.COM", "example.com", "foo", "latest", None),
    ("Registry.Example.com:5000/team/app", "Registry.Example.com:5000", "registry.example.com", "team/app",
     "latest", None),
    ("myHost/app", "myHost", "myhost", "app", "latest", None),
    # the registry's length does not count: only the path is limited to 255
    ("x" * 300 + ".com/foo", "x" * 300 + ".com", "x" * 300 + ".com", "foo", "latest", None),
    # --- IPv6 literals, in brackets -------------------------------------------------------------
    ("[2001:db8::1]/repo", "[2001:db8::1]", "2001:db8::1", "repo", "latest", None),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "2001:db8:1:2:3:4:5:6", "repo", "tag", None),
    ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "2001:db8::1", "repo", "latest", None),
    ("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "2001:db8::1", "repo", "tag", None),
    ("[2001:db8::1]:5000/repo@" + D256, "[2001:db8::1]:5000", "2001:db8::1", "repo", None, D256),
    ("[2001:db8::1]:5000/repo:tag@" + D256, "[2001:db8::1]:5000", "2001:db8::1", "repo", "tag", D256),
    ("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "2001:db8::", "repo", "latest", None),
    ("[::1]:5000/repo", "[::1]:5000", "::1", "repo", "latest", None),
    ("[::1]/repo", "[::1]", "::1", "repo", "latest", None),
    ("[fc00::1]:5000/docker", "[fc00::1]:5000", "fc00::1", "docker", "latest", None),
    ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "fc00::1", "docker/docker", "latest", None),
    ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "fc00:1:2:3:4:5:6:7",
     "library/debian", "latest", None),
    ("[2001:DB8::ABCD]:443/app", "[2001:DB8::ABCD]:443", "2001:db8::abcd", "app", "latest", None),
    # --- tags: [\w][\w.-]{0,127} ----------------------------------------------------------------
    ("lowercase:Uppercase", "docker.io", HUB, "library/lowercase", "Uppercase", None),
    ("ubuntu:LATEST", "docker.io", HUB, "library/ubuntu", "LATEST", None),
    ("ubuntu:1", "docker.io", HUB, "library/ubuntu", "1", None),
    ("ubuntu:_", "docker.io", HUB, "library/ubuntu", "_", None),
    ("ubuntu:_x", "docker.io", HUB, "library/ubuntu", "_x", None),
    ("ubuntu:x.", "docker.io", HUB, "library/ubuntu", "x.", None),
    ("ubuntu:x-", "docker.io", HUB, "library/ubuntu", "x-", None),
    ("ubuntu:a..b", "docker.io", HUB, "library/ubuntu", "a..b", None),
    ("ubuntu:a--b__c", "docker.io", HUB, "library/ubuntu", "a--b__c", None),
    ("ubuntu:1.0-rc.1", "docker.io", HUB, "library/ubuntu", "1.0-rc.1", None),
    ("ubuntu:0", "docker.io", HUB, "library/ubuntu", "0", None),
    ("ubuntu:latest", "docker.io", HUB, "library/ubuntu", "latest", None),
    ("ns/app:" + "t" * 128, "docker.io", HUB, "ns/app", "t" * 128, None),
    ("ns/app:" + "1" + "." * 127, "docker.io", HUB, "ns/app", "1" + "." * 127, None),
    ("example.com:5000/app:" + "A" * 128, "example.com:5000", "example.com", "app", "A" * 128, None),
    ("test.com:5000", "docker.io", HUB, "library/test.com", "5000", None),
    # --- digests ----------------------------------------------------------------------------------
    ("busybox@" + D256, "docker.io", HUB, "library/busybox", None, D256),
    ("busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "docker.io", HUB,
     "library/busybox", "latest", "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"),
    ("redis@" + D256B, "docker.io", HUB, "library/redis", None, D256B),
    ("docker.io/library/redis@" + D256B, "docker.io", HUB, "library/redis", None, D256B),
    ("dmcgowan/myapp@" + D256B, "docker.io", HUB, "dmcgowan/myapp", None, D256B),
    ("test:5000/repo@" + D256, "test:5000", "test", "repo", None, D256),
    ("test:5000/repo:tag@" + D256, "test:5000", "test", "repo", "tag", D256),
    ("other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112", "other.com",
     "other.com", "named", None, "sha256:1234567890098765432112345667890098765432112345667890098765432112"),
    ("ns/app@" + D384, "docker.io", HUB, "ns/app", None, D384),
    ("ns/app@" + D512, "docker.io", HUB, "ns/app", None, D512),
    ("ns/app:1.0@" + D384, "docker.io", HUB, "ns/app", "1.0", D384),
    ("ghcr.io/o/r:v1@" + D512, "ghcr.io", "ghcr.io", "o/r", "v1", D512),
    ("localhost:5000/app@" + D256, "localhost:5000", "localhost", "app", None, D256),
    ("gcr.io/k8s-skaffold/skaffold:v0.11.0@sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d",
     "gcr.io", "gcr.io", "k8s-skaffold/skaffold", "v0.11.0",
     "sha256:d743b4141b02fcfb8beb68f92b4cd164f60ee457bf2d053f36785bf86de16b0d"),
    ("ns/app@sha256:" + "0" * 64, "docker.io", HUB, "ns/app", None, "sha256:" + "0" * 64),
    # --- cases of regexp_test.go, normalized -------------------------------------------------------
    ("registry.io/foo/project--id.module--name.ver---sion--name", "registry.io", "registry.io",
     "foo/project--id.module--name.ver---sion--name", "latest", None),
    ("example.com/some_separator__underscore/myimage", "example.com", "example.com",
     "some_separator__underscore/myimage", "latest", None),
    ("example.com/xn--7o8h.com/myimage", "example.com", "example.com", "xn--7o8h.com/myimage", "latest", None),
    ("blog.foo.com/bar/baz", "blog.foo.com", "blog.foo.com", "bar/baz", "latest", None),
    ("foo.com/foo_bar", "foo.com", "foo.com", "foo_bar", "latest", None),
    ("foo.com:8080/bar", "foo.com:8080", "foo.com", "bar", "latest", None),
    ("localhost:8080/bar", "localhost:8080", "localhost", "bar", "latest", None),
    ("aa-a/a", "docker.io", HUB, "aa-a/a", "latest", None),
    ("docker/stevvooe/app", "docker.io", HUB, "docker/stevvooe/app", "latest", None),
    ("aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", "docker.io", HUB, "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
     "latest", None),
    ("foo.com", "docker.io", HUB, "library/foo.com", "latest", None),
    ("foo_bar", "docker.io", HUB, "library/foo_bar", "latest", None),
    ("do__cker/docker", "docker.io", HUB, "do__cker/docker", "latest", None),
    ("a.b/x", "a.b", "a.b", "x", "latest", None),
    ("ab.cd.com/x", "ab.cd.com", "ab.cd.com", "x", "latest", None),
    ("ab.c-om/x", "ab.c-om", "ab.c-om", "x", "latest", None),
    ("0101.com/x", "0101.com", "0101.com", "x", "latest", None),
    ("001a.com/x", "001a.com", "001a.com", "x", "latest", None),
    ("b.gbc.io:443/x", "b.gbc.io:443", "b.gbc.io", "x", "latest", None),
    ("Asdf.com/foo/bar", "Asdf.com", "asdf.com", "foo/bar", "latest", None),
    # the grammar does not range-check ports or IPv6 groups: that is left to the client
    ("192.168.1.1:75050/x", "192.168.1.1:75050", "192.168.1.1", "x", "latest", None),
    ("[fd00:1:2::3]:75050/x", "[fd00:1:2::3]:75050", "fd00:1:2::3", "x", "latest", None),
    ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:5000/x", "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:5000",
     "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "x", "latest", None),
    ("registry.com:8080/myapp:tag", "registry.com:8080", "registry.com", "myapp", "tag", None),
    ("registry.com:8080/myapp@" + DBE, "registry.com:8080", "registry.com", "myapp", None, DBE),
    ("registry.com:8080/myapp:tag2@" + DBE, "registry.com:8080", "registry.com", "myapp", "tag2", DBE),
    ("localhost:8080/name@" + DBE, "localhost:8080", "localhost", "name", None, DBE),
    # without a slash, localhost is a Docker Hub name and 8080 its tag
    ("localhost:8080@" + DBE, "docker.io", HUB, "library/localhost", "8080", DBE),
    ("localhost@" + DBE, "docker.io", HUB, "library/localhost", None, DBE),
]

# Path length: the limit of 255 applies to the repository path (docker.io names include `library/`).
LENGTH_VALID: list[tuple[str, str, str, str]] = [
    ("example.com/" + "a" * 255, "example.com", "a" * 255, "path-255-on-example.com"),
    ("example.com/" + "a" * 255 + ":tag", "example.com", "a" * 255, "path-255-with-tag"),
    ("ns/" + "a" * 252, "docker.io", "ns/" + "a" * 252, "hub-path-255"),
    ("a" * 247, "docker.io", "library/" + "a" * 247, "hub-library-path-255"),
    ("a/" * 127 + "a", "docker.io", "a/" * 127 + "a", "hub-255-in-128-components"),
    ("a/" * 127 + "a:tag-puts-this-over-max", "docker.io", "a/" * 127 + "a", "tag-not-counted"),
    ("example.com/" + "ab/" * 84 + "abc", "example.com", "ab/" * 84 + "abc", "path-255-many-components"),
]

# (input, reason)
INVALID: list[tuple[str, str]] = [
    # --- empty and whitespace -----------------------------------------------------------------------
    ("", "repository name must have at least one component"),
    (" ", INVALID_FORMAT),
    ("\n", INVALID_FORMAT),
    ("\t", INVALID_FORMAT),
    (" ubuntu", INVALID_FORMAT),
    ("ubuntu ", INVALID_FORMAT),
    ("ubuntu\n", INVALID_FORMAT),
    ("ubuntu\r", INVALID_FORMAT),
    ("\tubuntu", INVALID_FORMAT),
    ("ubu ntu", INVALID_FORMAT),
    ("ubuntu :latest", INVALID_FORMAT),
    ("ubuntu: latest", INVALID_FORMAT),
    ("ubuntu:latest ", INVALID_FORMAT),
    ("example.com /foo", INVALID_FORMAT),
    ("ns/app@" + D256 + "\n", INVALID_FORMAT),
    ("ns/app\u00a0", INVALID_FORMAT),
    # --- shapes that are not references ---------------------------------------------------------
    (":justtag", INVALID_FORMAT),
    ("@" + D256, INVALID_FORMAT),
    ("https://github.com/docker/docker", INVALID_FORMAT),
    ("http://example.com/foo", INVALID_FORMAT),
    ("docker///docker", INVALID_FORMAT),
    ("docker.io/docker///docker", INVALID_FORMAT),
    ("docker//docker", INVALID_FORMAT),
    ("docker/", INVALID_FORMAT),
    ("docker.io/", INVALID_FORMAT),
    ("example.com/", INVALID_FORMAT),
    ("/docker", INVALID_FORMAT),
    ("/", INVALID_FORMAT),
    ("aa/asdf$$^/aa", INVALID_FORMAT),
    ("foo:", INVALID_FORMAT),
    ("foo@", INVALID_FORMAT),
    ("foo:@" + D256, INVALID_FORMAT),
    ("foo/bar:tag@", INVALID_FORMAT),
    ("ubuntu:latest:latest", INVALID_FORMAT),
    ("ubuntu@sha256", INVALID_FORMAT),
    ("ubuntu@" + D256 + "@" + D256, INVALID_FORMAT),
    # uppercase anywhere before the first `:` is reported as such, even in an unexpanded variable
    ("${IMAGE}", _lower("library/${IMAGE}")),
    ("$IMAGE", _lower("library/$IMAGE")),
    ("ns/{{ .Values.image }}", _lower("ns/{{ .Values.image }}")),
    ("${image}", INVALID_FORMAT),
    ("ns/{{ .image }}", INVALID_FORMAT),
    ("ns/app!", INVALID_FORMAT),
    ("ns/app#1", INVALID_FORMAT),
    ("ns/app?x=1", INVALID_FORMAT),
    ("ns/app;rm", INVALID_FORMAT),
    ("ns/app*", INVALID_FORMAT),
    ("ns/caf\u00e9", INVALID_FORMAT),
    ("ns/app\x00", INVALID_FORMAT),
    ("'ubuntu'", INVALID_FORMAT),
    ('"ubuntu"', INVALID_FORMAT),
    # --- illegal separators and components --------------------------------------------------------
    ("-docker", INVALID_FORMAT),
    ("-foo", INVALID_FORMAT),
    ("-docker/docker", INVALID_FORMAT),
    ("docker-/docker", INVALID_FORMAT),
    ("-docker-/docker", INVALID_FORMAT),
    ("____/____", INVALID_FORMAT),
    ("_docker/_docker", INVALID_FORMAT),
    ("dock..er/docker", INVALID_FORMAT),
    ("dock_.er/docker", INVALID_FORMAT),
    ("dock-.er/docker", INVALID_FORMAT),
    ("ns/a..b", INVALID_FORMAT),
    ("ns/a___b", INVALID_FORMAT),
    ("ns/a._b", INVALID_FORMAT),
    ("ns/a_.b", INVALID_FORMAT),
    ("ns/a.-b", INVALID_FORMAT),
    ("ns/a-.b", INVALID_FORMAT),
    ("ns/a_-b", INVALID_FORMAT),
    ("ns/a-_b", INVALID_FORMAT),
    ("ns/_a", INVALID_FORMAT),
    ("ns/a_", INVALID_FORMAT),
    ("ns/.a", INVALID_FORMAT),
    ("ns/a.", INVALID_FORMAT),
    ("ns/-a", INVALID_FORMAT),
    ("ns/a-", INVALID_FORMAT),
    ("ns/__a", INVALID_FORMAT),
    ("ns/a__", INVALID_FORMAT),
    ("a-", INVALID_FORMAT),
    ("a.", INVALID_FORMAT),
    ("_", INVALID_FORMAT),
    (".", INVALID_FORMAT),
    ("..", INVALID_FORMAT),
    ("ns/a+b", INVALID_FORMAT),
    ("ns/a~b", INVALID_FORMAT),
    ("ns/a%b", INVALID_FORMAT),
    ("ns/a\\b", INVALID_FORMAT),
    # --- invalid registry hosts and ports ---------------------------------------------------------
    ("-docker.io/docker/docker", INVALID_FORMAT),
    ("-example.com/foo", INVALID_FORMAT),
    ("example-.com/foo", INVALID_FORMAT),
    ("example..com/foo", INVALID_FORMAT),
    (".example.com/foo", INVALID_FORMAT),
    ("example.com./foo", INVALID_FORMAT),
    ("example.com:/foo", INVALID_FORMAT),
    ("example.com:abc/foo", INVALID_FORMAT),
    ("example.com:5000:6000/foo", INVALID_FORMAT),
    ("example.com:-1/foo", INVALID_FORMAT),
    ("localhost:/foo", INVALID_FORMAT),
    (":5000/foo", INVALID_FORMAT),
    ("exa mple.com/foo", INVALID_FORMAT),
    ("foo_bar:5000/x", INVALID_FORMAT),
    ("user@example.com/foo", INVALID_FORMAT),
    # --- cases of regexp_test.go ---------------------------------------------------------------------
    ("test.com:http/bar", INVALID_FORMAT),
    ("foo.com:http/bar", INVALID_FORMAT),
    ("localhost:http/name@" + DBE, INVALID_FORMAT),
    ("a^a", INVALID_FORMAT),
    ("asdf$$^/aa", INVALID_FORMAT),
    ("a/a/a/a/", INVALID_FORMAT),
    ("a//a/a", INVALID_FORMAT),
    ("foo.com/", INVALID_FORMAT),
    ("a-/a/a/a", INVALID_FORMAT),
    ("foo.com/a-/a/a", INVALID_FORMAT),
    ("-foo/bar", INVALID_FORMAT),
    ("foo/bar-", INVALID_FORMAT),
    ("foo-/bar", INVALID_FORMAT),
    ("foo/-bar", INVALID_FORMAT),
    ("_foo/bar", INVALID_FORMAT),
    ("docker_/docker_", INVALID_FORMAT),
    ("foo_bar.com:8080/app", INVALID_FORMAT),
    ("example.com/__underscore/myimage", INVALID_FORMAT),
    ("example.com/..dots/myimage", INVALID_FORMAT),
    ("example.com/.dots/myimage", INVALID_FORMAT),
    ("example.com/nodouble..dots/myimage", INVALID_FORMAT),
    ("docker./docker", INVALID_FORMAT),
    (".docker/docker", INVALID_FORMAT),
    ("do..cker/docker", INVALID_FORMAT),
    ("do__cker:8080/docker", INVALID_FORMAT),
    ("Foo/FarB", _lower("FarB")),
    ("registry.com:8080/myapp@sha256:badbadbadbad", INVALID_FORMAT),
    ("registry.com:8080/myapp:invalid~tag", INVALID_FORMAT),
    ("bad_hostname.com:8080/myapp:tag", INVALID_FORMAT),
    ("registry.com:8080/myapp@bad", INVALID_FORMAT),
    ("registry.com:8080/myapp@2bad", INVALID_FORMAT),
    ("-ab.com/x", INVALID_FORMAT),
    ("ab-.com/x", INVALID_FORMAT),
    ("ab.-com/x", INVALID_FORMAT),
    ("ab.com-/x", INVALID_FORMAT),
    ("[fd00:1:2::3]75050/x", INVALID_FORMAT),
    ("[fd00:1:2::3]::75050/x", INVALID_FORMAT),
    ("[fd00:1:2::3%eth0]:75050/x", INVALID_FORMAT),
    ("fd00:1:2::3:75050/x", INVALID_FORMAT),
    # --- IPv6 -----------------------------------------------------------------------------------
    ("[2001:db8::1]", INVALID_FORMAT),
    ("[2001:db8::1]:5000", INVALID_FORMAT),
    ("[2001:db8::1]:tag", INVALID_FORMAT),
    ("[fc00::1]", INVALID_FORMAT),
    ("[fc00::1]:5000", INVALID_FORMAT),
    ("fc00::1:5000/debian", INVALID_FORMAT),
    ("2001:db8::1/repo", INVALID_FORMAT),
    ("[fe80::1%eth0]:5000/repo", INVALID_FORMAT),
    ("[fe80::1%@invalidzone]:5000/repo", INVALID_FORMAT),
    ("[fe80::1%eth0]:5000/debian", INVALID_FORMAT),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", INVALID_FORMAT),
    ("[::ffff:127.0.0.1]/repo", INVALID_FORMAT),
    ("[]/repo", INVALID_FORMAT),
    ("[::1]:/repo", INVALID_FORMAT),
    ("[::1/repo", INVALID_FORMAT),
    ("::1]/repo", INVALID_FORMAT),
    ("[g::1]/repo", INVALID_FORMAT),
    ("[::1]:5000:1/repo", INVALID_FORMAT),
    # --- uppercase in the repository ----------------------------------------------------------------
    ("docker/Docker", _lower("docker/Docker")),
    ("docker.io/docker/Docker", _lower("docker/Docker")),
    ("Ubuntu", _lower("library/Ubuntu")),
    ("UBUNTU:latest", _lower("library/UBUNTU")),
    ("Uppercase:tag", _lower("library/Uppercase")),
    ("test:5000/Uppercase/lowercase:tag", _lower("Uppercase/lowercase")),
    ("example.com/Foo/bar:tag", _lower("Foo/bar")),
    ("example.com/foo/Bar", _lower("foo/Bar")),
    ("localhost/Foo", _lower("Foo")),
    ("localhost:5000/App:1", _lower("App")),
    ("ghcr.io/Owner/repo", _lower("Owner/repo")),
    ("index.docker.io/Foo", _lower("library/Foo")),
    ("docker.io/Foo", _lower("library/Foo")),
    ("foo/Bar:TAG", _lower("foo/Bar")),
    ("Foo/Bar", _lower("Bar")),
    ("[::1]:5000/Repo", _lower("Repo")),
    (HEX64.upper(), _lower("library/" + HEX64.upper())),
    # the part before the first `:` is what is checked, so an uppercase digest algorithm without a tag lands here
    ("ns/app@SHA256:" + "f" * 64, _lower("ns/app@SHA256")),
    ("app@Sha256:" + "f" * 64, _lower("library/app@Sha256")),
    # --- tags ---------------------------------------------------------------------------------------
    ("ns/app:" + "t" * 129, INVALID_FORMAT),
    ("example.com:5000/app:" + "A" * 129, INVALID_FORMAT),
    ("ubuntu:.x", INVALID_FORMAT),
    ("ubuntu:-x", INVALID_FORMAT),
    ("ubuntu:.", INVALID_FORMAT),
    ("ubuntu:-", INVALID_FORMAT),
    ("ubuntu:1.0+build", INVALID_FORMAT),
    ("ubuntu:a/b", INVALID_FORMAT),
    ("ubuntu:a b", INVALID_FORMAT),
    ("ubuntu:caf\u00e9", INVALID_FORMAT),
    ("ubuntu:~1", INVALID_FORMAT),
    ("ubuntu:1,2", INVALID_FORMAT),
    ("ubuntu:${TAG}", INVALID_FORMAT),
    # --- digests ------------------------------------------------------------------------------------
    ("repo@sha256:ffffffffffffffffffffffffffffffffff", DIGEST_LENGTH),
    ("ns/app@sha256:" + "f" * 63, DIGEST_LENGTH),
    ("ns/app@sha256:" + "f" * 65, DIGEST_LENGTH),
    ("ns/app@sha256:" + "f" * 32, DIGEST_LENGTH),
    ("ns/app@sha256:" + "f" * 128, DIGEST_LENGTH),
    ("ns/app@sha384:" + "f" * 64, DIGEST_LENGTH),
    ("ns/app@sha384:" + "f" * 95, DIGEST_LENGTH),
    ("ns/app@sha384:" + "f" * 97, DIGEST_LENGTH),
    ("ns/app@sha512:" + "f" * 64, DIGEST_LENGTH),
    ("ns/app@sha512:" + "f" * 127, DIGEST_LENGTH),
    ("ns/app@sha512:" + "f" * 129, DIGEST_LENGTH),
    ("ns/app:1@sha256:" + "f" * 96, DIGEST_LENGTH),
    ("ns/app@sha256:" + "F" * 64, DIGEST_FORMAT),
    ("ns/app@sha256:" + "Ab" * 32, DIGEST_FORMAT),
    ("ns/app@sha384:" + "ABCDEF" * 16, DIGEST_FORMAT),
    ("ns/app@sha512:" + "F" * 128, DIGEST_FORMAT),
    ("ns/app:1@SHA256:" + "f" * 64, DIGEST_FORMAT),
    ("ns/app:1@Sha512:" + "f" * 128, DIGEST_FORMAT),
    ("validname@invaliddigest:" + "f" * 64, DIGEST_UNSUPPORTED),
    ("ns/app@md5:" + "f" * 32, DIGEST_UNSUPPORTED),
    ("ns/app@sha1:" + "f" * 40, DIGEST_UNSUPPORTED),
    ("ns/app@sha224:" + "f" * 56, DIGEST_UNSUPPORTED),
    ("ns/app@blake3:" + "f" * 64, DIGEST_UNSUPPORTED),
    ("ns/app@sha256+b64:" + "f" * 64, DIGEST_UNSUPPORTED),
    ("ns/app@sha256.x:" + "f" * 64, DIGEST_UNSUPPORTED),
    ("ns/app@sha3_256:" + "f" * 64, INVALID_FORMAT),  # `3_256`: a digest-algorithm component must start a-z
    ("ns/app@sha256:" + "f" * 31, INVALID_FORMAT),  # fewer than 32 hex: not a digest at all
    ("ns/app@sha256:abc", INVALID_FORMAT),
    ("ns/app@sha256:" + "g" * 64, INVALID_FORMAT),
    ("ns/app@sha256:" + "f" * 63 + "-", INVALID_FORMAT),
    ("ns/app@:" + "f" * 64, INVALID_FORMAT),
    ("ns/app@256:" + "f" * 64, INVALID_FORMAT),
    ("ns/app@" + "f" * 64, INVALID_FORMAT),
    # --- 64-hex identifiers ---------------------------------------------------------------------------
    (HEX64, _hex_refused(HEX64)),
    ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     _hex_refused("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")),
    ("0" * 64, _hex_refused("0" * 64)),
    # --- path length ----------------------------------------------------------------------------------
    ("example.com/" + "a" * 256, TOO_LONG),
    ("domain/" + "a" * 256 + ":tag", TOO_LONG),
    ("a/" * 128 + "a:tag", TOO_LONG),
    ("ns/" + "a" * 253, TOO_LONG),
    ("a" * 248, TOO_LONG),
    ("a" * 1000, TOO_LONG),
    ("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its"
     "_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a"
     "_valid_namespace_because_its_lenth_is_greater_than_255/docker", TOO_LONG),
]


@pytest.mark.parametrize(
    ("text", "registry", "endpoint", "repository", "tag", "digest"),
    [pytest.param(*case, id=_id(case[0])) for case in VALID],
)
def test_valid_reference(text: str, registry: str, endpoint: str, repository: str, tag: str | None,
                         digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.endpoint, ref.repository, ref.tag, ref.digest) == (
        registry, endpoint, repository, tag, digest)
    assert ref.original == text


@pytest.mark.parametrize(
    ("text", "registry", "repository"),
    [pytest.param(text, registry, repository, id=case_id) for text, registry, repository, case_id in LENGTH_VALID],
)
def test_path_length_up_to_255_is_accepted(text: str, registry: str, repository: str) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository) == (registry, repository)
    assert len(ref.repository) == 255


@pytest.mark.parametrize(("text", "reason"), [pytest.param(*case, id=_id(case[0])) for case in INVALID])
def test_invalid_reference(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert caught.value.reason == reason
    assert caught.value.text == text


def test_underscore_host_is_refused_rather_than_left_without_a_registry() -> None:
    # Parse("foo_bar.com/x") matches with an EMPTY domain (the underscore is legal in a path, not a host), so the
    # engine would have no registry to contact; regaudit refuses it instead of inventing a host.
    with pytest.raises(InvalidReference) as caught:
        parse_reference("foo_bar.com/x")
    assert caught.value.reason.startswith(INVALID_FORMAT)
    assert "foo_bar.com" in caught.value.reason


def test_tag_and_digest_are_both_kept() -> None:
    ref = parse_reference("ns/app:1.0@" + D256)
    assert ref.canonical == "docker.io/ns/app:1.0@" + D256


def test_canonical_of_familiar_name() -> None:
    assert parse_reference("ubuntu").canonical == "docker.io/library/ubuntu:latest"
    assert parse_reference("index.docker.io/debian:12").name == "docker.io/library/debian"


@pytest.mark.parametrize(
    ("name", "domain", "remainder"),
    [
        ("ubuntu", "docker.io", "library/ubuntu"),
        ("ubuntu:22.04", "docker.io", "library/ubuntu:22.04"),
        ("foo/bar", "docker.io", "foo/bar"),
        ("docker.io/foo", "docker.io", "library/foo"),
        ("index.docker.io/foo/bar", "docker.io", "foo/bar"),
        ("localhost/foo", "localhost", "foo"),
        ("localhost", "docker.io", "library/localhost"),
        ("example.com:5000/foo", "example.com:5000", "foo"),
        ("reg:5000/foo", "reg:5000", "foo"),
        ("Foo/bar", "Foo", "bar"),
        ("[::1]:5000/x", "[::1]:5000", "x"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_split_docker_domain(name: str, domain: str, remainder: str) -> None:
    assert split_docker_domain(name) == (domain, remainder)


@pytest.mark.parametrize(
    ("registry", "host"),
    [
        ("docker.io", HUB),
        ("index.docker.io", HUB),
        ("registry-1.docker.io", HUB),
        ("ghcr.io", "ghcr.io"),
        ("GHCR.IO", "ghcr.io"),
        ("localhost:5000", "localhost"),
        ("example.com:443", "example.com"),
        ("[::1]:5000", "::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("10.1.2.3:5000", "10.1.2.3"),
    ],
)
def test_endpoint_host(registry: str, host: str) -> None:
    assert endpoint_host(registry) == host


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("https://index.docker.io/v1/", HUB),
        ("index.docker.io", HUB),
        ("docker.io", HUB),
        ("https://registry-1.docker.io", HUB),
        ("ghcr.io", "ghcr.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("ghcr.io/", "ghcr.io"),
        ("http://localhost:5000", "localhost"),
        ("Example.COM:5000", "example.com"),
        ("[::1]:5000", "::1"),
        ("https://[2001:db8::1]:5000/v2/", "2001:db8::1"),
        ("  quay.io  ", "quay.io"),
        ("https://user@reg.example.com/", "reg.example.com"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
        ("", ""),
    ],
)
def test_normalize_registry_host(text: str, host: str) -> None:
    assert normalize_registry_host(text) == host


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        (D256, None),
        (D384, None),
        (D512, None),
        ("sha256", DIGEST_FORMAT),
        (":" + "f" * 64, DIGEST_FORMAT),
        ("sha256:", DIGEST_FORMAT),
        ("md5:" + "f" * 32, DIGEST_UNSUPPORTED),
        ("MD5:" + "f" * 32, DIGEST_FORMAT),
        ("sha256:" + "f" * 10, DIGEST_LENGTH),
        ("sha256:" + "F" * 64, DIGEST_FORMAT),
    ],
)
def test_validate_digest(digest: str, reason: str | None) -> None:
    if reason is None:
        validate_digest(digest)
        return
    with pytest.raises(InvalidReference) as caught:
        validate_digest(digest)
    assert caught.value.reason == reason


def test_table_is_large() -> None:
    assert len(VALID) + len(LENGTH_VALID) + len(INVALID) >= 300


# --- references whose host is certain though their tag or path is an expression ------------------------------------

@pytest.mark.parametrize(("text", "registry", "endpoint", "repository"), [
    ("harbor.corp.example/app/api:${{ github.sha }}", "harbor.corp.example", "harbor.corp.example", "app/api"),
    ("ghcr.io/${{ github.repository }}:latest", "ghcr.io", "ghcr.io", "${{ github.repository }}:latest"),
    ("nginx:${TAG}", "docker.io", "registry-1.docker.io", "library/nginx"),
    ("acme/api:$CI_COMMIT_SHA", "docker.io", "registry-1.docker.io", "acme/api"),
    ("alpine@${DIGEST}", "docker.io", "registry-1.docker.io", "library/alpine"),
    ("registry.corp:${PORT}/team/app:1", "registry.corp", "registry.corp", "team/app"),
    ("gcr.io/proj/img:${TAG}@sha256:abc", "gcr.io", "gcr.io", "proj/img"),
    ("ghcr.io/acme/api:v${VERSION}", "ghcr.io", "ghcr.io", "acme/api"),
])
def test_partial_reference_keeps_a_certain_host(text: str, registry: str, endpoint: str, repository: str) -> None:
    ref = partial_reference(text, "unresolved: the tag")
    assert ref is not None
    assert (ref.registry, ref.endpoint, ref.repository, ref.tag, ref.digest) == (registry, endpoint, repository,
                                                                                None, None)
    assert ref.unresolved == "unresolved: the tag" and ref.original == text


@pytest.mark.parametrize("text", [
    "${REGISTRY}/app:1",  # the host is the expression
    "acme${SUFFIX}/api",  # the first component is not complete: it may or may not be a host
    "reg:${PORT}/app",  # `reg` without a dot is not a host unless it is localhost
    "%%BASE%%",
    "docker.io/library/alpine:%%TAG%%",  # a template file's placeholder: its own tool renders it, maybe wholly
    "ghcr.io/Acme/api:${X}",  # the engine refuses the uppercase path whatever the tag is
    "nginx:1.27",  # no expression: not a partial reference
])
def test_partial_reference_refuses_to_guess(text: str) -> None:
    assert partial_reference(text, "why") is None
