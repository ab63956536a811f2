"""A fleet's evidence: a shared host needed by many registries keeps a bounded, reproducible sample with counts.

120 ECR registries of one region (each seen with /v2/ requests in a Squid log) all chain to the region's
layer bucket; 80 self-hosted registries under one company domain collapse into one proposed entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from auditor.decisions.propose import MAX_RATIONALE_HOSTS
from auditor.decisions.requirements import MAX_CHAINS_KEPT, MAX_NEEDS_KEPT, MAX_REGISTRIES_KEPT
from reports.html import MAX_DIAGRAMS, chain_diagrams, chain_starts

ECR = [f"{100000000000 + i:012d}.dkr.ecr.us-east-1.amazonaws.com" for i in range(120)]
CORP = [f"registry{i}.build.corp.example" for i in range(80)]
BUCKET = "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com"


def _squid_log(path: Path) -> Path:
    lines = []
    for index, host in enumerate(ECR + CORP):
        lines.append(f"{1790000000 + index}.100    120 10.0.0.{index % 200} TCP_MISS/200 2345 GET "
                     f"https://{host}/v2/app/manifests/1.0 - HIER_DIRECT/{host} application/json")
    path.write_text("\n".join(lines) + "\n")
    return path


def _propose(log: Path) -> str:
    result = CliRunner().invoke(main, ["propose", str(log), "--format", "json", "--budget", "20"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_shared_host_keeps_the_first_needs_and_counts_them_all(tmp_path: Path) -> None:
    log = _squid_log(tmp_path / "access.log")
    text = _propose(log)
    assert text == _propose(log)  # the same inputs, the same sample, byte for byte
    required = {r["host"]: r for r in json.loads(text)["required"]}
    bucket = required[BUCKET]
    assert len(bucket["needed_by"]) == MAX_NEEDS_KEPT and bucket["needed_by_total"] == len(ECR)
    # the first registries in host order, each need the chain from that registry to the bucket
    assert [n["text"].split(" -> ")[0] for n in bucket["needed_by"]] == sorted(ECR)[:MAX_NEEDS_KEPT]
    assert len(bucket["chains"]) == MAX_CHAINS_KEPT and bucket["chains_total"] == len(ECR)
    assert [c[0] for c in bucket["chains"]] == sorted(ECR)[:MAX_CHAINS_KEPT]
    # every ECR host names itself (an observed /v2/ host) and the family: 121 registries, 50 kept
    assert bucket["registries_total"] == len(ECR) + 1 and len(bucket["registries"]) == MAX_REGISTRIES_KEPT
    assert bucket["registries"] == sorted(bucket["registries"])
    # a host with few needs is written as before: no totals
    one = required[ECR[0]]
    assert not {"needed_by_total", "chains_total", "registries_total"} & set(one)


def test_an_entry_for_many_hosts_explains_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    proposal = json.loads(_propose(_squid_log(tmp_path / "access.log")))
    big = [e for e in proposal["entries"] if len(e["covers"]) > MAX_RATIONALE_HOSTS]
    assert big, [(e["address"], len(e["covers"])) for e in proposal["entries"]]
    for entry in big:
        heads = [line for line in entry["rationale"] if not line.startswith(("  ", "..."))]
        assert len(heads) == MAX_RATIONALE_HOSTS
        assert entry["rationale"][-1].startswith(f"... and {len(entry['covers']) - MAX_RATIONALE_HOSTS:,} more")
        assert len(entry["sources"]) <= 50 and len(entry["registries"]) <= 50


def test_a_grouped_missing_finding_lists_a_sample_and_counts(tmp_path: Path) -> None:
    log = _squid_log(tmp_path / "access.log")
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("docker.io\n")
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", str(log), "--allowlist", str(allowlist), "--budget", "20",
                                       "--json", str(report)])
    assert result.exit_code in (0, 1), result.output
    findings = json.loads(report.read_text())["findings"]
    grouped = [f for f in findings if f["kind"] == "missing" and "hosts_total" in f["data"]]
    assert grouped
    for finding in grouped:
        assert finding["data"]["hosts_total"] == len(finding["hosts"]) > 50
        assert len(finding["data"]["hosts"]) == 50
        assert f"and {len(finding['hosts']) - 50:,} more." in finding["detail"]



def test_the_html_draws_the_first_registries_chains_and_counts_the_rest() -> None:
    required = [{"host": f"blobs.r{i:03d}.corp.example", "allowed_by": None,
                 "chains": [[f"r{i:03d}.corp.example", f"blobs.r{i:03d}.corp.example"]]} for i in range(150)]
    document = {"required": required, "redirect_edges": []}
    drawn = chain_diagrams(document)
    assert [d["start"] for d in drawn] == [f"r{i:03d}.corp.example" for i in range(MAX_DIAGRAMS)]
    assert chain_starts(document) - MAX_DIAGRAMS == 50


def test_per_host_notes_are_capped_with_a_count(tmp_path: Path) -> None:
    notes = json.loads(_propose(_squid_log(tmp_path / "access.log")))["notes"]
    unknown = [n for n in notes if n.startswith("UNKNOWN CHAIN for ")]
    # the 80 self-hosted registries have no known chain: 20 named, in host order, and one line for the rest
    assert [n.split(":")[0].removeprefix("UNKNOWN CHAIN for ") for n in unknown[:-1]] == sorted(CORP)[:20]
    assert unknown[-1].startswith(f"UNKNOWN CHAIN for {len(CORP) - 20:,} more hosts")


def test_an_over_broad_entry_lists_a_sample_of_what_it_covers(tmp_path: Path) -> None:
    log = _squid_log(tmp_path / "access.log")
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("amazonaws.com\n")
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", str(log), "--allowlist", str(allowlist), "--json", str(report)])
    assert result.exit_code in (0, 1), result.output
    (broad,) = [f for f in json.loads(report.read_text())["findings"] if f["kind"] == "over-broad"]
    # the 120 registries, their token host and their layer bucket are all under amazonaws.com
    assert broad["data"]["needed_under_total"] == len(ECR) + 2
    assert broad["data"]["needed_under"] == sorted([*ECR, BUCKET, "api.ecr.us-east-1.amazonaws.com"])[:50]
