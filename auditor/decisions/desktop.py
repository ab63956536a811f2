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
The rules live in desktop_sign_in, desktop_engine and desktop_bypass, what they share in desktop_machine; this
module runs them per machine and sums up the fleet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.decisions.desktop_bypass import BypassRules
from auditor.decisions.desktop_engine import EngineRules
from auditor.decisions.desktop_machine import (
    BYPASS,
    CERTAIN,
    NOT_ENFORCED,
    REVIEW,
    SIGN_IN,
    MachineFinding,
    machines_of,
)
from auditor.decisions.desktop_sign_in import SignInRules
from auditor.knowledge import Knowledge

__all__ = ["BYPASS", "NOT_ENFORCED", "SIGN_IN", "Fleet", "MachineFinding", "MachineReview", "MachineVerdict",
           "review_machines"]


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


def review_machines(store: EvidenceStore, allowlist: Allowlist | None, mode: MatchMode,
                    knowledge: Knowledge | None = None) -> MachineReview:
    """Every machine finding for the bundles in STORE, and the fleet summary."""
    findings: list[MachineFinding] = []
    verdicts: list[MachineVerdict] = []
    for name, machine in sorted(machines_of(store).items()):
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


class _Checker(SignInRules, EngineRules, BypassRules):
    def run(self) -> Iterator[MachineFinding]:
        yield from self.sign_in()
        yield from self.builders()
        yield from self.engine()
        yield from self.bypass()
