"""SARIF 2.1.0: findings as code-scanning results, tied to the file and line that causes them.

A missing host points at the Dockerfile FROM (or manifest line) that needs it; an allowlist finding at
the allowlist line; a blocked pattern at the log line. `partialFingerprints` carries the finding's
stable key so code-scanning services track a finding across runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from auditor.decisions.audit import FindingKind
from reports.json_text import dumps_indented

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES: dict[str, tuple[str, str]] = {
    FindingKind.MISSING.value: ("Required host not allowed",
                                "A registry, or a host a registry redirects to, is needed by a pull but not allowed."),
    FindingKind.UNUSED.value: ("Allowlist entry not needed", "No reference or observation needs this entry."),
    FindingKind.REDUNDANT.value: ("Allowlist entry covered by another", "Another entry already allows this name."),
    FindingKind.OVER_BROAD.value: ("Allowlist entry allows other tenants",
                                   "A public suffix or multi-tenant domain allows everyone's content."),
    FindingKind.OVER_LIMIT.value: ("Allowlist over the entry limit", "More entries than the budget (RAM: 100)."),
    FindingKind.BLOCKED_PATTERN.value: ("Blocked pull attempts", "Attempts the registry filter refused, grouped."),
    FindingKind.LOOKALIKE.value: ("Host imitates a registry",
                                  "A referenced or observed host imitates a well-known or approved registry host."),
    FindingKind.IMAGE_ACCESS.value: ("Docker Hub image access category",
                                     "Docker Hub references by Image Access Management category."),
    FindingKind.NOT_ENFORCED.value: ("Pull path outside Registry Access Management",
                                     "Inputs use a build or container path that RAM does not filter."),
}
RULE_IDS = {kind: f"RA{index:03d}" for index, kind in enumerate(RULES, 1)}


def _uri(path: str) -> str:
    text = path.replace("\\", "/")
    if text.startswith("/"):
        return "file://" + quote(text, safe="/")
    return quote(text, safe="/")


def _location(source: dict[str, Any]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(source["path"])}}
    if source.get("line"):
        physical["region"] = {"startLine": int(source["line"])}
    location: dict[str, Any] = {"physicalLocation": physical}
    if source.get("packet"):
        location["message"] = {"text": f"packet {int(source['packet'])}"}
    return location


def _result(finding: dict[str, Any], allowlist_path: str) -> dict[str, Any]:
    sources = [s for item in finding["evidence"] for s in item["sources"]]
    seen: set[tuple[str, int | None, int | None]] = set()
    locations = []
    for source in sources:
        key = (source["path"], source.get("line"), source.get("packet"))
        if key not in seen and source["path"]:
            seen.add(key)
            locations.append(_location(source))
    if not locations:  # SARIF viewers need a place: the allowlist is what the finding is about
        locations.append({"physicalLocation": {"artifactLocation": {"uri": _uri(allowlist_path)}}})
    return {
        "ruleId": RULE_IDS[finding["kind"]],
        "ruleIndex": list(RULES).index(finding["kind"]),
        "level": finding["severity"],
        "message": {"text": f"{finding['title']}. {finding['detail']} Action: {finding['action']}"},
        "locations": locations[:1],
        "relatedLocations": [dict(loc, id=index) for index, loc in enumerate(locations[1:20], 1)],
        "partialFingerprints": {"regauditKey/v1": finding["key"]},
        "properties": {"kind": finding["kind"], "entries": finding["entries"], "hosts": finding["hosts"],
                       "findingId": finding["id"]},
    }


def sarif_document(document: dict[str, Any]) -> dict[str, Any]:
    rules = [{
        "id": RULE_IDS[kind],
        "name": "".join(word.capitalize() for word in kind.split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "properties": {"kind": kind},
    } for kind, (short, full) in RULES.items()]
    artifacts = []
    for item in document["inputs"]:
        artifact: dict[str, Any] = {"location": {"uri": _uri(item["path"])}, "length": int(item["size"])}
        if item.get("sha256"):
            artifact["hashes"] = {"sha-256": item["sha256"]}
        artifacts.append(artifact)
    allowlist_path = document["allowlist"]["path"]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "regaudit", "version": document["regaudit_version"],
                                "semanticVersion": document["regaudit_version"], "rules": rules}},
            "invocations": [{"executionSuccessful": True,
                             "commandLine": " ".join(document["command_line"]),
                             "arguments": list(document["command_line"][1:])}],
            "artifacts": artifacts,
            "results": [_result(f, allowlist_path) for f in document["findings"]],
            "properties": {"timeWindow": document["time_window"], "allowlistSha256": document["allowlist"]["sha256"]},
        }],
    }


def render_sarif(document: dict[str, Any]) -> str:
    return dumps_indented(sarif_document(document), ensure_ascii=False) + "\n"
