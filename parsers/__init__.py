"""Input parsers, one module per input kind.

Each module has the same small face:
    NAME: str                                         the kind's name, shown in output
    detect(inp: InputFile) -> bool                    cheap: by file name and the decompressed head
    parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]
and optionally
    detect_content(inp: InputFile) -> bool            for a file named on the command line under a name no
                                                      detect() accepts: read by content
    DETECT_NEEDS: tuple[bytes, ...]                   detect() accepts no file whose decompressed head holds
                                                      none of these: checked here first, so a walk over a tree of
                                                      unrelated files pays a substring test, not the detector
parse() never raises for bad content: it yields InputError records naming the line or packet and goes
on. Registration order matters: the first module whose detect() accepts a file parses it, so
specific kinds (by magic or by name) come before kinds recognized by content alone.
A new format is one module, its fixtures, and one line below: its module path (imported on first use) and its
Claims, the file names its detect() can accept (a walk offers a file only to the kinds that claim its name; a kind
recognized by content under any name is SNIFFED).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parsers.common.claims import SNIFFED, Claims, NameIndex

if TYPE_CHECKING:
    from types import ModuleType

    from parsers.common.inputs import InputFile, ParseFunction


@dataclass(frozen=True)
class ParserSpec:
    name: str
    detect: Callable[[InputFile], bool]
    parse: ParseFunction
    detect_content: Callable[[InputFile], bool] | None = None
    claims: Claims | None = None  # None: a candidate for every file name


def import_by_name(name: str) -> ModuleType:
    """The module NAME, imported by the import statement's own machinery: `-X importtime` (which the start-up
    benchmark reads) sees only that path; importlib.import_module bypasses it, and the parsers imported on first
    use went uncounted."""
    return __import__(name, fromlist=["__name__"])  # type: ignore[no-any-return]


class _Registered:
    """A registered parser whose module is imported when first asked for: a run that reads one Dockerfile
    imports the few parsers tried before it, not all of them (start-up time)."""

    __slots__ = ("_module", "claims", "module_name")

    def __init__(self, module_name: str, claims: Claims | None = None) -> None:
        self.module_name = module_name
        self.claims = claims
        self._module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = import_by_name(self.module_name)
        return self._module

    @property
    def name(self) -> str:
        return str(self.module.NAME)

    def detect(self, inp: InputFile) -> bool:
        return bool(self.module.detect(inp))

    @property
    def detect_content(self) -> Callable[[InputFile], bool] | None:
        return getattr(self.module, "detect_content", None)

    @property
    def parse(self) -> ParseFunction:
        return self.module.parse  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<parser {self.module_name}>"


def _spec(module_name: str, claims: Claims) -> _Registered:
    return _Registered(f"parsers.{module_name}", claims)


_YAML = Claims(extensions=("yaml", "yml"))
_JSON = Claims(extensions=("json",))

# (module, the names its detect() can accept: parsers/common/claims.py). The claims sit here, not in the modules,
# so that a walk can reject a file by name without importing every parser (start-up time).
_REGISTRATIONS: tuple[tuple[str, Claims], ...] = (
    # by magic number
    ("traffic.pcap", Claims(extensions=("pcap", "pcapng", "cap"), sniffed=True)),
    # by file name (a chart's templates/ first: by where they are)
    ("repo.helm_chart", Claims(extensions=("yaml", "yml", "tpl", "txt", "json"))),
    ("repo.dockerfile", Claims(prefixes=("dockerfile", "containerfile"), extensions=("dockerfile", "containerfile"))),
    ("repo.compose", _YAML),
    ("repo.ci.github_actions", _YAML),
    ("repo.ci.gitlab_ci", _YAML),
    ("repo.ci.jenkinsfile", Claims(prefixes=("jenkinsfile",), extensions=("jenkinsfile", "jenkins", "groovy"))),
    ("repo.ci.circleci", _YAML),
    ("repo.ci.azure_pipelines", _YAML),
    ("repo.ci.bitbucket_pipelines", Claims(names=("bitbucket-pipelines.yml", "bitbucket-pipelines.yaml"))),
    ("repo.ci.drone", Claims(names=(".drone.yml", ".drone.yaml", ".woodpecker.yml", ".woodpecker.yaml"),
                             extensions=("yaml", "yml"))),
    ("repo.devcontainer", Claims(names=("devcontainer.json", ".devcontainer.json"))),
    ("repo.cloudbuild", Claims(extensions=("yaml", "yml", "json"))),
    ("repo.quadlet", Claims(extensions=("container", "image", "volume", "build", "pod", "kube", "network"))),
    ("repo.oci_charts", Claims(names=("chart.yaml",), prefixes=("helmfile",), extensions=("yaml", "yml", "gotmpl"))),
    ("repo.bake", Claims(extensions=("hcl", "json"))),
    # machine bundles (Docker Desktop readiness): by name, then by content
    ("machine.desktop_registry_json", _JSON),
    ("machine.admin_settings", _JSON),
    ("machine.desktop_settings", _JSON),
    ("machine.machine_manifest", _JSON),
    ("machine.desktop_plist", Claims(names=("desktop.plist", "desktop.plist.txt", "desktop.defaults.txt"))),
    ("machine.config_profile", Claims(names=("com.docker.config", "com.docker.config.plist", "com.docker.config.txt"),
                                      extensions=("mobileconfig",))),
    ("machine.policy_registry", SNIFFED),
    ("machine.hosts_file", Claims(names=("hosts", "hosts.txt"))),
    ("machine.docker_version", SNIFFED),
    ("machine.docker_info", SNIFFED),
    ("machine.buildx_ls", SNIFFED),
    ("machine.docker_context", SNIFFED),
    # by content
    ("traffic.trace_result", SNIFFED),
    ("repo.kubernetes", Claims(extensions=("yaml", "yml", "json"))),
    ("repo.helm_values", _YAML),
    ("machine.docker_daemon", _JSON),
    ("machine.docker_config", Claims(names=("config.json",))),
    ("machine.docker_images", SNIFFED),
    ("logs.dns.zeek", SNIFFED),
    ("logs.dns.bind9", SNIFFED),
    ("logs.dns.dnsmasq", SNIFFED),
    ("logs.dns.unbound", SNIFFED),
    ("logs.dns.coredns", SNIFFED),
    ("logs.dns.route53", SNIFFED),
    ("logs.dns.windows_dns", SNIFFED),
    ("logs.squid", SNIFFED),
    ("logs.docker_log", SNIFFED),
    ("repo.shell", Claims(extensions=("sh", "bash", "zsh", "ksh"), sniffed=True)),
)

PARSERS: tuple[ParserSpec | _Registered, ...] = tuple(_spec(module, claims) for module, claims in _REGISTRATIONS)


class _Detectors:
    """The detect functions of a registration list, resolved (the module imported) as the walk first reaches
    each one: a file then costs one plain call per kind tried, not a property chain per kind (issue 18)."""

    def __init__(self, specs: tuple[ParserSpec | _Registered, ...]) -> None:
        self.specs = specs
        self.resolved: list[tuple[tuple[bytes, ...], Callable[[InputFile], object]]] = []
        self.names = NameIndex([spec.claims for spec in specs])

    def at(self, index: int) -> tuple[tuple[bytes, ...], Callable[[InputFile], object]]:
        while len(self.resolved) <= index:
            spec = self.specs[len(self.resolved)]
            if isinstance(spec, _Registered):
                module = spec.module
                self.resolved.append((tuple(getattr(module, "DETECT_NEEDS", ())), module.detect))
            else:
                self.resolved.append(((), spec.detect))
        return self.resolved[index]


_detectors = _Detectors(())


def _detectors_of(specs: tuple[ParserSpec | _Registered, ...]) -> _Detectors:
    global _detectors
    if _detectors.specs is not specs:  # the list was replaced (tests plant a parser)
        _detectors = _Detectors(specs)
    return _detectors


def parser_for(inp: InputFile, explicit: bool = False) -> ParserSpec | _Registered | None:
    """The first registered parser that accepts INP, or None. A file found by a walk is offered only to the kinds
    whose claims admit its name (parsers/common/claims.py: the same first match, without forty detectors on
    every source file); a file named on the command line to all of them. A file named EXPLICITly that no parser
    accepts by name is then offered to the content detectors, in the same order: the user said it is an input."""
    specs = PARSERS
    detectors = _detectors_of(specs)
    resolved = detectors.resolved
    head = inp.head
    walked = not explicit and inp.root is not None
    for index in (detectors.names.candidates(inp.name) if walked else range(len(specs))):
        spec = specs[index]
        try:
            needs, detect = resolved[index] if index < len(resolved) else detectors.at(index)
            if needs:
                for need in needs:
                    if need in head:
                        break
                else:
                    continue
            if detect(inp):
                return spec
        except Exception:  # a detector's bug must not stop the run; try the next kind
            continue
    if explicit:
        for spec in specs:
            try:
                if spec.detect_content is not None and spec.detect_content(inp):
                    return spec
            except Exception:
                continue
    return None


def may_claim_walked(name: str) -> bool:
    """Whether any registered kind may accept a file of this NAME found by a walk: when not, the walk need not
    open it (its kind is None whatever it holds)."""
    return bool(_detectors_of(PARSERS).names.candidates(name))


def parser_named(name: str) -> ParserSpec | _Registered | None:
    return next((spec for spec in PARSERS if spec.name == name), None)
