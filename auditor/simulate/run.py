"""The simulation: the static audit's prediction per host, the engine's answer per host, and where they differ.

Each concrete host the evidence requires is replayed once (a CONNECT through Squid, an A query to Unbound).
Patterns (`*-docker.pkg.dev`) name no host to replay, and IP addresses outside loopback are never contacted:
both are listed as not replayed. A host's verdict then rolls up to every image whose pull needs it and to
every client seen contacting it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from auditor.core.allowlist import Allowlist, is_ip
from auditor.decisions.analysis import Analysis
from auditor.decisions.audit import AuditOptions, FindingKind, audit
from auditor.decisions.requirements import RequiredHost
from auditor.simulate.dns_wire import StubUpstream
from auditor.simulate.engines import SquidEngine, UnboundEngine, Verdict
from auditor.simulate.upstream import DummyUpstream
from auditor.targets.base import Target
from auditor.targets.dns import write_rpz
from auditor.targets.proxy import native_access_config, write_squid_snippet

SIMULATED_TARGETS = ("proxy", "dns")


@dataclass
class HostResult:
    host: str
    predicted_allowed: bool  # the static audit: no `missing` finding names the host
    entry: str | None  # the allowlist entry the static matcher credits
    engine: Verdict | None  # None: not replayed
    why_not_replayed: str = ""
    images: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool | None:
        if self.engine is None or self.engine.allowed is None:
            return None
        return self.engine.allowed == self.predicted_allowed


@dataclass
class Simulation:
    target: str
    engine: str
    configuration: str  # what the engine ran with (the access rules, or the RPZ zone)
    hosts: list[HostResult]

    @property
    def disagreements(self) -> list[HostResult]:
        return [h for h in self.hosts if h.agrees is False]

    @property
    def engine_errors(self) -> list[HostResult]:
        return [h for h in self.hosts if h.engine is not None and h.engine.allowed is None]

    def refused(self, host: HostResult, by: str) -> bool:
        """Whether a replayed HOST was refused by the engine (BY="static": predicted refused by the audit)."""
        if host.engine is None:
            return False  # not replayed: the per-host table says why, and what the audit predicts
        return not host.predicted_allowed if by == "static" else host.engine.allowed is False

    def failing_images(self, by: str = "engine") -> dict[str, list[str]]:
        """image -> the hosts its pull needs that the engine refused (BY="static": the audit predicted refused)."""
        failing: dict[str, list[str]] = defaultdict(list)
        for host in self.hosts:
            if self.refused(host, by):
                for image in host.images:
                    failing[image].append(host.host)
        return {image: sorted(hosts) for image, hosts in sorted(failing.items())}

    def failing_clients(self, by: str = "engine") -> dict[str, list[str]]:
        failing: dict[str, list[str]] = defaultdict(list)
        for host in self.hosts:
            if self.refused(host, by):
                for client in host.clients:
                    failing[client].append(host.host)
        return {client: sorted(hosts) for client, hosts in sorted(failing.items())}


def _images(req: RequiredHost, index: dict[str, RequiredHost]) -> list[str]:
    images = {n.text for n in req.needed_by if n.kind == "image"}
    for chain in req.chains:
        root = index.get(chain[0])
        if root is not None:
            images |= {n.text for n in root.needed_by if n.kind == "image"}
    return sorted(images)


_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}"
                          r"[a-z0-9_])?)*$")


def _replayable(host: str) -> str:
    """Why HOST is not replayed ("" when it is): it goes into a hosts file and a request line verbatim."""
    if "*" in host:
        return "a pattern, not a name: no concrete host to replay"
    if is_ip(host):
        return "" if host.startswith("127.") else "an IP address outside loopback: never contacted"
    if not _HOSTNAME_RE.match(host):
        return "not a plain host name"
    return ""


def predictions(analysis: Analysis, allowlist: Allowlist, options: AuditOptions, target: Target
                ) -> list[HostResult]:
    """Per required host, what the static audit says (from its `missing` findings) and why."""
    findings = audit(analysis, allowlist, options)
    missing = {h for f in findings if f.kind is FindingKind.MISSING for h in f.hosts}
    index = {r.host: r for r in analysis.required}
    results = []
    for req in sorted(analysis.required, key=lambda r: r.host):
        entry = target.match(allowlist, req.host)
        activity = analysis.store.activity.get(req.host)
        clients = sorted(activity.clients) if activity is not None else []
        results.append(HostResult(req.host, req.host not in missing, entry.original if entry else None, None,
                                  _replayable(req.host), _images(req, index), clients))
    return results


def simulate(analysis: Analysis, allowlist: Allowlist, allowlist_text: str, options: AuditOptions,
             target: Target) -> Simulation:
    """Run TARGET's engine with ALLOWLIST and replay every required host through it."""
    hosts = predictions(analysis, allowlist, options, target)
    replay = [h for h in hosts if not h.why_not_replayed]
    if target.name == "proxy":
        # A Squid configuration is run as written (its acl and http_access lines): that is what gets deployed,
        # and what the static reader may misread. Anything else is exported first, as `export` would.
        config = native_access_config(allowlist_text) or write_squid_snippet(target.rules(allowlist))
        with DummyUpstream() as upstream, SquidEngine(config, [h.host for h in replay], upstream.port) as squid:
            for host in replay:
                host.engine = squid.connect(host.host)
        return Simulation(target.name, "squid", config, hosts)
    if target.name == "dns":
        zone = write_rpz(target.rules(allowlist))
        with StubUpstream() as stub, UnboundEngine(zone, stub.port) as unbound:
            for host in replay:
                host.engine = unbound.query(host.host)
        return Simulation(target.name, "unbound", zone, hosts)
    raise ValueError(f"no engine to simulate target {target.name!r} (simulated: {', '.join(SIMULATED_TARGETS)})")
