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
A new format is one module, its fixtures, and one line below (its module path, imported on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

    from parsers.common.inputs import InputFile, ParseFunction


@dataclass(frozen=True)
class ParserSpec:
    name: str
    detect: Callable[[InputFile], bool]
    parse: ParseFunction
    detect_content: Callable[[InputFile], bool] | None = None


def import_by_name(name: str) -> ModuleType:
    """The module NAME, imported by the import statement's own machinery: `-X importtime` (which the start-up
    benchmark reads) sees only that path; importlib.import_module bypasses it, and the parsers imported on first
    use went uncounted."""
    return __import__(name, fromlist=["__name__"])  # type: ignore[no-any-return]


class _Registered:
    """A registered parser whose module is imported when first asked for: a run that reads one Dockerfile
    imports the few parsers tried before it, not all of them (start-up time)."""

    __slots__ = ("_module", "module_name")

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
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


def _spec(module_name: str) -> _Registered:
    return _Registered(f"parsers.{module_name}")


PARSERS: tuple[ParserSpec | _Registered, ...] = tuple(
    _spec(module)
    for module in (
        # by magic number
        "traffic.pcap",
        # by file name (a chart's templates/ first: by where they are)
        "repo.helm_chart",
        "repo.dockerfile",
        "repo.compose",
        "repo.ci.github_actions",
        "repo.ci.gitlab_ci",
        "repo.ci.jenkinsfile",
        "repo.ci.circleci",
        "repo.ci.azure_pipelines",
        "repo.ci.bitbucket_pipelines",
        "repo.ci.drone",
        "repo.devcontainer",
        "repo.cloudbuild",
        "repo.quadlet",
        "repo.oci_charts",
        "repo.bake",
        # machine bundles (Docker Desktop readiness): by name, then by content
        "machine.desktop_registry_json",
        "machine.admin_settings",
        "machine.desktop_settings",
        "machine.machine_manifest",
        "machine.desktop_plist",
        "machine.config_profile",
        "machine.policy_registry",
        "machine.hosts_file",
        "machine.docker_version",
        "machine.docker_info",
        "machine.buildx_ls",
        "machine.docker_context",
        # by content
        "traffic.trace_result",
        "repo.kubernetes",
        "repo.helm_values",
        "machine.docker_daemon",
        "machine.docker_config",
        "machine.docker_images",
        "logs.dns.zeek",
        "logs.dns.bind9",
        "logs.dns.dnsmasq",
        "logs.dns.unbound",
        "logs.dns.coredns",
        "logs.dns.route53",
        "logs.dns.windows_dns",
        "logs.squid",
        "logs.docker_log",
        "repo.shell",
    )
)


class _Detectors:
    """The detect functions of a registration list, resolved (the module imported) as the walk first reaches
    each one: a file then costs one plain call per kind tried, not a property chain per kind (issue 18)."""

    def __init__(self, specs: tuple[ParserSpec | _Registered, ...]) -> None:
        self.specs = specs
        self.resolved: list[tuple[tuple[bytes, ...], Callable[[InputFile], object]]] = []

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
    """The first registered parser that accepts INP, or None. A file named EXPLICITly that no parser accepts by
    name is then offered to the content detectors, in the same order: the user said it is an input."""
    specs = PARSERS
    detectors = _detectors_of(specs)
    resolved = detectors.resolved
    head = inp.head
    for index, spec in enumerate(specs):
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


def parser_named(name: str) -> ParserSpec | _Registered | None:
    return next((spec for spec in PARSERS if spec.name == name), None)
