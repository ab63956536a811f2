"""`sign-in` rules: enforced sign-in missing or misconfigured on a machine (desktop.md §2)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import (
    MachineSetting,
)
from auditor.decisions.desktop_machine import (
    CERTAIN,
    REVIEW,
    SIGN_IN,
    MachineContext,
    MachineFinding,
    ev,
    where,
)

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


class SignInRules(MachineContext):
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
                    "desktop.md §2.1 [S1] (H)", [ev(f"{where(setting)} is {setting.value_type}", setting)])
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
                "desktop.md §1 row 3, §2.1 [S1][S7] (H)", [ev(f"platform {self.platform}; files read: "
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
                [ev("admin-settings.json is present; no allowedOrgs method is configured", any_setting)])
            return
        setting = self._org_setting(winner)
        assert setting is not None
        yield from self._minparse_version(winner, setting)
        orgs = yield from self._orgs(winner, setting)
        self.orgs = tuple(orgs)
        yield from self._active_org(orgs)
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
                "UNCONFIRMED", [ev(f"{origin} starts with a byte-order mark or is UTF-16", bom)], subject=origin)
        if invalid is not None:
            yield self.finding(
                SIGN_IN, "error", REVIEW, "sign-in/file-invalid", f"{origin} is not valid JSON",
                f"Docker Desktop cannot read {origin} as JSON; whether it then enforces anything is not documented.",
                f"Rewrite {origin} as valid JSON.", "desktop.md §11 A2 (effect UNCONFIRMED)",
                [ev(f"{origin}: syntax error", invalid)], subject=origin)

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
            [ev(f"{m}: {', '.join(lists[m]) if m in lists else 'present'}", s) for m, s in zip(configured, settings,
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
                [ev(f"{where(setting)}: type {actual}", setting)], subject=method)
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
                    "desktop.md §2.4 [S1][S5] (H)", [ev(f"{where(setting)}: {list(orgs)!r}", setting)],
                    subject=org, org=org)
            elif ";" in org and method != "config-profile":
                yield self.finding(
                    SIGN_IN, "warning", REVIEW, "sign-in/org-semicolon", f"org {org!r} in {method} holds a `;`",
                    "A `;`-joined list inside one entry: the MSI ALLOWEDORG property takes that form, but whether "
                    "it is written as one entry per org is not documented.",
                    "Put each org in its own entry.", "desktop.md §2.4 (Derived; MSI layout UNCONFIRMED)",
                    [ev(f"{where(setting)}: {org!r}", setting)], subject=org, org=org)

    def _several(self, method: str, setting: MachineSetting, orgs: list[str]) -> Iterator[MachineFinding]:
        evidence = [ev(f"{where(setting)}: {', '.join(orgs)}", setting)]
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
                "desktop.md §2.5 [S3][S5][S40] (H)", [*evidence, ev(f"Docker Desktop {self.version_text}",
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

    def _minparse_version(self, method: str, setting: MachineSetting) -> Iterator[MachineFinding]:
        needed = METHOD_MIN_VERSION.get(method)
        if needed is None or self.version is None or self.version >= needed:
            return
        yield self.finding(
            SIGN_IN, "error", CERTAIN, "sign-in/method-too-new", f"{method} needs Docker Desktop "
            f"{'.'.join(map(str, needed))}+, this is {self.version_text}",
            f"{METHOD_LABEL[method]} is read from Docker Desktop {'.'.join(map(str, needed))} on.",
            "Upgrade Docker Desktop or use registry.json.", "desktop.md §2.7 [S3][S5][S40] (H)",
            [ev(where(setting), setting), ev(f"Docker Desktop {self.version_text}", self.version_source)])

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
            [ev(where(setting), setting), ev(f"Docker Desktop {self.version_text or 'version not collected'}",
                                                self.version_source)])

    def _active_org(self, orgs: list[str]) -> Iterator[MachineFinding]:
        active = self.m.user_setting("activeorganizationname")
        # compared with the orgs as they were meant (`Acme `, `a;b`): their misspelling is its own finding
        meant = {part.strip().lower() for org in orgs for part in org.split(";")}
        if active is None or not isinstance(active.value, str) or not active.value or active.value in meant:
            return
        yield self.finding(
            SIGN_IN, "note", REVIEW, "sign-in/active-org", f"active organization `{active.value}` is not among "
            "allowedOrgs", f"The user settings name `{active.value}` as the active organization, which is not in "
            f"{', '.join(orgs) or 'the enforced list'}; what the field means exactly is not documented.",
            "Check which organization this user signs in with.", "desktop.md §6.2 [S16] (H key), §11 A6 (fields "
            "UNCONFIRMED)", [ev(f"{where(active)} = {active.value!r}", active)], subject=active.value)
