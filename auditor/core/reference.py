"""The image-reference grammar of distribution/reference, as the Docker engine applies it.

Semantics follow `ParseNormalizedNamed` and `ParseDockerRef` (github.com/distribution/reference,
normalize.go, reference.go, regexp.go), and the digest checks of github.com/opencontainers/go-digest:

    reference     := name [ ":" tag ] [ "@" digest ]
    name          := [domain '/'] remote-name
    domain        := host [':' port-number]
    host          := domain-name | IPv4address | \\[ IPv6address \\]
    domain-name   := domain-component ['.' domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    remote-name   := path-component ['/' path-component]*
    path-component := alpha-numeric [separator alpha-numeric]*
    alpha-numeric := /[a-z0-9]+/
    separator     := /[_.]|__|[-]+/
    tag           := /[\\w][\\w.-]{0,127}/
    digest        := algorithm ":" encoded

Error texts are the Go libraries' own, so a reason reads the same as the engine's refusal. Digest errors
follow go-digest v1.0.0, the release the engine vendors ("invalid checksum digest length" for a wrong
hex length; later go-digest folds that into "invalid checksum digest format").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.core.model import ImageReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN}/)?{_REMOTE_NAME}"

# Go's `$` matches only at the very end; Python's also before a final newline, hence `\Z` throughout.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?\Z", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"(?:({_DOMAIN})/)?({_REMOTE_NAME})\Z", re.ASCII)
_ANCHORED_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}\Z", re.ASCII)
# go-digest's own DigestRegexpAnchored (lowercase algorithm), used to tell "unsupported" from "malformed".
_GO_DIGEST_ANCHORED_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z", re.ASCII)

# go-digest's registered algorithms and the hex length of each.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+\Z", re.ASCII)

ERR_INVALID_FORMAT = "invalid reference format"
ERR_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_DIGEST_FORMAT = "invalid checksum digest format"
ERR_DIGEST_UNSUPPORTED = "unsupported digest algorithm"
ERR_DIGEST_LENGTH = "invalid checksum digest length"


class InvalidReference(ValueError):
    """The text is not a valid image reference; `reason` is the engine's own wording."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


