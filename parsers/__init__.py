"""Input parsers, one module per input kind.

Each module has the same small face:
    NAME: str                                         the kind's name, shown in output
    detect(inp: InputFile) -> bool                    cheap: by file name and the decompressed head
    parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]
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
from parsers.machine import (
    admin_settings,
    buildx_ls,
    config_profile,
    desktop_plist,
    desktop_registry_json,
    desktop_settings,
    docker_config,
    docker_context,
    docker_daemon,
    docker_images,
    docker_info,
    docker_version,
    hosts_file,
    machine_manifest,
    policy_registry,
)
from parsers.repo import compose, dockerfile, helm_values, kubernetes, shell
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


def _spec(module: ModuleType) -> ParserSpec:
    return ParserSpec(name=module.NAME, detect=module.detect, parse=module.parse)


PARSERS: tuple[ParserSpec, ...] = tuple(
    _spec(module)
    for module in (
        # by magic number
        pcap,
        # by file name
        dockerfile,
        compose,
        github_actions,
        gitlab_ci,
        jenkinsfile,
        circleci,
        azure_pipelines,
        bitbucket_pipelines,
        drone,
        # machine bundles (Docker Desktop readiness): by name, then by content
        desktop_registry_json,
        admin_settings,
        desktop_settings,
        machine_manifest,
        desktop_plist,
        config_profile,
        policy_registry,
        hosts_file,
        docker_version,
        docker_info,
        buildx_ls,
        docker_context,
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


def parser_for(inp: InputFile) -> ParserSpec | None:
    """The first registered parser that accepts INP, or None."""
    for spec in PARSERS:
        try:
            if spec.detect(inp):
                return spec
        except Exception:  # a detector's bug must not stop the run; try the next kind
            continue
    return None


def parser_named(name: str) -> ParserSpec | None:
    return next((spec for spec in PARSERS if spec.name == name), None)
