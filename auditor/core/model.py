"""The evidence model: the one currency between parsers and analysis.

Every record carries a `Source`, so each conclusion can be traced back to a file and a line or packet.
Records are frozen and slotted: parsers create many of them, and nothing downstream may change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a path plus a line or a packet number, and the parser that read it."""

    path: str
    line: int | None = None
    packet: int | None = None
    parser: str = ""

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}"
        if self.packet is not None:
            return f"{self.path}#{self.packet}"
        return self.path

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "packet": self.packet, "parser": self.parser}


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A container image named by an input, normalized the way the Docker engine resolves it.

    `registry` is the canonical registry name (`docker.io`); `endpoint` is the host a client actually
    contacts (`registry-1.docker.io`). `context` says where in the file it was found (`FROM`,
    `services.web.image`, `jobs.build.container` ...).
    """

    original: str
    registry: str
    endpoint: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    source: Source | None = None
    context: str = ""
    # Set when the registry host is certain but the tag, digest or path holds an expression no input resolves
    # (`ghcr.io/acme/api:${{ github.sha }}`): the reason, as an Unresolved would give it. Such a reference needs its
    # hosts like any other; only its tag (or path) is unknown.
    unresolved: str = ""

    @property
    def name(self) -> str:
        """The fully qualified name, `registry/repository`."""
        return f"{self.registry}/{self.repository}"

    @property
    def canonical(self) -> str:
        """The fully qualified reference, with tag and/or digest."""
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


class HostPurpose(StrEnum):
    """Why an input names a host that is not an image reference."""

    ADD_URL = "add-url"  # Dockerfile ADD <url>: Registry Access Management applies to it
    LOGIN = "login"  # docker login HOST, docker/login-action registry, withRegistry(...)
    MIRROR = "mirror"  # daemon.json registry-mirrors
    INSECURE = "insecure-registry"  # daemon.json insecure-registries
    CREDENTIAL = "credential"  # ~/.docker/config.json auths / credHelpers keys
    REGISTRY_URL = "registry-url"  # Jenkins registryUrl and similar settings


@dataclass(frozen=True, slots=True)
class HostReference:
    """A host an input names directly (not through an image name)."""

    host: str
    purpose: HostPurpose
    text: str = ""
    source: Source | None = None
    context: str = ""


class ObservationKind(StrEnum):
    DNS_QUERY = "dns-query"
    DNS_ANSWER = "dns-answer"
    CNAME = "cname"
    TLS_SNI = "tls-sni"
    HTTP_HOST = "http-host"
    HTTP_REDIRECT = "http-redirect"
    PROBE_HOP = "probe-hop"


@dataclass(frozen=True, slots=True)
class Observation:
    """A host seen in traffic or logs.

    Fast parsers may pre-aggregate identical observations: `count` records how many there were and
    `time`/`last_time` the first and last (epoch seconds, UTC). `detail` holds kind-specific text:
    the answer address for dns-answer, the ALPN list for tls-sni, the request path for http-host,
    the query type for dns-query.
    """

    host: str
    kind: ObservationKind
    time: float | None = None
    client: str | None = None
    server: str | None = None
    rcode: str | None = None
    detail: str = ""
    source: Source | None = None
    count: int = 1
    last_time: float | None = None


class EdgeVia(StrEnum):
    KNOWLEDGE = "knowledge"
    DNS_CNAME = "dns-cname"
    HTTP_LOCATION = "http-location"
    TLS_TIMING = "tls-timing"
    PROBE = "probe"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True, slots=True)
class RedirectEdge:
    """`from_host` sends clients to `to_host` (a token realm, a blob redirect, a CNAME ...)."""

    from_host: str
    to_host: str
    via: EdgeVia
    confidence: Confidence
    evidence: tuple[Source, ...] = ()
    detail: str = ""
    time: float | None = None
    client: str | None = None


class BlockReason(StrEnum):
    RAM_REGISTRY = "ram-registry"  # registry access to HOST is not allowed
    RAM_DOCKER_HUB = "ram-docker-hub"  # Access to docker.io has been restricted by your administrators.
    RAM_LOGIN = "ram-login"  # "docker login" is unsupported when RAM is blocking Docker Hub
    IAM_DENIED = "iam-denied"  # image access denied: community images not allowed
    PROXY_DENIED = "proxy-denied"  # Squid TCP_DENIED and similar
    DNS_FIREWALL = "dns-firewall"  # Pi-hole gravity/regex, Route 53 DNS Firewall BLOCK, RPZ


@dataclass(frozen=True, slots=True)
class BlockedAttempt:
    """One attempt that a control refused, as a log recorded it.

    Like Observation, log parsers may fold identical attempts (a retry storm): `count` says how many,
    `time`/`last_time` the first and last.
    """

    host: str
    reason: BlockReason
    time: float | None = None
    client: str | None = None
    detail: str = ""
    source: Source | None = None
    image: str | None = None
    count: int = 1
    last_time: float | None = None


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference that could not be resolved (unset variable, invalid name ...): reported, never guessed."""

    text: str
    reason: str
    source: Source | None = None
    context: str = ""


@dataclass(frozen=True, slots=True)
class InputError:
    """Something in an input that could not be read; the rest of the input is still used."""

    message: str
    source: Source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


# -- the state of a developer machine (Docker Desktop readiness) -----------------------------------------
# A machine bundle is a folder per machine; `machine` is that folder's name. Keys are lower-cased (Docker
# Desktop's own files change key casing across versions); `key_text` keeps the spelling the file used.

MachineValue = str | int | float | bool | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class MachineSetting:
    """One setting read from a machine's file or command output.

    `origin` names the file kind (`registry.json`, `config-profile`, `desktop.plist`, `registry-key`,
    `admin-settings.json`, `settings-store.json`, `settings.json`, `docker-version`, `docker-info`, `bundle`);
    `key` is the lower-cased dotted path (`proxy.windowsdockerdport`); arrays are tuples of strings; `value_type`
    is the type the file declared where it declares one (`REG_MULTI_SZ`, `string`, `array`).
    """

    machine: str
    origin: str
    key: str
    value: MachineValue
    source: Source
    key_text: str = ""
    value_type: str = ""


@dataclass(frozen=True, slots=True)
class HostsEntry:
    """One `address name [alias...]` line of a machine's hosts file; `desktop_block`: inside Docker Desktop's own
    `# Added by Docker Desktop` ... `# End of section` block."""

    machine: str
    address: str
    names: tuple[str, ...]
    source: Source
    desktop_block: bool = False


@dataclass(frozen=True, slots=True)
class BuildxBuilder:
    """A builder `docker buildx ls` listed on a machine."""

    machine: str
    name: str
    driver: str
    source: Source
    endpoints: tuple[str, ...] = ()
    current: bool = False
    status: str = ""


@dataclass(frozen=True, slots=True)
class DockerContext:
    """A context `docker context ls` listed on a machine."""

    machine: str
    name: str
    endpoint: str
    source: Source
    current: bool = False
    description: str = ""


MachineRecord = MachineSetting | HostsEntry | BuildxBuilder | DockerContext

Evidence = (
    ImageReference | HostReference | Observation | RedirectEdge | BlockedAttempt | Unresolved | InputError
    | MachineRecord
)


@dataclass(slots=True)
class InputRecord:
    """One input file as read, for the compliance section: what was read and what it held."""

    path: str
    kind: str
    size: int
    sha256: str
    records: int = 0
    errors: int = 0
    first_time: float | None = None
    last_time: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
