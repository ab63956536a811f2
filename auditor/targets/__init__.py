"""Enforcement targets: one module per place the registry decision is enforced (see base.Target).

Kept free of imports at module level: the command line reads the names below when it starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.core.allowlist import MatchMode
    from auditor.targets.base import Target

# what `propose` and `audit` take; `export` also writes hadolint's trustedRegistries
POLICY_TARGETS = ("ram", "proxy", "dns", "harden-runner", "k8s-admission")
EXPORT_TARGETS = (*POLICY_TARGETS, "hadolint")
DEFAULT_TARGET = "ram"


def target_named(name: str, mode: MatchMode | None = None) -> Target:
    """The target called NAME; MODE is RAM's match mode (the other targets read it from each entry)."""
    from auditor.core.allowlist import MatchMode
    from auditor.targets.dns import DnsTarget
    from auditor.targets.hadolint import HadolintTarget
    from auditor.targets.harden_runner import HardenRunnerTarget
    from auditor.targets.k8s_admission import K8sAdmissionTarget
    from auditor.targets.proxy import ProxyTarget
    from auditor.targets.ram import RamTarget

    if name == "ram":
        return RamTarget(mode=mode or MatchMode.SUFFIX)
    targets: dict[str, type[Target]] = {"proxy": ProxyTarget, "dns": DnsTarget, "harden-runner": HardenRunnerTarget,
                                        "k8s-admission": K8sAdmissionTarget, "hadolint": HadolintTarget}
    if name not in targets:
        raise ValueError(f"unknown target {name!r} (known: {', '.join(EXPORT_TARGETS)})")
    return targets[name]()
