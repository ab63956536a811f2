"""`bypass` rules: ways around Registry Access Management on a machine (desktop.md §3, §5.3, §10)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from auditor.core.allowlist import DOCKER_HUB_NAMES
from auditor.core.model import (
    MachineSetting,
    Source,
)
from auditor.decisions.desktop_machine import (
    BYPASS,
    CERTAIN,
    REVIEW,
    MachineContext,
    MachineFinding,
    ev,
    truthy,
    where,
)

# Docker Hub's hosts a hosts-file line may pin (desktop.md §10: the last four M/UNCONFIRMED as the full set)
HUB_HOSTS = DOCKER_HUB_NAMES | {"auth.docker.io", "production.cloudflare.docker.com"}
DESKTOP_PROXY = "http.docker.internal:3128"  # desktop.md §3 / §8.2 [S21] (H)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class BypassRules(MachineContext):
    def bypass(self) -> Iterator[MachineFinding]:
        yield from self._hosts_file()
        yield from self._local_proxy()
        yield from self._unlocked()
        yield from self._insecure()
        yield from self._docker_load()
        yield from self._tcp_api()
        yield from self._raw_socket()

    def _pinned(self, name: str) -> str | None:
        if name in _LOOPBACK_NAMES or name.endswith(".docker.internal"):
            return None
        if name in HUB_HOSTS:
            return "a Docker Hub host"
        if self.allowlist is not None:
            entry = self.allowlist.match(name, self.mode)
            if entry is not None:
                return f"allowed by `{entry.address}`"
        if self.knowledge is not None and self.knowledge.match(name) is not None:
            return "a registry host"
        return None

    def _hosts_file(self) -> Iterator[MachineFinding]:
        for entry in self.m.hosts:
            if entry.desktop_block:
                continue
            pinned = [(name, why) for name in entry.names if (why := self._pinned(name))]
            if not pinned:
                continue
            names = tuple(n for n, _ in pinned)
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/hosts-file", f"hosts file pins {', '.join(names)} to "
                f"{entry.address}", f"The hosts file sends {', '.join(f'{n} ({w})' for n, w in pinned)} to "
                f"{entry.address}. Docker documents editing the hosts file as a way around RAM (how RAM orders name "
                "checks and resolution is not documented).", "Remove the line, or make sure the address is the "
                "registry's own.", "desktop.md §3 (Bypass), §10 [S7][S9][S10] (H risk; mechanism UNCONFIRMED)",
                [ev(f"{entry.address} {' '.join(entry.names)}", entry)], subject=f"{entry.address} {names[0]}",
                hosts=names)

    def _local_proxy(self) -> Iterator[MachineFinding]:
        candidates: list[tuple[MachineSetting | None, MachineSetting | None]] = []
        for prefix in ("", "containers"):
            mode = self.m.user_setting(f"{prefix}proxyhttpmode")
            for key in ("overrideproxyhttp", "overrideproxyhttps"):
                candidates.append((self.m.user_setting(prefix + key), mode))
        for group in ("proxy", "containersproxy"):
            mode = self.m.get("admin-settings.json", f"{group}.mode")
            for key in ("http", "https"):
                candidates.append((self.m.get("admin-settings.json", f"{group}.{key}"), mode))
        for key in ("overrideproxyhttp", "overrideproxyhttps"):
            candidates.append((self.m.get("config-profile", key), None))  # profile keys force manual mode (H)
        for key in ("httpproxy", "httpsproxy"):
            candidates.append((self.m.get("docker-info", key), None))
        for setting, mode in candidates:
            if setting is None or not isinstance(setting.value, str) or not setting.value.strip():
                continue
            if mode is not None and str(mode.value).lower() == "system":
                continue  # the override fields are kept but not used in system mode
            host = _proxy_host(setting.value)
            if host is None or not _is_loopback(host) or setting.value.strip().endswith(DESKTOP_PROXY):
                continue
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/local-proxy", f"{setting.key_text} points at "
                f"{setting.value.strip()} on this machine",
                f"{where(setting)} points at a proxy on the machine itself: a local proxy can answer for registry "
                "names and is a documented way around RAM.",
                "Point the proxy at the corporate proxy, and lock it in admin-settings.json.",
                "desktop.md §3 (Bypass), §11 A14 [S7] (H risk; Derived rule)",
                [ev(f"{where(setting)} = {setting.value!r}", setting, mode)],
                subject=f"{setting.origin}:{setting.key}")

    def _unlocked(self) -> Iterator[MachineFinding]:
        groups = ("proxy", "containersproxy", "enhancedcontainerisolation")
        labels = {"proxy": "proxy", "containersproxy": "containersProxy",
                  "enhancedcontainerisolation": "enhancedContainerIsolation"}
        if not self.m.has("admin-settings.json"):
            unlocked = list(groups)
            evidence = [ev("no admin-settings.json in the bundle")]
        else:
            unlocked = []
            evidence = []
            for group in groups:
                locked = self.m.get("admin-settings.json", f"{group}.locked")
                if locked is None or truthy(locked.value) is not True:
                    unlocked.append(group)
                    evidence.append(ev(f"admin-settings.json `{labels[group]}.locked` = "
                                        f"{locked.value if locked else 'not set'}", locked))
        profile_proxy = any(self.m.get("config-profile", k) is not None for k in
                            ("overrideproxyhttp", "overrideproxyhttps", "overrideproxypac", "overrideproxyembeddedpac"))
        if profile_proxy and "proxy" in unlocked and self.version is not None and self.version >= (4, 48, 0):
            unlocked.remove("proxy")  # the profile's proxy keys lock the proxy settings (4.48+, H [S1][S3])
        if not unlocked:
            return
        yield self.finding(
            BYPASS, "warning", CERTAIN, "bypass/unlocked-settings",
            f"not locked: {', '.join(labels[g] for g in unlocked)}",
            "Settings admin-settings.json does not lock can be changed by the user (a default only, ignored on "
            "installs where the user already chose a value): the proxy can be pointed elsewhere and containers "
            "can change the engine's configuration without Enhanced Container Isolation.",
            "Lock them in admin-settings.json (`\"locked\": true`).", "desktop.md §5.2, §5.3, §11 A15 [S14] (H)",
            evidence, unlocked=[labels[g] for g in unlocked])

    def _insecure(self) -> Iterator[MachineFinding]:
        if self.allowlist is None:
            return
        found: list[tuple[str, Source]] = list(self.m.insecure)
        for origin, key in (("docker-info", "registryconfig.insecure"),
                            ("admin-settings.json", "linuxvm.dockerdaemonoptions.value.insecure-registries")):
            setting = self.m.get(origin, key)
            if setting is not None and isinstance(setting.value, tuple):
                found += [(item, setting.source) for item in setting.value]
        seen: set[str] = set()
        for text, source in found:
            host = _registry_host(text)
            if host is None or host in seen:
                continue
            entry = self.allowlist.match(host, self.mode)
            if entry is None:
                continue
            seen.add(host)
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/insecure-registry", f"insecure registry {host} is allowlisted",
                f"{host} (allowed by `{entry.address}`) is configured as an insecure registry: pulls from it skip "
                "TLS verification, so a hosts-file or network redirect can serve other content under the allowed name.",
                f"Remove {host} from insecure-registries and give it a trusted certificate.",
                "desktop.md §7.1, §10 (H keys; Derived rule)", [ev(f"insecure registry {text}", source)],
                subject=host, hosts=(host,))

    def _docker_load(self) -> Iterator[MachineFinding]:
        admin_value = self.m.get("admin-settings.json", "blockdockerload.value")
        admin_locked = self.m.get("admin-settings.json", "blockdockerload.locked")
        user = self.m.user_setting("blockdockerload")
        value = admin_value if admin_value is not None else user
        if value is None:
            yield self.finding(
                BYPASS, "warning", REVIEW, "bypass/docker-load", "blockDockerLoad is not set",
                "Nothing in the bundle sets blockDockerLoad, so `docker load` can side-load images past RAM and IAM "
                "unless its default blocks it (the default is not in the fact sheet).",
                "Set `blockDockerLoad` `{\"locked\": true, \"value\": true}` in admin-settings.json.",
                "desktop.md §5.3, §6.2 [S14][S16] (H key; default UNCONFIRMED)")
            return
        if truthy(value.value) is not True:
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/docker-load", "blockDockerLoad is off",
                "`docker load` is allowed: images can be side-loaded past RAM and IAM.",
                "Set `blockDockerLoad` `{\"locked\": true, \"value\": true}` in admin-settings.json.",
                "desktop.md §5.3 [S14] (H)", [ev(f"{where(value)} = {value.value!r}", value)])
        elif admin_value is None or admin_locked is None or truthy(admin_locked.value) is not True:
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/docker-load", "blockDockerLoad is on but not locked",
                "The user can turn blockDockerLoad off and side-load images past RAM and IAM.",
                "Lock it in admin-settings.json (`\"locked\": true`).", "desktop.md §5.2, §5.3 [S14] (H)",
                [ev(f"{where(value)} = {value.value!r}", value, admin_locked)])

    def _tcp_api(self) -> Iterator[MachineFinding]:
        for setting in (self.m.get("admin-settings.json", "exposedockerapiontcp2375.value"),
                        self.m.user_setting("exposedockerapiontcp2375")):
            if setting is not None and truthy(setting.value) is True:
                yield self.finding(
                    BYPASS, "warning", CERTAIN, "bypass/tcp-2375", "the Docker API is exposed on tcp://localhost:2375",
                    "exposeDockerAPIOnTCP2375 opens the engine's API without authentication to any local process.",
                    "Turn it off and lock it (`exposeDockerAPIOnTCP2375` `{\"locked\": true, \"value\": false}`).",
                    "desktop.md §5.3, §6.2 [S14][S16] (H)", [ev(f"{where(setting)} = {setting.value!r}", setting)])
                return

    def _raw_socket(self) -> Iterator[MachineFinding]:
        if self.version is None or self.version >= (4, 17, 0):
            return
        yield self.finding(
            BYPASS, "warning", REVIEW, "bypass/raw-socket-cve-2023-0629", f"Docker Desktop {self.version_text} "
            "(< 4.17.0) exposes the raw engine socket", "Before 4.17.0, containers could reach the engine through "
            "`docker.raw.sock` / `docker_engine_linux` past Enhanced Container Isolation (CVE-2023-0629); what that "
            "means for RAM is not documented.", "Upgrade Docker Desktop.",
            "desktop.md §11 A18 [S38] (H CVE; effect on RAM UNCONFIRMED)",
            [ev(f"Docker Desktop {self.version_text}", self.version_source)])


def _proxy_host(value: str) -> str | None:
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    match = re.match(r"^[a-zA-Z][\w+.-]*://(?:[^/@\s]*@)?(\[[^\]]+\]|[^:/\s]+)", text)
    return match.group(1).strip("[]").lower() if match else None


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _registry_host(text: str) -> str | None:
    """The host of an insecure-registries entry (`host[:port]`, a URL); None for a CIDR range."""
    entry = text.strip().lower()
    if "/" in entry and "://" not in entry:
        return None
    host = _proxy_host(entry)
    return host or None