@dataclass(frozen=True, slots=True)
class _SplitName:
    domain: str
    remainder: str


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split NAME into registry domain and remainder as the engine does (splitDockerDomain)."""
    slash = name.find("/")
    first = name[:slash] if slash >= 0 else ""
    if slash == -1 or (
        not any(ch in first for ch in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[slash + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def validate_digest(text: str) -> None:
    """Raise InvalidReference unless TEXT is a digest go-digest accepts (algorithm:encoded)."""
    colon = text.find(":")
    if colon <= 0 or colon + 1 == len(text):
        raise InvalidReference(ERR_DIGEST_FORMAT, text)
    algorithm, encoded = text[:colon], text[colon + 1 :]
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is None:
        if not _GO_DIGEST_ANCHORED_RE.match(text):
            raise InvalidReference(ERR_DIGEST_FORMAT, text)
        raise InvalidReference(ERR_DIGEST_UNSUPPORTED, text)
    if len(encoded) != expected:
        raise InvalidReference(ERR_DIGEST_LENGTH, text)
    if not _LOWER_HEX_RE.match(encoded):
        raise InvalidReference(ERR_DIGEST_FORMAT, text)


def endpoint_host(registry: str) -> str:
    """The host a client contacts for REGISTRY: lowercase, no port, no IPv6 brackets.

    Docker Hub's canonical name `docker.io` is not a registry host: the engine contacts
    `registry-1.docker.io` (moby registry/config.go, DefaultRegistryHost).
    """
    if registry.startswith("["):
        host = registry[1 : registry.index("]")]
    else:
        host = registry.partition(":")[0]
    host = host.lower()
    if host in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN):
        return DOCKER_HUB_ENDPOINT
    return host


def _parse(text: str) -> tuple[str, str, str | None, str | None]:
    """distribution/reference Parse: returns (domain, path, tag, digest)."""
    if text == "":
        raise InvalidReference(ERR_NAME_EMPTY, text)
    match = _REFERENCE_RE.match(text)
    if match is None:
        lowered = text.lower()
        if lowered != text and _REFERENCE_RE.match(lowered):
            raise InvalidReference(ERR_UPPERCASE, text)
        raise InvalidReference(ERR_INVALID_FORMAT, text)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    name_match = _ANCHORED_NAME_RE.match(name)
    assert name_match is not None  # the reference pattern embeds the name pattern
    domain, path = name_match.group(1) or "", name_match.group(2)
    # Since distribution/reference v0.6 the limit applies to the path alone, not domain + path.
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(ERR_NAME_TOO_LONG, text)
    if digest is not None:
        validate_digest(digest)
    return domain, path, tag, digest


def parse_reference(text: str) -> ImageReference:
    """Parse TEXT the way `docker pull TEXT` would (ParseNormalizedNamed, then ParseDockerRef's default tag).

    Raises InvalidReference(reason) when the engine would refuse it. Unlike ParseDockerRef, a tag written
    beside a digest is kept (the pull is by digest either way, and the tag tells a reader what was meant).
    """
    if _ANCHORED_IDENTIFIER_RE.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings", text
        )
    if text == "":
        raise InvalidReference(ERR_NAME_EMPTY, text)
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote}) must be lowercase", text
        )
    try:
        registry, path, tag, digest = _parse(f"{domain}/{remainder}")
    except InvalidReference as exc:  # name the text as written, not the normalized form
        raise InvalidReference(exc.reason, text) from None
    if not registry:
        # `foo_bar.com/x`: the engine's grammar reads the whole text as a path with no domain (`_` is legal in a
        # path, not in a host), leaving nothing to contact; refuse it rather than invent a registry.
        raise InvalidReference(f"{ERR_INVALID_FORMAT}: registry ({domain}) is not a valid host name", text)
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(
        original=text,
        registry=registry,
        endpoint=endpoint_host(registry),
        repository=path,
        tag=tag,
        digest=digest,
    )


# Where an input's own expressions begin: shell/compose/CI variables ($X, ${X}), GitHub and Go templates ({{ }}).
# Template files' %%VAR%% placeholders are not among them: such a file is rendered by a tool of its own, which may
# rewrite any part of it, so its references stay unresolved.
_PLACEHOLDER_RE = re.compile(r"\$|\{\{")


def partial_reference(text: str, reason: str) -> ImageReference | None:
    """An image text that holds unresolved expressions, as a reference with a certain registry host, or None.

    The host is certain when the text before the first expression already decides it by the engine's own rule
    (splitDockerDomain): a complete first path component (`harbor.corp.example/app:${TAG}`,
    `acme/api:${TAG}` -> Docker Hub), a registry whose port is the expression (`registry.corp:${PORT}/app`), or a
    one-component name whose tag or digest is the expression (`nginx:${TAG}` -> docker.io/library/nginx). Anything
    else (`${REGISTRY}/app`, `acme${SUFFIX}/api`) stays unresolved: the host would be a guess.
    """
    placeholder = _PLACEHOLDER_RE.search(text)
    if placeholder is None or placeholder.start() == 0 or "%%" in text:
        return None
    name = _certain_name(text[: placeholder.start()], text[placeholder.start():])
    if name is None:
        return None
    domain, repository, complete = name
    try:
        registry = parse_reference(f"{domain}/{repository if complete else 'x'}").registry
    except InvalidReference:
        return None
    return ImageReference(original=text, registry=registry, endpoint=endpoint_host(registry),
                          repository=repository, tag=None, digest=None, unresolved=reason)


def _certain_name(literal: str, rest: str) -> tuple[str, str, bool] | None:
    """(registry domain, repository, whether that repository is complete) when LITERAL, the text before the first
    expression, decides the registry; REST is the text from the expression on."""
    if "/" in literal:
        domain, remainder = split_docker_domain(literal + "x")
        return (domain, *_repository(remainder[:-1], rest))
    if literal.endswith(":") and "/" in rest:  # `host:${PORT}/path`: the port is unknown, the host is not
        domain = literal[:-1]
        if "." not in domain and domain != "localhost":
            return None
        path = rest[rest.index("/") + 1:].partition("@")[0]
        if path.rfind(":") > path.rfind("/"):
            path = path[: path.rfind(":")]
        return domain, path, "$" not in path and "{{" not in path
    if literal.endswith((":", "@")) and len(literal) > 1:  # `nginx:${TAG}`, `alpine@${DIGEST}`
        domain, remainder = split_docker_domain(literal[:-1])
        return domain, remainder, True
    return None


def _repository(remainder: str, rest: str) -> tuple[str, bool]:
    """The repository path of REMAINDER (the literal text after the domain): complete when a tag or digest
    separator follows its last component, else the path with its expression, as written."""
    last_slash = remainder.rfind("/")
    separators = [i for i in (remainder.rfind(":"), remainder.find("@")) if i > last_slash]
    if separators:
        return remainder[: min(separators)], True
    return remainder + rest, False


def normalize_registry_host(text: str) -> str:
    """Normalize a registry as written in a login/mirror/credential setting to the host contacted.

    Accepts `https://host:port/v1/`, `host:port`, `index.docker.io` ...; returns the endpoint host.
    """
    host = text.strip()
    host = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0]
    host = host.rsplit("@", 1)[-1]
    return endpoint_host(host) if host else ""
