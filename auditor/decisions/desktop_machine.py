"""What the Docker Desktop readiness rules share: one machine's records gathered from the evidence store, the
values read from them (platform, Docker Desktop version), the finding record and the context a rule runs in.

The rules themselves are in desktop_sign_in (sign-in), desktop_engine (not-enforced) and desktop_bypass (bypass);
auditor/decisions/desktop.py runs them per machine and sums up the fleet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.core.model import (
    BuildxBuilder,
    DockerContext,
    HostPurpose,
    HostsEntry,
    MachineSetting,
    MachineValue,
    Source,
)
from auditor.knowledge import Knowledge

CERTAIN, REVIEW = "certain", "review"
SIGN_IN, NOT_ENFORCED, BYPASS = "sign-in", "not-enforced", "bypass"
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class MachineFinding:
    kind: str  # sign-in | not-enforced | bypass
    severity: str  # error | warning | note
    certainty: str  # certain | review
    rule: str  # stable rule id, e.g. "sign-in/org-name"
    machine: str
    title: str
    detail: str
    action: str
    fact: str  # the fact-sheet source the rule rests on
    evidence: tuple[tuple[str, tuple[Source, ...]], ...] = ()
    subject: str = ""  # what in the machine it is about (an org, a builder, a host), for the stable key
    hosts: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key_hosts(self) -> tuple[str, ...]:
        return (f"machine:{self.machine}", f"rule:{self.rule}",
                *((f"subject:{self.subject}",) if self.subject else ()), *self.hosts)

    def as_data(self) -> dict[str, Any]:
        return {"machine": self.machine, "rule": self.rule, "certainty": self.certainty, "fact": self.fact,
                **self.data}


# -- one machine's records -----------------------------------------------------------------------------


@dataclass
class MachineView:
    name: str
    settings: dict[str, dict[str, MachineSetting]] = field(default_factory=lambda: defaultdict(dict))
    hosts: list[HostsEntry] = field(default_factory=list)
    builders: list[BuildxBuilder] = field(default_factory=list)
    contexts: list[DockerContext] = field(default_factory=list)
    insecure: list[tuple[str, Source]] = field(default_factory=list)
    anchor: Source | None = None  # the bundle's manifest, else its first record read


    def get(self, origin: str, key: str) -> MachineSetting | None:
        return self.settings.get(origin, {}).get(key)

    def value(self, origin: str, key: str) -> MachineValue:
        setting = self.get(origin, key)
        return None if setting is None else setting.value

    def has(self, origin: str) -> bool:
        return bool(self.settings.get(origin))

    def user_setting(self, key: str) -> MachineSetting | None:
        """A key of the user settings file: settings-store.json first (4.35+), else settings.json (§6.3)."""
        return self.get("settings-store.json", key) or self.get("settings.json", key)


def machines_of(store: EvidenceStore) -> dict[str, MachineView]:
    machines: dict[str, MachineView] = {}
    for record in store.machine_records:
        machine = machines.setdefault(record.machine, MachineView(record.machine))
        if machine.anchor is None or (isinstance(record, MachineSetting) and record.origin == "bundle"
                                      and machine.anchor.parser != "machine_manifest"):
            machine.anchor = Source(record.source.path, parser=record.source.parser)
        if isinstance(record, MachineSetting):
            machine.settings[record.origin].setdefault(record.key, record)  # the first one read wins
        elif isinstance(record, HostsEntry):
            machine.hosts.append(record)
        elif isinstance(record, BuildxBuilder):
            machine.builders.append(record)
        elif isinstance(record, DockerContext):
            machine.contexts.append(record)
    # a folder holding only a hosts file is a repository's test data, not a machine bundle
    machines = {name: m for name, m in machines.items() if m.settings or m.builders or m.contexts}
    for ref in store.host_references:  # daemon.json's insecure-registries, when it sits in a bundle
        if ref.purpose is HostPurpose.INSECURE and ref.source is not None:
            folder = PurePath(ref.source.path.replace("\\", "/")).parent.name
            if folder in machines:
                machines[folder].insecure.append((ref.host, ref.source))
    return machines


def parse_version(text: object) -> tuple[int, int, int] | None:
    match = _VERSION.match(str(text or "").strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def platform_of(machine: MachineView) -> str:
    stated = str(machine.value("bundle", "platform") or "").lower()
    client_os = str(machine.value("docker-version", "client.os") or "").lower()
    for text in (stated, client_os):
        if text in ("macos", "darwin", "mac"):
            return "macos"
        if text in ("windows", "linux"):
            return text
    if machine.has("config-profile") or machine.has("desktop.plist"):
        return "macos"
    if machine.has("registry-key"):
        return "windows"
    return "unknown"


def desktop_version_of(machine: MachineView) -> tuple[str | None, Source | None]:
    for origin, key in (("docker-version", "desktop.version"), ("bundle", "desktop_version")):
        setting = machine.get(origin, key)
        if setting is not None and parse_version(setting.value):
            return str(setting.value), setting.source
    return None, None


def truthy(value: MachineValue) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    return None


def as_int(value: MachineValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def ev(text: str, *settings: MachineSetting | HostsEntry | BuildxBuilder | DockerContext | Source | None
        ) -> tuple[str, tuple[Source, ...]]:
    sources = tuple(s if isinstance(s, Source) else s.source for s in settings if s is not None)
    return text, sources


def where(setting: MachineSetting) -> str:
    return f"{setting.origin} `{setting.key_text or setting.key}`"


class MachineContext:
    """One machine under review: its records, the allowlist and knowledge the rules compare with, and the
    finding factory every rule uses (title prefixed with the machine, `(review)` appended, an anchor source)."""

    def __init__(self, machine: MachineView, allowlist: Allowlist | None, mode: MatchMode,
                 knowledge: Knowledge | None) -> None:
        self.m = machine
        self.allowlist = allowlist
        self.mode = mode
        self.knowledge = knowledge
        self.platform = platform_of(machine)
        self.version_text, self.version_source = desktop_version_of(machine)
        self.version = parse_version(self.version_text)
        self.method: str | None = None
        self.orgs: tuple[str, ...] = ()

    def finding(self, kind: str, severity: str, certainty: str, rule: str, title: str, detail: str, action: str,
                fact: str, evidence: Iterable[tuple[str, tuple[Source, ...]]] = (), subject: str = "",
                hosts: tuple[str, ...] = (), **data: Any) -> MachineFinding:
        shown = f"{self.m.name}: {title}" + (" (review)" if certainty == REVIEW else "")
        evidence = list(evidence)
        if not any(sources for _text, sources in evidence) and self.m.anchor is not None:
            # a finding about what is absent still points into the machine's bundle (SARIF needs a place)
            evidence.append((f"machine bundle {self.m.name}", (self.m.anchor,)))
        return MachineFinding(kind, severity, certainty, rule, self.m.name, shown, detail, action, fact,
                              tuple(evidence), subject, hosts, {"platform": self.platform,
                                                                 "desktop_version": self.version_text, **data})
