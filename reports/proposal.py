"""Renderers of a Proposal: text (for people), CSV and Squid/hadolint (for tools), JSON (versioned schema)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from auditor import __version__
from auditor.core.allowlist import MatchMode
from auditor.core.gc_budget import fewer_collections
from auditor.decisions.analysis import Analysis
from auditor.decisions.propose import Proposal, ProposedEntry, rationale_lines
from auditor.decisions.requirements import RequiredHost
from auditor.knowledge import KnownHost
from auditor.targets import target_named
from auditor.targets.base import Rule, Scope, Target
from auditor.targets.hadolint import write_hadolint
from auditor.targets.k8s_admission import prefixes_for
from auditor.targets.proxy import write_squid
from reports.json_text import iter_indented_pieces, settled
from reports.serialize import sample_totals, source_dict

PROPOSAL_SCHEMA_VERSION = 2  # rises when a field is removed or renamed (reports/schemas/proposal.schema.json)


def render_text(proposal: Proposal) -> str:
    lines = [
        f"Proposed allowlist: {len(proposal.entries)} entr{'y' if len(proposal.entries) == 1 else 'ies'} "
        f"(budget {proposal.effective_budget}, {proposal.mode.value} matching)"
        + ("  OVER BUDGET" if proposal.over_budget else ""),
        "",
    ]
    for entry in proposal.entries:
        flags = []
        if entry.collapsed:
            flags.append(f"COLLAPSED from {len(entry.covers)}")
        if entry.multi_tenant_reason:
            flags.append("PUBLIC SUFFIX" if entry.public_suffix else "MULTI-TENANT")
        flag_text = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"{entry.address}{flag_text}")
        lines.append(f"    roles: {', '.join(entry.roles)}; registries: {', '.join(entry.registries) or '-'}; "
                     f"confidence: {entry.confidence.value}")
        lines.append(f"    covers: {', '.join(entry.covers)}")
        lines.append(f"    also allows: {entry.also_allows}")
        if entry.multi_tenant_reason:
            lines.append(f"    multi-tenant: {entry.multi_tenant_reason}")
        lines.extend(f"    {line}" for line in entry.rationale)
        lines.append("")
    index = {r.host: r for r in proposal.required}
    if proposal.uncovered:
        lines.append("Required but not expressible without allowing other tenants (observe or mirror):")
        for item in proposal.uncovered:
            lines.append(f"{item.requirement.host}")
            lines.append(f"    why not listed: {item.reason}")
            lines.extend(f"    {line}" for line in rationale_lines([item.requirement], index))
        lines.append("")
    if proposal.notes:
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in proposal.notes)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_csv(proposal: Proposal) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["address", "nickname", "rationale", "covers", "collapsed", "also_allows", "multi_tenant",
                     "confidence", "sources"])
    for entry in proposal.entries:
        writer.writerow([entry.address, _nickname(entry), " | ".join(" ".join(r.split()) for r in entry.rationale),
                         " ".join(entry.covers), "yes" if entry.collapsed else "no", entry.also_allows,
                         entry.multi_tenant_reason or "", entry.confidence.value, " | ".join(entry.sources)])
    return buffer.getvalue()


def _nickname(entry: ProposedEntry) -> str:
    return f"{'/'.join(entry.roles)} {', '.join(entry.registries)}".strip()[:100]


def render_squid(proposal: Proposal, acl_name: str = "regaudit_allowed") -> str:
    warnings = ("OVER BUDGET", "MULTI-TENANT", "PUBLIC SUFFIX", "NOT COVERED")
    header = [f"# {note}" for note in proposal.notes if note.startswith(warnings)]
    body = write_squid(proposal.allowlist_entries(), proposal.mode, acl_name)
    return "\n".join(" ".join(line.split()) for line in header) + ("\n" if header else "") + body


def render_hadolint(proposal: Proposal) -> str:
    registries = proposal.image_registries()
    notes = ["Only image registries are listed: hadolint checks the registry of FROM images and cannot express",
             "token, blob or CDN hosts; use the text/squid output for the network allowlist."]
    if proposal.mode is MatchMode.SUFFIX:
        notes.append("hadolint compares registry names exactly, unlike suffix-matching RAM entries.")
    return write_hadolint(registries, notes)


def render_json(proposal: Proposal) -> str:
    """The proposal as JSON (schema version 2), as one text (see render_json_pieces)."""
    return "".join(settled(render_json_pieces(proposal)))


def render_json_pieces(proposal: Proposal) -> Iterator[str]:
    """The proposal as JSON (schema version 2), in pieces as they are made (write_output writes each and lets
    it go; a Restart piece voids the ones before it, see iter_indented_pieces).

    Each knowledge fact is written once, in `knowledge_facts`; a required host names its facts by position there
    (at 10^5 hosts the same ECR fact per host was half the file). The required hosts are encoded a chunk at a
    time: the text is what the whole document would give, with neither a dict per host nor the whole text
    (100 MB at 10^5 hosts) held at once."""
    facts: dict[tuple[str, ...], int] = {}
    for required in proposal.required:
        for known in required.knowledge:
            facts.setdefault(_fact_key(known), len(facts))
    document = {
        "schema": "regaudit/proposal",
        "version": PROPOSAL_SCHEMA_VERSION,
        "regaudit_version": __version__,
        "budget": proposal.budget,
        "effective_budget": proposal.effective_budget,
        "match": proposal.mode.value,
        "count_docker_hub_default": proposal.count_docker_hub_default,
        "over_budget": proposal.over_budget,
        "entries": [_entry_dict(e) for e in proposal.entries],
        "uncovered": [{"host": u.requirement.host, "reason": u.reason} for u in proposal.uncovered],
        "required": [],
        "knowledge_facts": [dict(zip(_FACT_FIELDS, key, strict=True)) for key in facts],
        "notes": list(proposal.notes),
    }
    with fewer_collections():
        yield from iter_indented_pieces(document, "required", proposal.required,
                                        lambda required: _required_dict(required, facts))
    yield "\n"


_FACT_FIELDS = ("profile", "host", "role", "source", "checked", "confidence", "note")


def _fact_key(known: KnownHost) -> tuple[str, ...]:
    return (known.profile, known.host_or_pattern, known.role, known.source, known.checked, known.confidence.value,
            known.note)


def _entry_dict(entry: ProposedEntry) -> dict[str, object]:
    return {
        "address": entry.address,
        "covers": list(entry.covers),
        "collapsed": entry.collapsed,
        "also_allows": entry.also_allows,
        "multi_tenant_reason": entry.multi_tenant_reason,
        "confidence": entry.confidence.value,
        "roles": list(entry.roles),
        "registries": list(entry.registries),
        "rationale": list(entry.rationale),
        "sources": list(entry.sources),
    }


def _required_dict(required: RequiredHost, facts: dict[tuple[str, ...], int]) -> dict[str, object]:
    return {
        "host": required.host,
        "wildcard": required.wildcard,
        "roles": sorted(required.roles),
        "registries": sorted(required.registries),
        "confidence": required.confidence.value,
        "unknown_chain": required.unknown_chain,
        "chains": [list(c) for c in required.chains],
        "cname_targets": list(required.cname_targets),
        "needed_by": [{"kind": n.kind, "text": n.text, "context": n.context, "source": source_dict(n.source)}
                      for n in required.needed_by],
        "knowledge": [facts[_fact_key(k)] for k in required.knowledge],
        "notes": list(required.notes),
        **sample_totals(required),
    }


def proposal_rules(proposal: Proposal) -> list[Rule]:
    """The proposal's entries as rules, each as narrow as what it covers.

    A suffix entry that covers only its own name is exact on targets that can say so (Squid, RPZ,
    harden-runner): only an entry that stands for names below it reaches its subdomains.
    """
    def scope(entry: ProposedEntry) -> Scope:
        return Scope.SUBTREE if proposal.mode is MatchMode.SUFFIX and entry.reaches_below else Scope.EXACT

    return [Rule(e.address, scope(e), _nickname(e), e.allowlist_entry().rationale) for e in proposal.entries]


def image_prefix_rules(analysis: Analysis) -> list[Rule]:
    """Admission prefixes: the repository namespace of every image the evidence names."""
    return prefixes_for(analysis.store.sorted_references())


def native_rules(analysis: Analysis, target: Target) -> list[Rule]:
    if target.matches_images:
        return image_prefix_rules(analysis)
    if target.name == "hadolint":
        return [Rule(name, Scope.EXACT) for name in analysis.proposal.image_registries()]
    return proposal_rules(analysis.proposal)


def render_native(analysis: Analysis, target_name: str, output_format: str | None = None) -> str:
    """The proposal in TARGET_NAME's own configuration format, with the proposal's warnings on top."""
    target = target_named(target_name, analysis.mode)
    warnings = ("OVER BUDGET", "MULTI-TENANT", "PUBLIC SUFFIX", "NOT COVERED")
    comment = ";" if target.name == "dns" and (output_format or target.default_format) == "rpz" else "#"
    header = [f"{comment} {' '.join(n.split())}" for n in analysis.proposal.notes if n.startswith(warnings)
              and not target.matches_images and target.name != "hadolint"]  # host warnings: not theirs
    return "".join(line + "\n" for line in header) + target.write(native_rules(analysis, target), output_format)


def render_proposal(analysis: Analysis, output_format: str, target_name: str) -> str | Iterator[str]:
    """The proposal in OUTPUT_FORMAT; JSON as pieces of text as they are made (a big proposal's text is never held
    whole), for write_output."""
    if output_format == "native":
        return render_native(analysis, target_name)
    if output_format == "json":
        return render_json_pieces(analysis.proposal)
    return RENDERERS[output_format](analysis.proposal)


RENDERERS = {"text": render_text, "csv": render_csv, "json": render_json, "squid": render_squid,
             "hadolint": render_hadolint}
