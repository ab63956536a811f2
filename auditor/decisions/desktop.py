"""Will Registry Access Management take effect at all? Docker Desktop readiness from machine bundles.

An allowlist only matters on a machine whose Docker Desktop enforces it. This module reads the machine records
(auditor/core/model.py: MachineSetting, HostsEntry, BuildxBuilder, DockerContext; one bundle folder per machine)
and finds, per machine:
- `sign-in`: enforced sign-in missing or misconfigured (desktop.md §2);
- `not-enforced`: pull paths RAM does not filter (builders, Windows containers, Kubernetes, WSL kernel, another
  engine; §3, §8);
- `bypass`: ways around the filter (hosts file, local proxy, unlocked settings, insecure registries,
  `docker load`, the TCP API; §3, §5.3, §10);
and a fleet summary: how many machines would enforce the allowlist today, and what stops the rest.

Every rule names its fact-sheet source (`desktop.md §N [S#] (H/M/Derived)`). A rule resting on an UNCONFIRMED fact,
or on a version or type the bundle does not show, gives certainty "review", never a certain finding.
The findings are plain MachineFinding records; auditor/decisions/audit.py turns them into its Findings.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from auditor.core.allowlist import DOCKER_HUB_NAMES, Allowlist, MatchMode
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
# Docker Hub's hosts a hosts-file line may pin (desktop.md §10: the last four M/UNCONFIRMED as the full set)
HUB_HOSTS = DOCKER_HUB_NAMES | {"auth.docker.io", "production.cloudflare.docker.com"}
DESKTOP_PROXY = "http.docker.internal:3128"  # desktop.md §3 / §8.2 [S21] (H)
PRECEDENCE = {  # desktop.md §2.3 [S1] (H, current docs): first configured method wins
    "windows": ("registry-key", "registry.json", "admin-settings.json"),
    "macos": ("config-profile", "desktop.plist", "registry.json", "admin-settings.json"),
    "linux": ("registry.json", "admin-settings.json"),
}
ALL_METHODS = ("registry-key", "config-profile", "desktop.plist", "registry.json", "admin-settings.json")
METHOD_LABEL = {"registry-key": "the registry key HKLM\\SOFTWARE\\Policies\\Docker\\Docker Desktop allowedOrgs",
                "config-profile": "the configuration profile (com.docker.config) allowedOrgs",
                "desktop.plist": "desktop.plist allowedOrgs", "registry.json": "registry.json allowedOrgs",
                "admin-settings.json": "admin-settings.json (its presence alone)"}
METHOD_MIN_VERSION = {"registry-key": (4, 32, 0), "desktop.plist": (4, 32, 0), "config-profile": (4, 36, 0)}
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
_KERNEL = re.compile(r"^(\d+)\.(\d+)")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


@dataclass(frozen=True)
class MachineFinding:
    kind: str  # sign-in | not-enforced | bypass
    severity: str  # error | warning | note
    certainty: str  # certain | review
    rule: str  # stable rule id, e.g. "sign-in/uppercase-org"
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


@dataclass
class MachineVerdict:
    """One machine's enforcement state: enforced, partial (enforced, with pulls or tricks around it), review
    (a blocker the bundle cannot confirm) or not-enforced, and the rule findings behind it."""

    name: str
    platform: str
    desktop_version: str | None
    method: str | None
    orgs: tuple[str, ...]
    state: str
    reasons: list[MachineFinding]


@dataclass
class Fleet:
    machines: list[MachineVerdict]

    @property
    def enforcing(self) -> int:
        return sum(1 for m in self.machines if m.state in ("enforced", "partial"))


@dataclass
class MachineReview:
    findings: list[MachineFinding]
    fleet: Fleet


# -- one machine's records -----------------------------------------------------------------------------


@dataclass
class _Machine:
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


def _machines(store: EvidenceStore) -> dict[str, _Machine]:
    machines: dict[str, _Machine] = {}
    for record in store.machine_records:
        machine = machines.setdefault(record.machine, _Machine(record.machine))
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


def _version(text: object) -> tuple[int, int, int] | None:
    match = _VERSION.match(str(text or "").strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _platform(machine: _Machine) -> str:
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


def _desktop_version(machine: _Machine) -> tuple[str | None, Source | None]:
    for origin, key in (("docker-version", "desktop.version"), ("bundle", "desktop_version")):
        setting = machine.get(origin, key)
        if setting is not None and _version(setting.value):
            return str(setting.value), setting.source
    return None, None


def _truthy(value: MachineValue) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    return None


def _int(value: MachineValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _ev(text: str, *settings: MachineSetting | HostsEntry | BuildxBuilder | DockerContext | Source | None
        ) -> tuple[str, tuple[Source, ...]]:
    sources = tuple(s if isinstance(s, Source) else s.source for s in settings if s is not None)
    return text, sources


def _where(setting: MachineSetting) -> str:
    return f"{setting.origin} `{setting.key_text or setting.key}`"


# -- the review ------------------------------------------------------------------------------------------


def review_machines(store: EvidenceStore, allowlist: Allowlist | None, mode: MatchMode,
                    knowledge: Knowledge | None = None) -> MachineReview:
    """Every machine finding for the bundles in STORE, and the fleet summary."""
    findings: list[MachineFinding] = []
    verdicts: list[MachineVerdict] = []
    for name, machine in sorted(_machines(store).items()):
        checker = _Checker(machine, allowlist, mode, knowledge)
        found = list(checker.run())
        findings += found
        verdicts.append(MachineVerdict(name, checker.platform, checker.version_text, checker.method, checker.orgs,
                                       _state(found), [f for f in found if f.severity != "note"]))
    return MachineReview(findings, Fleet(verdicts))


def _state(found: list[MachineFinding]) -> str:
    blocking = [f for f in found if f.kind in (SIGN_IN, NOT_ENFORCED) and f.severity == "error"]
    if any(f.certainty == CERTAIN for f in blocking):
        return "not-enforced"
    if blocking or any(f.certainty == REVIEW and f.kind == SIGN_IN and f.severity != "note" for f in found):
        return "review"
    if any(f.severity != "note" for f in found):
        return "partial"
    return "enforced"


class _Checker:
    def __init__(self, machine: _Machine, allowlist: Allowlist | None, mode: MatchMode,
                 knowledge: Knowledge | None) -> None:
        self.m = machine
        self.allowlist = allowlist
        self.mode = mode
        self.knowledge = knowledge
        self.platform = _platform(machine)
        self.version_text, self.version_source = _desktop_version(machine)
        self.version = _version(self.version_text)
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

    def run(self) -> Iterator[MachineFinding]:
        yield from self.sign_in()
        yield from self.builders()
        yield from self.engine()
        yield from self.bypass()

    # -- sign-in ---------------------------------------------------------------------------------------

    def _org_setting(self, method: str) -> MachineSetting | None:
        return self.m.get(method, "allowedorgs")

    def configured(self) -> list[str]:
        order = PRECEDENCE.get(self.platform, ALL_METHODS)
        found = []
        for method in order:
            if method == "admin-settings.json":
                if self.m.has(method):
                    found.append(method)
            elif self._org_setting(method) is not None:
                found.append(method)
        return found

    def sign_in(self) -> Iterator[MachineFinding]:
        configured = self.configured()
        usable = []
        for method in configured:
            setting = self._org_setting(method)
            if method == "config-profile" and setting is not None and setting.value_type == "array":
                yield self.finding(
                    SIGN_IN, "error", CERTAIN, "sign-in/profile-array", "configuration profile allowedOrgs is an "
                    "array: Docker Desktop ignores it",
                    "The com.docker.config profile's allowedOrgs must be a string of orgs separated by `;`; as an "
                    "array it is ignored and the backend logs `ignoring allowedOrgs from configuration profile`.",
                    "Set allowedOrgs in the profile as one <string>, e.g. `first_org;second_org`.",
                    "desktop.md §2.1 [S1] (H)", [_ev(f"{_where(setting)} is {setting.value_type}", setting)])
                continue
            usable.append(method)
        for origin in ("registry.json", "admin-settings.json"):
            yield from self._file_health(origin)
        if not usable:
            if configured:
                yield self.finding(
                    SIGN_IN, "error", REVIEW, "sign-in/none-usable", "no usable sign-in enforcement",
                    "The only sign-in method found is ignored; whether Docker Desktop falls back to another one is "
                    "not documented.", "Fix the configuration profile (see the other finding).",
                    "desktop.md §2.1, §2.3 [S1] (H); fall-back UNCONFIRMED")
                return
            unreadable = [o for o in ALL_METHODS if self.m.get(o, "file.invalid") is not None]
            yield self.finding(  # an unreadable registry.json may still count for Docker Desktop: then review
                SIGN_IN, "error", REVIEW if unreadable else CERTAIN, "sign-in/none", "sign-in is not enforced",
                "No registry key, configuration profile, desktop.plist, registry.json or admin-settings.json in the "
                "bundle: a user who signs out of Docker Desktop is no longer subject to the organization's Registry "
                "Access Management policy.",
                "Enforce sign-in: registry.json (all platforms), the registry key (Windows) or a configuration "
                "profile (macOS, Docker Desktop 4.41.0 or later), listing your organization in lowercase.",
                "desktop.md §1 row 3, §2.1 [S1][S7] (H)", [_ev(f"platform {self.platform}; files read: "
                                                               f"{', '.join(sorted(self.m.settings)) or 'none'}")])
            return
        winner = usable[0]
        self.method = winner
        with_orgs = [m for m in usable if m != "admin-settings.json"]
        if len(with_orgs) > 1:  # admin-settings.json beside an org list is the normal setup, not a competitor
            yield self._precedence(with_orgs, winner)
        ignored = [m for m in configured if m not in usable]
        if ignored:
            yield self.finding(
                SIGN_IN, "warning", REVIEW, "sign-in/fallback", f"{ignored[0]} is ignored; {winner} is assumed to "
                "apply instead", f"{ignored[0]} comes first in the precedence order but is ignored; whether Docker "
                f"Desktop then falls back to {winner} is not documented.", f"Fix {ignored[0]} or remove it.",
                "desktop.md §2.3 [S1] (H order); fall-back UNCONFIRMED")
        if winner == "admin-settings.json":
            any_setting = next(iter(self.m.settings["admin-settings.json"].values()))
            yield self.finding(  # certain unless it only applies because a higher method was ignored
                SIGN_IN, "error", REVIEW if ignored else CERTAIN, "sign-in/any-account",
                "sign-in enforced for any Docker account, not for your organization",
                "Only admin-settings.json enforces sign-in here: its presence requires signing in with any "
                "account, and its settings apply only to members of a Docker Business organization. A user "
                "signed in with a personal account is not under the organization's RAM policy.",
                "Add registry.json (or the registry key / configuration profile) listing your organization.",
                "desktop.md §2.1 [S1][S14] (H), §5.1 (H); which org applies: §2.5 UNCONFIRMED (Derived rule)",
                [_ev("admin-settings.json is present; no allowedOrgs method is configured", any_setting)])
            return
        setting = self._org_setting(winner)
        assert setting is not None
        yield from self._min_version(winner, setting)
        orgs = yield from self._orgs(winner, setting)
        self.orgs = tuple(orgs)
        yield from self._org_names(winner, setting, orgs)
        if len(orgs) > 1:
            yield from self._several(winner, setting, orgs)
        if winner == "config-profile" or "config-profile" in usable:
            yield from self._profile_cve(self._org_setting("config-profile") or setting)

    def _file_health(self, origin: str) -> Iterator[MachineFinding]:
        bom = self.m.get(origin, "file.bom")
        invalid = self.m.get(origin, "file.invalid")
        if bom is not None:
            yield self.finding(
                SIGN_IN, "warning", REVIEW, "sign-in/file-encoding", f"{origin} is not plain UTF-8 ({bom.value})",
                f"{origin} must be UTF-8 without BOM; what Docker Desktop does with a BOM or UTF-16 file is not "
                "documented.", f"Save {origin} as UTF-8 without BOM.", "desktop.md §2.1, §5.1 (H); effect §11 A2 "
                "UNCONFIRMED", [_ev(f"{origin} starts with a byte-order mark or is UTF-16", bom)], subject=origin)
        if invalid is not None:
            yield self.finding(
                SIGN_IN, "error", REVIEW, "sign-in/file-invalid", f"{origin} is not valid JSON",
                f"Docker Desktop cannot read {origin} as JSON; whether it then enforces anything is not documented.",
                f"Rewrite {origin} as valid JSON.", "desktop.md §11 A2 (effect UNCONFIRMED)",
                [_ev(f"{origin}: syntax error", invalid)], subject=origin)

    def _precedence(self, configured: list[str], winner: str) -> MachineFinding:
        ignored = [m for m in configured if m != winner]
        lists = {m: self._org_list(m) for m in configured if m != "admin-settings.json"}
        differ = len({tuple(v) for v in lists.values()}) > 1
        settings = [self._org_setting(m) or next(iter(self.m.settings[m].values())) for m in configured]
        return self.finding(
            SIGN_IN, "warning" if differ else "note", CERTAIN, "sign-in/precedence",
            f"{len(configured)} sign-in methods: {winner} wins, {', '.join(ignored)} ignored",
            f"On {self.platform}, methods are evaluated in the order {' → '.join(configured)}; the first configured "
            f"one wins and the others are not consulted." + (" Their org lists differ: only the winner's counts."
                                                             if differ else ""),
            "Keep one method (or keep them identical) so the enforced orgs are the ones you expect.",
            "desktop.md §2.3 [S1] (H, current docs)",
            [_ev(f"{m}: {', '.join(lists[m]) if m in lists else 'present'}", s) for m, s in zip(configured, settings,
                                                                                                strict=True)],
            winner=winner, ignored=ignored)

    def _org_list(self, method: str) -> list[str]:
        setting = self._org_setting(method)
        if setting is None:
            return []
        value = setting.value
        if isinstance(value, tuple):
            return list(value)
        if method == "config-profile" and isinstance(value, str):
            return value.split(";")
        return [str(value)] if value is not None else []

    def _orgs(self, method: str, setting: MachineSetting) -> Iterator[MachineFinding]:
        """Findings about the value's type; returns the org list (as a generator's return value)."""
        expected = {"registry-key": "REG_MULTI_SZ", "config-profile": "string", "desktop.plist": "array",
                    "registry.json": "array"}[method]
        actual = setting.value_type or ("array" if isinstance(setting.value, tuple) else "string")
        if actual != expected:
            yield self.finding(
                SIGN_IN, "error", REVIEW, "sign-in/value-type", f"{METHOD_LABEL[method]} is {actual}, not {expected}",
                f"The documented type for this method is {expected}; whether Docker Desktop accepts a {actual} "
                "is not documented.", f"Write allowedOrgs as {expected}.",
                "desktop.md §2.1 [S1] (H type; effect of another type UNCONFIRMED)",
                [_ev(f"{_where(setting)}: type {actual}", setting)], subject=method)
        return self._org_list(method)

    def _org_names(self, method: str, setting: MachineSetting, orgs: list[str]) -> Iterator[MachineFinding]:
        for org in orgs:
            problems = []
            if org == "":
                problems.append("is empty")
            if org != org.lower():
                problems.append("has uppercase letters (matching is case-sensitive; org names are lowercase)")
            if re.search(r"[\s,]", org):
                problems.append("contains whitespace or a comma (one org per entry, no separators)")
            if problems:
                yield self.finding(
                    SIGN_IN, "error", CERTAIN, "sign-in/org-name", f"org {org!r} in {method} does not match",
                    f"The org name {org!r} {'; '.join(problems)}. Docker Desktop compares it exactly with the "
                    "Docker Hub organization name, and a mismatch signs out every user.",
                    f"Write the org as `{org.strip().lower()}` exactly as on Docker Hub.",
                    "desktop.md §2.4 [S1][S5] (H)", [_ev(f"{_where(setting)}: {list(orgs)!r}", setting)],
                    subject=org, org=org)
            elif ";" in org and method != "config-profile":
                yield self.finding(
                    SIGN_IN, "warning", REVIEW, "sign-in/org-semicolon", f"org {org!r} in {method} holds a `;`",
                    "A `;`-joined list inside one entry: the MSI ALLOWEDORG property takes that form, but whether "
                    "it is written as one entry per org is not documented.",
                    "Put each org in its own entry.", "desktop.md §2.4 (Derived; MSI layout UNCONFIRMED)",
                    [_ev(f"{_where(setting)}: {org!r}", setting)], subject=org, org=org)

    def _several(self, method: str, setting: MachineSetting, orgs: list[str]) -> Iterator[MachineFinding]:
        evidence = [_ev(f"{_where(setting)}: {', '.join(orgs)}", setting)]
        if self.version is None:
            yield self.finding(
                SIGN_IN, "error", REVIEW, "sign-in/several-orgs-version", f"{len(orgs)} orgs listed; Docker Desktop "
                "version unknown", "Several organizations need Docker Desktop 4.36 or later; on 4.35 and earlier "
                "enforcement fails silently. The bundle does not show the version.",
                "Collect `docker version` with the engine running, or check the version is 4.36+.",
                "desktop.md §2.5 [S3][S5][S40] (H)", evidence)
        elif self.version < (4, 36, 0):
            yield self.finding(
                SIGN_IN, "error", CERTAIN, "sign-in/several-orgs-old", f"{len(orgs)} orgs on Docker Desktop "
                f"{self.version_text}: enforcement fails silently",
                "Several organizations are supported from Docker Desktop 4.36; on 4.35 and earlier listing more "
                "than one makes enforcement fail silently.", "Upgrade to 4.36+ or list a single org.",
                "desktop.md §2.5 [S3][S5][S40] (H)", [*evidence, _ev(f"Docker Desktop {self.version_text}",
                                                                     self.version_source)])
        profile = method == "config-profile"
        yield self.finding(
            SIGN_IN, "note", REVIEW if profile else CERTAIN, "sign-in/first-org",
            f"the RAM policy of `{orgs[0]}` applies", f"With several orgs listed, only the first organization's "
            f"Registry Access Management policy is enforced: `{orgs[0]}` (then ignored: "
            f"{', '.join(orgs[1:])})." + (" For the profile string, `first` is taken as the first `;` token, which "
            "is not documented." if profile else ""),
            f"Make sure `{orgs[0]}` is the org whose allowlist you audit.",
            "desktop.md §2.5 [S7][S8][S10] (H)" + ("; profile order UNCONFIRMED" if profile else ""), evidence,
            org=orgs[0])

    def _min_version(self, method: str, setting: MachineSetting) -> Iterator[MachineFinding]:
        needed = METHOD_MIN_VERSION.get(method)
        if needed is None or self.version is None or self.version >= needed:
            return
        yield self.finding(
            SIGN_IN, "error", CERTAIN, "sign-in/method-too-new", f"{method} needs Docker Desktop "
            f"{'.'.join(map(str, needed))}+, this is {self.version_text}",
            f"{METHOD_LABEL[method]} is read from Docker Desktop {'.'.join(map(str, needed))} on.",
            "Upgrade Docker Desktop or use registry.json.", "desktop.md §2.7 [S3][S5][S40] (H)",
            [_ev(_where(setting), setting), _ev(f"Docker Desktop {self.version_text}", self.version_source)])

    def _profile_cve(self, setting: MachineSetting) -> Iterator[MachineFinding]:
        if self.version is not None and self.version >= (4, 41, 0):
            return
        known = self.version is not None
        yield self.finding(
            SIGN_IN, "error", CERTAIN if known else REVIEW, "sign-in/profile-cve-2025-4095",
            "configuration profile on Docker Desktop " + (f"{self.version_text} (< 4.41.0)" if known else
                                                          "of unknown version"),
            "Before 4.41.0, RAM policies were not enforced when sign-in came from a macOS configuration profile "
            "(CVE-2025-4095)." + ("" if known else " The bundle does not show the version."),
            "Upgrade Docker Desktop to 4.41.0 or later.", "desktop.md §1 row 9, §2.7 [S28] (H)",
            [_ev(_where(setting), setting), _ev(f"Docker Desktop {self.version_text or 'version not collected'}",
                                                self.version_source)])

    # -- not-enforced ------------------------------------------------------------------------------------

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
                    [_ev(f"{builder.name}: driver {builder.driver}, endpoints {', '.join(builder.endpoints) or '-'}",
                         builder)], subject=builder.name, builder=builder.name, driver=builder.driver)
            elif driver in ("remote", "cloud") or (driver and driver != "docker"):
                yield self.finding(
                    NOT_ENFORCED, "warning", REVIEW, "builder/other-driver", f"buildx builder `{builder.name}` "
                    f"uses the {builder.driver} driver{current}",
                    "Whether RAM restricts builds on this driver is not documented.",
                    "Check where this builder pulls from; enforce the allowlist at the network proxy as well.",
                    "desktop.md §8.1, §12 item 9 (UNCONFIRMED)", [_ev(f"{builder.name}: driver {builder.driver}",
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
            (user is not None and _truthy(user.value) is True)
        if not on:
            return
        port_setting = self.m.get("admin-settings.json", "proxy.windowsdockerdport") or \
            self.m.user_setting("overridewindowsdockerdport")
        port = _int(port_setting.value) if port_setting is not None else -1  # default -1: off (H)
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
            [_ev(_where(s) + f" = {s.value!r}", s) for s in shown])

    def _kubernetes(self) -> Iterator[MachineFinding]:
        for setting in (self.m.get("admin-settings.json", "kubernetes.enabled"),
                        self.m.user_setting("kubernetesenabled")):
            if setting is not None and _truthy(setting.value) is True:
                yield self.finding(
                    NOT_ENFORCED, "warning", CERTAIN, "engine/kubernetes", "Kubernetes is enabled in Docker Desktop",
                    "Some images Docker Desktop pulls for Kubernetes are not restricted even when RAM blocks their "
                    "registry.", "Turn Kubernetes off (admin-settings.json `kubernetes.enabled` false, locked) or "
                    "mirror its images (`kubernetes.imagesRepository`).",
                    "desktop.md §3 (Docker Debug / Kubernetes), §11 A12 [S7][S10][S12][S26] (H)",
                    [_ev(f"{_where(setting)} = {setting.value!r}", setting)])
                return

    def _wsl_kernel(self) -> Iterator[MachineFinding]:
        kernel = self.m.get("docker-info", "kernelversion") or self.m.get("docker-version", "server.kernelversion")
        wsl = self.m.user_setting("wslengineenabled") or \
            self.m.get("admin-settings.json", "linuxvm.wslengineenabled.value")
        if kernel is None:
            return
        text = str(kernel.value)
        on_wsl = (wsl is not None and _truthy(wsl.value) is True) or "wsl" in text.lower() \
            or "microsoft" in text.lower()
        match = _KERNEL.match(text)
        if not on_wsl or match is None or (int(match.group(1)), int(match.group(2))) >= (5, 4):
            return
        yield self.finding(
            NOT_ENFORCED, "error", CERTAIN, "engine/wsl-kernel", f"WSL 2 kernel {text} is older than 5.4",
            "On the WSL 2 backend, RAM needs a Linux kernel of the 5.4 series or later.",
            "Update WSL (`wsl --update`) or remove a custom kernel= from .wslconfig.",
            "desktop.md §3 (WSL 2), §11 A10 [S7][S9] (H)",
            [_ev(f"{_where(kernel)} = {text}", kernel), *([_ev(f"{_where(wsl)} = {wsl.value!r}", wsl)] if wsl else [])])

    def _other_engine(self) -> Iterator[MachineFinding]:
        platform = self.m.get("docker-version", "server.platform.name")
        if platform is not None and platform.value and not str(platform.value).startswith("Docker Desktop"):
            yield self.finding(
                NOT_ENFORCED, "error", CERTAIN, "engine/not-desktop", f"the CLI talks to `{platform.value}`, "
                "not Docker Desktop's engine",
                "`docker version` reports a server that is not Docker Desktop: Docker Desktop's filter is not "
                "in the path of these pulls.", "Point the CLI at Desktop (`docker context use desktop-linux`), "
                "or enforce the allowlist at the network proxy for that engine.",
                "desktop.md §8.3 (H), §11 A8 (Derived)", [_ev(f"{_where(platform)} = {platform.value!r}",
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
                "desktop.md §8.2 (M values), §11 A8 (Derived)", [_ev(f"{_where(s)} = {s.value!r}", s) for s in odd])
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
                    [_ev(f"{context.name}: {context.endpoint}", context)], subject=context.name)
            if context.current and scheme in ("tcp", "ssh", "http", "https"):
                yield self.finding(
                    NOT_ENFORCED, "warning", REVIEW, "engine/remote-context", f"current context `{context.name}` "
                    f"is a remote engine ({scheme})", "The CLI's current context points at an engine over the "
                    "network; Docker Desktop's filter applies only to its own engine.",
                    "Check which engine this is; use Desktop's context for pulls that must be filtered.",
                    "desktop.md §8.4 (H fields), §11 A8 (Derived)", [_ev(f"{context.name}: {context.endpoint}",
                                                                         context)], subject=context.name)

    # -- bypass ------------------------------------------------------------------------------------------

    def bypass(self) -> Iterator[MachineFinding]:
        yield from self._hosts_file()
        yield from self._local_proxy()
        yield from self._unlocked()
        yield from self._insecure()
        yield from self._docker_load()
        yield from self._tcp_api()

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
                [_ev(f"{entry.address} {' '.join(entry.names)}", entry)], subject=f"{entry.address} {names[0]}",
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
                f"{_where(setting)} points at a proxy on the machine itself: a local proxy can answer for registry "
                "names and is a documented way around RAM.",
                "Point the proxy at the corporate proxy, and lock it in admin-settings.json.",
                "desktop.md §3 (Bypass), §11 A14 [S7] (H risk; Derived rule)",
                [_ev(f"{_where(setting)} = {setting.value!r}", setting, mode)],
                subject=f"{setting.origin}:{setting.key}")

    def _unlocked(self) -> Iterator[MachineFinding]:
        groups = ("proxy", "containersproxy", "enhancedcontainerisolation")
        labels = {"proxy": "proxy", "containersproxy": "containersProxy",
                  "enhancedcontainerisolation": "enhancedContainerIsolation"}
        if not self.m.has("admin-settings.json"):
            unlocked = list(groups)
            evidence = [_ev("no admin-settings.json in the bundle")]
        else:
            unlocked = []
            evidence = []
            for group in groups:
                locked = self.m.get("admin-settings.json", f"{group}.locked")
                if locked is None or _truthy(locked.value) is not True:
                    unlocked.append(group)
                    evidence.append(_ev(f"admin-settings.json `{labels[group]}.locked` = "
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
                "desktop.md §7.1, §10 (H keys; Derived rule)", [_ev(f"insecure registry {text}", source)],
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
        if _truthy(value.value) is not True:
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/docker-load", "blockDockerLoad is off",
                "`docker load` is allowed: images can be side-loaded past RAM and IAM.",
                "Set `blockDockerLoad` `{\"locked\": true, \"value\": true}` in admin-settings.json.",
                "desktop.md §5.3 [S14] (H)", [_ev(f"{_where(value)} = {value.value!r}", value)])
        elif admin_value is None or admin_locked is None or _truthy(admin_locked.value) is not True:
            yield self.finding(
                BYPASS, "warning", CERTAIN, "bypass/docker-load", "blockDockerLoad is on but not locked",
                "The user can turn blockDockerLoad off and side-load images past RAM and IAM.",
                "Lock it in admin-settings.json (`\"locked\": true`).", "desktop.md §5.2, §5.3 [S14] (H)",
                [_ev(f"{_where(value)} = {value.value!r}", value, admin_locked)])

    def _tcp_api(self) -> Iterator[MachineFinding]:
        for setting in (self.m.get("admin-settings.json", "exposedockerapiontcp2375.value"),
                        self.m.user_setting("exposedockerapiontcp2375")):
            if setting is not None and _truthy(setting.value) is True:
                yield self.finding(
                    BYPASS, "warning", CERTAIN, "bypass/tcp-2375", "the Docker API is exposed on tcp://localhost:2375",
                    "exposeDockerAPIOnTCP2375 opens the engine's API without authentication to any local process.",
                    "Turn it off and lock it (`exposeDockerAPIOnTCP2375` `{\"locked\": true, \"value\": false}`).",
                    "desktop.md §5.3, §6.2 [S14][S16] (H)", [_ev(f"{_where(setting)} = {setting.value!r}", setting)])
                return


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
