"""Allowlist audit checks at scale: redundancy, coverage (missing/unused) and over-broad on N entries.

    python -m benchmarks.allowlist_bench [--entries 10000]

The entries mix registry hosts, their subdomains (so redundancy has work) and unrelated names; the evidence is
the audit fixtures' repositories. Prints the time of reading the allowlist and of the findings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from auditor.core.allowlist import MatchMode, read_allowlist
from auditor.decisions import audit as audit_module
from auditor.decisions.analysis import analyse
from auditor.decisions.audit import AuditOptions, audit
from auditor.pipeline.collect import CollectOptions, collect

REPO = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audit"


def entries(count: int) -> list[str]:
    names = ["ghcr.io", "pkg-containers.githubusercontent.com", "docker.io", "amazonaws.com"]
    for n in range(count - len(names)):
        if n % 3 == 0:
            names.append(f"r{n}.s3.amazonaws.com")  # covered by amazonaws.com: redundant
        elif n % 3 == 1:
            names.append(f"team{n}.registry.example{n % 97}.com")
        else:
            names.append(f"mirror{n}.corp{n % 13}.internal")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args(argv)
    store = collect([str(REPO / "missing" / "repo"), str(REPO / "over-broad" / "repo")],
                    CollectOptions(variables={}, show_progress=False))
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "allowlist.txt"
        path.write_text("\n".join(entries(args.entries)) + "\n")
        started = time.perf_counter()
        allowlist, errors = read_allowlist(path)
        read = time.perf_counter() - started
    options = AuditOptions(MatchMode.SUFFIX, 100, False, ())
    analysis = analyse(store, budget=100, mode=MatchMode.SUFFIX, count_docker_hub_default=False, allowlist=allowlist)
    started = time.perf_counter()
    findings = audit(analysis, allowlist, options)
    checked = time.perf_counter() - started
    timed = {}
    for name, call in (
            ("missing", lambda: audit_module._missing(list(analysis.required), allowlist, options, store,
                                                      analysis.proposal)),
            ("unused", lambda: audit_module._unused(list(analysis.required), allowlist, options, store)),
            ("redundant", lambda: audit_module._redundant(allowlist, options)),
            ("over-broad", lambda: audit_module._over_broad(allowlist, options, analysis.knowledge,
                                                            analysis.proposal, list(analysis.required)))):
        started = time.perf_counter()
        call()
        timed[name] = time.perf_counter() - started
    print("redundancy and coverage checks: " + ", ".join(f"{k} {v:.3f} s" for k, v in timed.items())
          + f"; together {sum(timed.values()):.2f} s")
    kinds: dict[str, int] = {}
    for finding in findings:
        kinds[finding.kind.value] = kinds.get(finding.kind.value, 0) + 1
    print(f"entries {len(allowlist):,} ({len(errors)} read errors): read {read:.2f} s, "
          f"all findings {checked:.2f} s")
    print("findings: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
