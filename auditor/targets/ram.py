"""Docker Desktop Registry Access Management (RAM): hostnames, up to 100, with a built-in Docker Hub switch.

RAM filters by hostname. Whether an entry also allows its subdomains is not documented (Docker's own ECR
example only works if it does), so the match mode is a setting: suffix (default) or exact. The built-in
Docker Hub entry is one switch for every host a Hub pull uses, CDN hosts under docker.com and Cloudflare's R2
included; no other target has such a switch. Sources: docs.docker.com/enterprise/security/hardened-desktop/
registry-access-management/.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.core.allowlist import DOCKER_HUB_NAMES, Allowlist, AllowlistEntry, MatchMode, covers
from auditor.targets.base import Rule, Scope, Target, Writer, merged, one_line

RAM_LIMIT = 100


def write_console_csv(rules: Sequence[Rule]) -> str:
    """The two columns the Admin Console's registry list holds: address and nickname (at most 100 characters)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["address", "nickname"])
    for rule in merged(rules):
        writer.writerow([rule.host, one_line(rule.nickname or rule.rationale)[:100]])
    return buffer.getvalue()


def write_text(rules: Sequence[Rule]) -> str:
    lines = [rule.host + (f"  # {one_line(rule.rationale)}" if rule.rationale else "") for rule in merged(rules)]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass(frozen=True)
class RamTarget(Target):
    mode: MatchMode = MatchMode.SUFFIX
    name: str = "ram"
    title: str = "Docker Desktop Registry Access Management"
    limit: int | None = RAM_LIMIT
    hub_switch: bool = True
    formats: dict[str, Writer] = field(default_factory=lambda: {"csv": write_console_csv, "text": write_text},
                                       compare=False, hash=False)
    default_format: str = "csv"
    summary: str = "hostnames (suffix or exact matching), at most 100, with one switch for all of Docker Hub."

    def scope(self, entry: AllowlistEntry) -> Scope:
        return Scope.SUBTREE if self.mode is MatchMode.SUFFIX else Scope.EXACT

    def covers(self, entry: AllowlistEntry, host: str) -> bool:
        return covers(entry.address, host, self.mode)  # the audit's hot loop: no Rule built per call

    def match(self, allowlist: Allowlist, host: str) -> AllowlistEntry | None:
        """The narrowest entry that lets HOST through: RAM's matching is the allowlist index's (its entries
        among HOST's own suffixes, one look-up per label), not a test of every entry per host."""
        return allowlist.match(host, self.mode)  # the index gives the narrowest (longest) first

    def implicitly_allowed(self, host: str) -> str | None:
        if host in DOCKER_HUB_NAMES:
            return "RAM's built-in Docker Hub entry is on by default (an administrator can turn it off)"
        return None

    def count(self, allowlist: Allowlist, count_docker_hub_default: bool = False) -> int:
        return allowlist.count(count_docker_hub_default)

    def validate(self, text: str) -> str | None:
        if "*" in text:
            return "RAM entries are hostnames: wildcards are not documented"
        return None
