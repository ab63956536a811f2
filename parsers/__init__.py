"""Input parsers, one module per input kind.

Each module has the same small face:
    NAME: str                                         the kind's name, shown in output
    detect(inp: InputFile) -> bool                    cheap: by file name and the decompressed head
    parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]
and optionally
    detect_content(inp: InputFile) -> bool            for a file named on the command line under a name no
                                                      detect() accepts: read by content
parse() never raises for bad content: it yields InputError records naming the line or packet and goes
on. Registration order matters: the first module whose detect() accepts a file parses it, so
specific kinds (by magic or by name) come before kinds recognized by content alone.
A new format is one module, its fixtures, and one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from parsers.common.inputs import InputFile, ParseFunction
from parsers.logs import docker_log, squid
from parsers.logs.dns import bind9, coredns, dnsmasq, route53, unbound, windows_dns, zeek
from parsers.machine import docker_config, docker_daemon, docker_images
from parsers.repo import (
    bake,
    cloudbuild,
    compose,
    devcontainer,
    dockerfile,
    helm_chart,
    helm_values,
    kubernetes,
    oci_charts,
    quadlet,
    shell,
)
from parsers.repo.ci import (
    azure_pipelines,
    bitbucket_pipelines,
    circleci,
    drone,
    github_actions,
    gitlab_ci,
    jenkinsfile,
)
from parsers.traffic import pcap, trace_result


@dataclass(frozen=True)
class ParserSpec:
    name: str
    detect: Callable[[InputFile], bool]
    parse: ParseFunction
    detect_content: Callable[[InputFile], bool] | None = None


def _spec(module: ModuleType) -> ParserSpec:
    return ParserSpec(name=module.NAME, detect=module.detect, parse=module.parse,
                      detect_content=getattr(module, "detect_content", None))


PARSERS: tuple[ParserSpec, ...] = tuple(
    _spec(module)
    for module in (
        # by magic number
        pcap,
        # by file name (a chart's templates/ first: by where they are)
        helm_chart,
        dockerfile,
        compose,
        github_actions,
        gitlab_ci,
        jenkinsfile,
        circleci,
        azure_pipelines,
        bitbucket_pipelines,
        drone,
        devcontainer,
        cloudbuild,
        quadlet,
        oci_charts,
        bake,
        # by content
        trace_result,
        kubernetes,
        helm_values,
        docker_daemon,
        docker_config,
        docker_images,
        zeek,
        bind9,
        dnsmasq,
        unbound,
        coredns,
        route53,
        windows_dns,
        squid,
        docker_log,
        shell,
    )
)


def parser_for(inp: InputFile, explicit: bool = False) -> ParserSpec | None:
    """The first registered parser that accepts INP, or None. A file named EXPLICITly that no parser accepts by
    name is then offered to the content detectors, in the same order: the user said it is an input."""
    for spec in PARSERS:
        try:
            if spec.detect(inp):
                return spec
        except Exception:  # a detector's bug must not stop the run; try the next kind
            continue
    if explicit:
        for spec in PARSERS:
            try:
                if spec.detect_content is not None and spec.detect_content(inp):
                    return spec
            except Exception:
                continue
    return None


def parser_named(name: str) -> ParserSpec | None:
    return next((spec for spec in PARSERS if spec.name == name), None)
