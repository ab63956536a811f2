"""Docker client configuration (`~/.docker/config.json`): the registries someone logs in to.

Every key of `auths` and `credHelpers` names a registry the client authenticates against; each gives
HostReference(CREDENTIAL), normalized the way the client does (`https://index.docker.io/v1/` is Docker Hub,
contacted as `registry-1.docker.io`). `credsStore` names a helper program, not a host.

This file holds secrets (`auth`, `identitytoken`, `registrytoken`, `password`). Only keys are read; no value
under a registry's entry ever reaches a record or a message, and `user:password@` is cut from URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.core.model import Evidence, HostPurpose, HostReference
from auditor.core.reference import normalize_registry_host
from parsers.common.hosts import is_host, strip_userinfo
from parsers.common.inputs import InputFile, ParseContext
from parsers.common.json_positions import read_json_object

NAME = "docker_config"

_KEYS = re.compile(rb'"(?:auths|credHelpers|credsStore)"\s*:')


def detect(inp: InputFile) -> bool:
    return inp.name.lower() == "config.json" and bool(_KEYS.search(inp.head))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    config, errors = read_json_object(inp, ctx, NAME, kept="the registries", label="config.json")
    yield from errors
    if config is None:
        return
    yield from _registry_keys(inp, config, "auths")
    yield from _registry_keys(inp, config, "credHelpers")


def _registry_keys(inp: InputFile, config: Any, section: str) -> Iterator[Evidence]:
    entries = config.get(section)
    if entries is None:
        return
    if not isinstance(entries, dict):
        yield inp.error(f"{section} is not an object", line=config.line_of(section), parser=NAME)
        return
    for key, value in entries.items():
        line = getattr(key, "line", None) or entries.line_of(key)
        shown = strip_userinfo(str(key))
        host = normalize_registry_host(str(key))
        if not is_host(host):
            yield inp.error(f"{section}: key {shown!r} is not a registry URL or host name", line=line, parser=NAME)
            continue
        context = section
        if section == "credHelpers" and isinstance(value, str) and re.fullmatch(r"[\w.-]{1,64}", value):
            context = f"credHelpers (docker-credential-{value})"  # a helper's name is not a secret
        yield HostReference(host=host, purpose=HostPurpose.CREDENTIAL, text=shown,
                            source=inp.source(line=line, parser=NAME), context=context)
