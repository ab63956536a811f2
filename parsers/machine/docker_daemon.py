"""Docker daemon configuration (`daemon.json`): registry mirrors and insecure registries name hosts the
engine contacts, so an allowlist must cover them.

`registry-mirrors` entries are URLs (`https://mirror.gcr.io`): each gives HostReference(MIRROR).
`insecure-registries` entries are `host[:port]` or CIDR ranges: a host gives HostReference(INSECURE); a CIDR
range (`10.0.0.0/8`) names no host, so it is reported as Unresolved with the reason, never turned into one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, HostPurpose, HostReference, Unresolved
from auditor.core.reference import normalize_registry_host
from parsers.common.hosts import is_host, strip_userinfo
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.json_positions import read_json_object

NAME = "docker_daemon"

_KEYS = re.compile(rb'"(?:registry-mirrors|insecure-registries)"\s*:')
_SETTINGS = (("registry-mirrors", HostPurpose.MIRROR), ("insecure-registries", HostPurpose.INSECURE))


def detect(inp: InputFile) -> bool:
    name = inp.name.lower()
    if name == "daemon.json":
        return True
    return name.endswith(".json") and not inp.looks_binary and bool(_KEYS.search(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    settings, errors = read_json_object(inp, ctx, NAME, kept="the settings", label="daemon.json")
    yield from errors
    if settings is None:
        return
    for key, purpose in _SETTINGS:
        if key in settings:
            yield from _entries(inp, settings, key, purpose)


def _entries(inp: InputFile, settings: Any, key: str, purpose: HostPurpose) -> Iterator[Evidence]:
    entries = settings[key]
    if not isinstance(entries, list):
        yield inp.error(f"{key} is not a list", line=settings.line_of(key), parser=NAME)
        return
    for position, entry in enumerate(entries):
        context = f"{key}[{position}]"
        line = getattr(entry, "line", None) or settings.line_of(key)
        source = inp.source(line=line, parser=NAME)
        if not isinstance(entry, str):
            yield inp.error(f"{context} is not a string", line=line, parser=NAME)
            continue
        shown = strip_userinfo(entry)
        if purpose is HostPurpose.INSECURE and _is_cidr(entry):
            yield Unresolved(shown, "a CIDR range, not a host: every registry in it may be reached without TLS; "
                             "the hosts themselves come from image references", source, context)
            continue
        host = normalize_registry_host(entry)
        if not is_host(host):
            yield inp.error(f"{context}: not a registry URL or host name ({shown!r})", line=line, parser=NAME)
            continue
        yield HostReference(host=host, purpose=purpose, text=shown, source=source, context=context)


def _is_cidr(entry: str) -> bool:
    if "/" not in entry:
        return False
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False
    return True
