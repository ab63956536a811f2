"""The Analysis: everything the renderers read, computed once from the evidence.

The pipeline is evidence -> redirect graph -> required hosts -> proposal; the audit stage adds the
current allowlist and its findings to the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.core.allowlist import Allowlist, MatchMode
from auditor.core.evidence import EvidenceStore
from auditor.core.words import plural
from auditor.decisions.failed_evidence import split_failed
from auditor.decisions.propose import DEFAULT_BUDGET, Proposal, propose
from auditor.decisions.redirects import RedirectGraph, build_graph
from auditor.decisions.requirements import RequiredHost, required_hosts
from auditor.knowledge import Knowledge, load_knowledge
from auditor.targets import DEFAULT_TARGET, target_named
from auditor.targets.base import Target


@dataclass
class Analysis:
    store: EvidenceStore
    knowledge: Knowledge
    graph: RedirectGraph | None  # None once a caller is done with it (the audit lets it go)
    required: list[RequiredHost]
    proposal: Proposal
    budget: int = DEFAULT_BUDGET
    mode: MatchMode = MatchMode.SUFFIX
    count_docker_hub_default: bool = False
    allowlist: Allowlist | None = None  # the current allowlist, when auditing
    findings: list[Any] = field(default_factory=list)  # filled by the audit stage
    recommendation: Any = None  # auditor/decisions/recommend.Recommendation, set by the audit stage
    fleet: Any = None  # auditor.decisions.desktop.Fleet, filled by the audit stage when machine bundles are read
    options: dict[str, Any] = field(default_factory=dict)

    _by_host: tuple[int, int, dict[str, RequiredHost]] | None = field(default=None, repr=False, compare=False)

    def required_host(self, host: str) -> RequiredHost | None:
        """The required record of HOST, through an index built once (rebuilt if `required` is replaced or grows)."""
        required = self.required
        held = self._by_host
        if held is None or held[0] != id(required) or held[1] != len(required):
            held = self._by_host = (id(required), len(required), {r.host: r for r in reversed(required)})
        return held[2].get(host)


def analyse(store: EvidenceStore, *, budget: int = DEFAULT_BUDGET, mode: MatchMode = MatchMode.SUFFIX,
            count_docker_hub_default: bool = False, knowledge: Knowledge | None = None,
            allowlist: Allowlist | None = None, target: str = DEFAULT_TARGET) -> Analysis:
    knowledge = knowledge or load_knowledge()
    graph = build_graph(store, knowledge)
    required, failed_notes = split_failed(required_hosts(store, knowledge, graph), store)
    proposal = propose(required, knowledge, budget=budget, mode=mode,
                       count_docker_hub_default=count_docker_hub_default)
    proposal.notes.extend(failed_notes)
    required_names = {r.host for r in required}
    blocked = [g for g in store.sorted_blocked_groups() if g.host not in required_names]
    if blocked:
        examples = ", ".join(f"{g.host} ({g.count}x)" for g in blocked[:5])
        are = "is" if len(blocked) == 1 else "are"
        proposal.notes.append(f"{plural(len(blocked), 'blocked host')} {are} not in this proposal (e.g. {examples}): "
                              "a block is not a need; add them only if those pulls are legitimate "
                              "(see `regaudit audit`).")
    if store.not_kept:
        counted = ", ".join(f"{count:,} {what}" for what, count in sorted(store.not_kept.items()))
        proposal.notes.append(f"The inputs name more distinct hosts than regaudit keeps: {counted} of "
                              "further hosts were counted, not kept; registry hosts the knowledge base or the "
                              "inputs name were still kept. Split the inputs to see them all.")
    if store.timeline_overflow:
        proposal.notes.append(f"Timing inference used only the first {len(store.timeline):,} connection starts: "
                              "split the capture or logs to analyse the rest.")
    if store.unresolved:
        examples = "; ".join(f"{u.text} at {u.source}" if u.source else u.text for u in store.unresolved[:3])
        proposal.notes.append(f"{plural(len(store.unresolved), 'reference')} could not be resolved (e.g. {examples}): "
                              "the hosts they need are not in this proposal; set the variables (--set, --env-file).")
    if target != DEFAULT_TARGET:
        _retarget_notes(proposal, target_named(target, mode))
    analysis = Analysis(store, knowledge, graph, required, proposal, budget, mode, count_docker_hub_default,
                        allowlist)
    analysis.options["target"] = target
    return analysis


def _retarget_notes(proposal: Proposal, target: Target) -> None:
    """RAM's notes (its Docker Hub switch and entry limit) do not hold elsewhere; say what does instead."""
    proposal.notes[:] = [n for n in proposal.notes if "RAM's built-in" not in n]
    proposal.notes.insert(0, f"Target {target.name} ({target.title}): {target.summary}")
