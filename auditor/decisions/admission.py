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
            data={"images": originals[:50], "prefix": namespace, "written_short": short[:50]},
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
                f"Remove `{prefix}` unless a workload outside these inputs needs it.", entries=(prefix,),
                evidence=((f"allowlist line {entry.line}: {entry.original}", source),), data={},
            ))
    return findings
