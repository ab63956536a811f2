"""Findings for Kubernetes admission allowlists, whose entries are image-name prefixes, not hosts.

Admission (Gatekeeper `K8sAllowedRepos`, Kyverno) compares the image string as the Pod spec writes it. So
an image is judged as written (`nginx:1.27` is not admitted by `docker.io/library/`), and a prefix without a
trailing `/` is over-broad: it admits every repository and registry whose name merely starts with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from auditor.core.allowlist import Allowlist
from auditor.core.evidence import EvidenceStore
from auditor.core.model import ImageReference, Source
from auditor.decisions.recommend import Change, Op, Recommendation
from auditor.targets.base import Target
from auditor.targets.k8s_admission import admits, namespace_prefix, normalize_prefix, workload_references


@dataclass(frozen=True)
class Problem:
    """One admission finding, in the words of audit.Finding (which wraps it: no import back from here)."""

    kind: str
    severity: str
    title: str
    detail: str
    action: str
    entries: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    evidence: tuple[tuple[str, tuple[Source, ...]], ...] = ()
    data: dict[str, Any] = field(default_factory=dict, hash=False)


def admission_problems(store: EvidenceStore, allowlist: Allowlist, target: Target) -> list[Problem]:
    prefixes = [(e, e.original.strip()) for e in allowlist]
    findings: list[Problem] = []
    denied: dict[str, list[ImageReference]] = defaultdict(list)
    used: set[str] = set()
    for ref in workload_references(store.sorted_references()):
        hits = [p for _, p in prefixes if admits(p, ref.original)]
        # a prefix that would admit the image written fully is wanted: the fix is in the Pod spec
        used.update(hits or [p for _, p in prefixes if admits(p, ref.canonical)])
        if not hits:
            denied[namespace_prefix(ref)].append(ref)
    for namespace, refs in sorted(denied.items()):
        originals = sorted({r.original for r in refs})
        short = [o for o in originals if not o.startswith(namespace.split("/", 1)[0] + "/")]
        normalized_ok = any(admits(p, r.canonical) for r in refs for _, p in prefixes)
        detail = (f"{len(originals)} image(s) under `{namespace}` would be denied at admission: "
                  f"{', '.join(originals[:5])}.")
        if short and normalized_ok:
            detail += (" They are written without their registry; admission compares the text as written, so the "
                       "allowed prefix does not match until the Pod names the image fully.")
        action = (f"Write the images fully (e.g. `{refs[0].canonical}`) in the Pod specs." if short and normalized_ok
                  else f"Add `{namespace}` to the admission allowlist, or move the images to an approved repository.")
        findings.append(Problem(
            "missing", "error", f"images under {namespace} are not admitted", detail, action,
            hosts=(namespace,),
            evidence=tuple((f"{r.original} ({r.context or 'reference'})", (r.source,) if r.source else ())
                           for r in refs[:20]),
            data={"images": originals[:50], "prefix": namespace, "written_short": short[:50],
                  "fix_in": "pod-spec" if short and normalized_ok else "allowlist"},
        ))
    for entry, prefix in prefixes:
        source = (Source(allowlist.path or "allowlist", entry.line, parser="allowlist"),)
        problem = target.validate(prefix)
        if problem is not None:
            fixed = normalize_prefix(prefix)
            findings.append(Problem(
                "over-broad", "error", f"{prefix} admits more than its repository",
                problem + ".", f"Replace `{prefix}` with `{fixed}`.", entries=(prefix,), hosts=(fixed,),
                evidence=((f"allowlist line {entry.line}: {entry.original}", source),),
                data={"prefix": prefix, "normalized": fixed},
            ))
        if prefix not in used:
            findings.append(Problem(
                "unused", "warning", f"{prefix} admits no image the evidence names",
                f"No workload image reference in the inputs (Kubernetes manifests, Helm values) starts with "
                f"`{prefix}`.",
                f"Remove `{entry.address}`{_as_written(entry.address, prefix)} unless a workload outside these "
                "inputs needs it.", entries=(prefix,),
                evidence=((f"allowlist line {entry.line}: {entry.original}", source),), data={},
            ))
    return findings


def admission_recommendation(findings: list[Any], allowlist: Allowlist) -> Recommendation:
    """The change an admission allowlist needs, read from its own findings: its entries are image prefixes, so
    the host proposal cannot say what stays (a host allowlist used as prefixes admits nothing the Pods write).
    Each finding's `changes` names what it asks, so the actions and the difference are one decision."""
    rec = Recommendation()
    unused = {f.entries[0] for f in findings if f.kind.value == "unused" and f.entries}
    narrowed = {f.entries[0]: f.data["normalized"] for f in findings
                if f.kind.value == "over-broad" and f.entries and "normalized" in f.data}
    for entry in allowlist:
        prefix = entry.original.strip()
        if entry.address in rec.changes:
            continue
        if prefix in unused:
            rec.changes[entry.address] = Change(entry.address, Op.REMOVE, "it admits no image the evidence names")
        elif prefix in narrowed:
            rec.changes[entry.address] = Change(entry.address, Op.REMOVE,
                                                f"it admits more than its repository; `{narrowed[prefix]}` replaces it")
        else:
            rec.changes[entry.address] = Change(entry.address, Op.KEEP, "it admits images the evidence names")
    for prefix, fixed in sorted(narrowed.items()):
        if prefix not in unused and fixed not in rec.changes:
            rec.changes[fixed] = Change(fixed, Op.ADD, f"the repository prefix `{prefix}` stood for")
    for finding in findings:
        if finding.kind.value == "missing" and finding.data.get("fix_in") == "allowlist":
            prefix = finding.data["prefix"]
            if prefix not in rec.changes:
                rec.changes[prefix] = Change(prefix, Op.ADD, f"images under `{prefix}` would be denied at admission")
    address_of = {e.original.strip(): e.address for e in allowlist}
    for finding in findings:
        kind = finding.kind.value
        if kind == "blocked-pattern" and finding.action:  # a proxy's or resolver's block: hosts, not image names
            action = finding.action[0].lower() + finding.action[1:]
            finding.action = ("At the proxy or DNS filter that blocked these attempts, not in this admission "
                              f"allowlist (admission compares image names, not hosts) — {action}")
            continue
        if kind == "unused" and finding.entries:
            finding.data["changes"] = [{"op": "remove", "address": address_of[finding.entries[0]]}]
        elif kind == "over-broad" and finding.entries and finding.entries[0] not in unused:
            finding.data["changes"] = [{"op": "remove", "address": address_of[finding.entries[0]]},
                                       {"op": "add" if rec.op(finding.data["normalized"]) is Op.ADD else "keep",
                                        "address": finding.data["normalized"]}]
        elif kind == "over-broad" and finding.entries:  # unused as well: the unused finding removes it
            address = address_of[finding.entries[0]]
            finding.action = (f"Remove `{address}`{_as_written(address, finding.entries[0])} (see its unused "
                              "finding): it admits no image here.")
            finding.data["changes"] = []
        elif kind == "missing" and finding.data.get("fix_in") == "allowlist":
            finding.data["changes"] = [{"op": "add", "address": finding.data["prefix"]}]
    return rec


def _as_written(address: str, prefix: str) -> str:
    return f" (written {prefix})" if prefix != address else ""
