"""Checking a host name taken from a registry setting (mirror URL, insecure registry, credential key)."""

from __future__ import annotations

import re

_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?\Z")
_IPV6 = re.compile(r"[0-9a-f:]*:[0-9a-f:.]*\Z")


def is_host(host: str) -> bool:
    """A DNS name, an IPv4 address, or a bare IPv6 address (already lowercased, no port, no brackets)."""
    return bool(host) and len(host) <= 253 and bool(_HOST.match(host) or _IPV6.match(host))


def strip_userinfo(text: str) -> str:
    """TEXT with any `user:password@` before the host removed: such a URL must not be echoed."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/@\s]*@", r"\1", text.strip())
