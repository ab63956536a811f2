"""`not-enforced` rules from machine state: pull paths Docker Desktop's filter does not cover (desktop.md §3, §8)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.decisions.desktop_machine import (
    CERTAIN,
    NOT_ENFORCED,
    REVIEW,
    MachineContext,
    MachineFinding,
    as_int,
    ev,
    truthy,
    where,
)

_KERNEL = re.compile(r"^(\d+)\.(\d+)")


class EngineRules(MachineContext):
    def builders(self) -> Iterator[MachineFinding]:
        for builder in self.m.builders:
            driver = builder.driver.lower()
            current = " (the current builder)" if builder.current else ""
            if driver in ("docker-container", "kubernetes"):
                yield self.finding(
                    NOT_ENFORCED, "warning", CERTAIN, f"builder/{driver}", f"buildx builder `{builder.name}` uses "
                    f"the {driver} driver{current}",
                    f"Builds with the {driver} driver pull base images outside Docker Desktop's filter: RAM does "
                    "not restrict them.", f"Remove the builder (`docker buildx rm {builder.name}`) or use the "
                    "`docker` driver; enforce the allowlist at the network proxy for such builds.",
                    "desktop.md §3 (Buildx), §8.1 [S7][S9][S31] (H)",
                    [ev(f"{builder.name}: driver {builder.driver}, endpoints {', '.join(builder.endpoints) or '-'}",
                         builder)], subject=builder.name, builder=builder.name, driver=builder.driver)
            elif driver in ("remote", "cloud") or (driver and driver != "docker"):
                yield self.finding(
                    NOT_ENFORCED, "warning", REVIEW, "builder/other-driver", f"buildx builder `{builder.name}` "
                    f"uses the {builder.driver} driver{current}",
                    "Whether RAM restricts builds on this driver is not documented.",
                    "Check where this builder pulls from; enforce the allowlist at the network proxy as well.",
                    "desktop.md §8.1, §12 item 9 (UNCONFIRMED)", [ev(f"{builder.name}: driver {builder.driver}",
                                                                     builder)], subject=builder.name,
                    builder=builder.name, driver=builder.driver)

    def engine(self) -> Iterator[MachineFinding]:
        yield from self._windows_containers()
        yield from self._kubernetes()
        yield from self._wsl_kernel()
        yield from self._other_engine()

    def _windows_containers(self) -> Iterator[MachineFinding]:
        ostype = self.m.get("docker-info", "ostype")
        user = self.m.user_setting("usewindowscontainers")
        on = (ostype is not None and str(ostype.value).lower() == "windows") or \
            (user is not None and truthy(user.value) is True)
        if not on:
            return
        port_setting = self.m.get("admin-settings.json", "proxy.windowsdockerdport") or \
            self.m.user_setting("overridewindowsdockerdport")
        port = as_int(port_setting.value) if port_setting is not None else -1  # default -1: off (H)
        if port is None and port_setting is not None:
            yield self.finding(
                NOT_ENFORCED, "error", REVIEW, "engine/windows-containers-port", "Windows containers; the daemon "
                f"proxy setting {port_setting.value!r} is not a port number",
                "Docker Desktop runs Windows containers, and whether \"Use proxy for Windows Docker daemon\" is on "
                "cannot be told from this value (-1 off, 0 random port, >0 a port; the reference also calls the "
                "field a string).", "Set `proxy.windowsDockerdPort` to 0 or a port number, locked.",
                "desktop.md §5.3 [S14][S15] (H semantics; type UNCONFIRMED)",
                [ev(where(port_setting) + f" = {port_setting.value!r}", port_setting)])
            return
        if port is None or port >= 0:
            return
        shown = [s for s in (ostype, user, port_setting) if s is not None]
        yield self.finding(
            NOT_ENFORCED, "error", CERTAIN, "engine/windows-containers", "Windows containers without the daemon proxy",
            "Docker Desktop runs Windows containers and \"Use proxy for Windows Docker daemon\" is off "
            f"(windowsDockerdPort {port if port_setting is not None else 'not set: default -1'}): Windows image "
            "pulls and builds are not restricted by RAM.",
            "Turn on \"Use proxy for Windows Docker daemon\" (admin-settings.json `proxy.windowsDockerdPort` 0 or a "
            "port, locked).", "desktop.md §3 (Windows containers), §5.3, §6.2 [S7][S14][S16][S20] (H)",
            [ev(where(s) + f" = {s.value!r}", s) for s in shown])

    def _kubernetes(self) -> Iterator[MachineFinding]:
        for setting in (self.m.get("admin-settings.json", "kubernetes.enabled"),
                        self.m.user_setting("kubernetesenabled")):
            if setting is not None and truthy(setting.value) is True:
                yield self.finding(
                    NOT_ENFORCED, "warning", CERTAIN, "engine/kubernetes", "Kubernetes is enabled in Docker Desktop",
                    "Some images Docker Desktop pulls for Kubernetes are not restricted even when RAM blocks their "
                    "registry.", "Turn Kubernetes off (admin-settings.json `kubernetes.enabled` false, locked) or "
                    "mirror its images (`kubernetes.imagesRepository`).",
                    "desktop.md §3 (Docker Debug / Kubernetes), §11 A12 [S7][S10][S12][S26] (H)",
                    [ev(f"{where(setting)} = {setting.value!r}", setting)])
                return

    def _wsl_kernel(self) -> Iterator[MachineFinding]:
        kernel = self.m.get("docker-info", "kernelversion") or self.m.get("docker-version", "server.kernelversion")
        wsl = self.m.user_setting("wslengineenabled") or \
            self.m.get("admin-settings.json", "linuxvm.wslengineenabled.value")
        if kernel is None:
            return
        text = str(kernel.value)
        on_wsl = (wsl is not None and truthy(wsl.value) is True) or "wsl" in text.lower() \
            or "microsoft" in text.lower()
        match = _KERNEL.match(text)
        if not on_wsl or match is None or (int(match.group(1)), int(match.group(2))) >= (5, 4):
            return
        yield self.finding(
            NOT_ENFORCED, "error", CERTAIN, "engine/wsl-kernel", f"WSL 2 kernel {text} is older than 5.4",
            "On the WSL 2 backend, RAM needs a Linux kernel of the 5.4 series or later.",
            "Update WSL (`wsl --update`) or remove a custom kernel= from .wslconfig.",
            "desktop.md §3 (WSL 2), §11 A10 [S7][S9] (H)",
            [ev(f"{where(kernel)} = {text}", kernel), *([ev(f"{where(wsl)} = {wsl.value!r}", wsl)] if wsl else [])])

    def _other_engine(self) -> Iterator[MachineFinding]:
        platform = self.m.get("docker-version", "server.platform.name")
        if platform is not None and platform.value and not str(platform.value).startswith("Docker Desktop"):
            yield self.finding(
                NOT_ENFORCED, "error", CERTAIN, "engine/not-desktop", f"the CLI talks to `{platform.value}`, "
                "not Docker Desktop's engine",
                "`docker version` reports a server that is not Docker Desktop: Docker Desktop's filter is not "
                "in the path of these pulls.", "Point the CLI at Desktop (`docker context use desktop-linux`), "
                "or enforce the allowlist at the network proxy for that engine.",
                "desktop.md §8.3 (H), §11 A8 (Derived)", [ev(f"{where(platform)} = {platform.value!r}",
                                                              platform)])
        name = self.m.get("docker-info", "name")
        system = self.m.get("docker-info", "operatingsystem")
        odd = [s for s in (name, system) if s is not None and str(s.value) not in ("docker-desktop", "Docker Desktop")]
        if odd and not (platform is not None and platform.value):  # docker version's platform name is the better word
            yield self.finding(
                NOT_ENFORCED, "error", REVIEW, "engine/not-desktop-info", "the engine does not look like Docker "
                "Desktop's", "`docker info` names another engine (Docker Desktop's shows Name `docker-desktop`, "
                "Operating System `Docker Desktop`; those values are observed, not documented).",
                "Collect `docker version` to confirm, and point the CLI at Docker Desktop.",
                "desktop.md §8.2 (M values), §11 A8 (Derived)", [ev(f"{where(s)} = {s.value!r}", s) for s in odd])
        for context in self.m.contexts:
            scheme = context.endpoint.split("://", 1)[0].lower() if "://" in context.endpoint else ""
            if context.current and self.platform == "linux" and scheme == "unix" \
                    and "/.docker/desktop/" not in context.endpoint:
                yield self.finding(
                    NOT_ENFORCED, "warning", REVIEW, "engine/linux-socket", f"current context `{context.name}` is "
                    f"{context.endpoint}, not Docker Desktop's socket",
                    "On Linux, Docker Desktop's engine listens under ~/.docker/desktop/; another socket is usually "
                    "a separately installed Docker Engine, which Docker Desktop does not filter (the socket path is "
                    "observed, not documented).", "Use Desktop's context (`docker context use desktop-linux`) for "
                    "pulls that must be filtered.", "desktop.md §8.4 (M endpoints), §11 A8 (Derived)",
                    [ev(f"{context.name}: {context.endpoint}", context)], subject=context.name)
            if context.current and scheme in ("tcp", "ssh", "http", "https"):
                yield self.finding(
                    NOT_ENFORCED, "warning", REVIEW, "engine/remote-context", f"current context `{context.name}` "
                    f"is a remote engine ({scheme})", "The CLI's current context points at an engine over the "
                    "network; Docker Desktop's filter applies only to its own engine.",
                    "Check which engine this is; use Desktop's context for pulls that must be filtered.",
                    "desktop.md §8.4 (H fields), §11 A8 (Derived)", [ev(f"{context.name}: {context.endpoint}",
                                                                         context)], subject=context.name)
