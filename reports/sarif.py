"""SARIF 2.1.0: findings as code-scanning results, tied to the file and line that causes them.

A missing host points at the Dockerfile FROM (or manifest line) that needs it; an allowlist finding at
the allowlist line; a blocked pattern at the log line. `partialFingerprints` carries the finding's
stable key so code-scanning services track a finding across runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from auditor.decisions.audit import FindingKind
from reports.headline import judged_for
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
    FindingKind.EXPIRED_IGNORE.value: ("Ignore rule expired",
                                       "An ignore rule of the config file is past its expiry date and no longer "
                                       "accepts anything."),
    FindingKind.SIGN_IN.value: ("Docker Desktop sign-in not enforced or misconfigured",
                                "Without sign-in enforced to the right org, RAM does not apply on the machine."),
    FindingKind.BYPASS.value: ("Way around Registry Access Management on a machine",
                               "Hosts file, local proxy, unlocked settings, insecure registries, docker load."),
    FindingKind.NETWORK_ENTRY.value: ("Allowlist entry is an address range",
                                      "A CIDR block or address range: RAM matches host names, so it allows nothing."),
    FindingKind.DUPLICATE.value: ("Allowlist entry listed twice", "The same address appears more than once."),
}
# Code-scanning services rank results by this (GitHub: 9.0+ critical, 7.0+ high, 4.0+ medium, else low): what an
# attacker gains from the finding, or how many pulls it breaks.
SECURITY_SEVERITY = {
    FindingKind.LOOKALIKE.value: "9.0", FindingKind.OVER_BROAD.value: "8.0", FindingKind.NOT_ENFORCED.value: "7.5",
    FindingKind.MISSING.value: "7.0", FindingKind.BLOCKED_PATTERN.value: "5.0", FindingKind.OVER_LIMIT.value: "5.0",
    FindingKind.EXPIRED_IGNORE.value: "4.0", FindingKind.UNUSED.value: "3.0", FindingKind.IMAGE_ACCESS.value: "3.0",
    FindingKind.REDUNDANT.value: "1.0",
}
DEFAULT_SECURITY_SEVERITY = "5.0"
# Where each rule is explained (docs/audit.md). `.invalid` as in the schema ids, until the docs have a published home.
HELP_URI = "https://regaudit.invalid/docs/audit.md#finding-kinds"


def _rules() -> dict[str, tuple[str, str]]:
    """Every finding kind's rule, in FindingKind order; a kind without its own text gets a plain one."""
    return {kind.value: RULES.get(kind.value, (kind.value.replace("-", " ").capitalize(), f"A {kind.value} finding."))
            for kind in FindingKind}


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


# kinds whose verdict depends on how the enforcement point matches entries: their message names it
_MATCH_DEPENDENT = frozenset({FindingKind.MISSING.value, FindingKind.UNUSED.value, FindingKind.REDUNDANT.value,
                              FindingKind.OVER_BROAD.value, FindingKind.OVER_LIMIT.value,
                              FindingKind.NETWORK_ENTRY.value})


def _result(finding: dict[str, Any], allowlist_path: str, where: str = "") -> dict[str, Any]:
    judged = f" (Judged for {where}.)" if where and finding["kind"] in _MATCH_DEPENDENT else ""
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
    kinds = list(_rules())
    result: dict[str, Any] = {
        "ruleId": _rule_id(finding["kind"]),
        "ruleIndex": kinds.index(finding["kind"]),
        "level": finding["severity"],
        "message": {"text": f"{finding['title']}. {finding['detail']} Action: {finding['action']}{judged}"},
        "locations": locations[:1],
        "relatedLocations": [dict(loc, id=index) for index, loc in enumerate(locations[1:20], 1)],
        "partialFingerprints": {"regauditKey/v1": finding["key"]},
        "properties": {"kind": finding["kind"], "entries": finding["entries"], "hosts": finding["hosts"],
                       "findingId": finding["id"], "target": finding["data"].get("target", "ram")},
    }
    accepted = finding.get("accepted")
    if accepted:  # code scanning shows it as dismissed, with the justification, instead of as an open alert
        justification = f"{accepted['reason']} ({accepted['by']}"
        justification += f", until {accepted['expires']})" if accepted.get("expires") else ")"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


def _rule_id(kind: str) -> str:
    return f"RA{list(_rules()).index(kind) + 1:03d}"


RULE_IDS = {kind: _rule_id(kind) for kind in _rules()}  # finding kind -> SARIF rule id, in FindingKind order


def sarif_document(document: dict[str, Any]) -> dict[str, Any]:
    rules = [{
        "id": _rule_id(kind),
        "name": "".join(word.capitalize() for word in kind.split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "helpUri": HELP_URI,
        "help": {"text": f"{full} See docs/audit.md, finding kind `{kind}`, for what it means, the evidence it "
                         "carries and how to act on it.",
                 "markdown": f"{full}\n\nSee [docs/audit.md]({HELP_URI}), finding kind `{kind}`: what it means, "
                             "the evidence it carries and how to act on it."},
        "properties": {"kind": kind, "security-severity": SECURITY_SEVERITY.get(kind, DEFAULT_SECURITY_SEVERITY),
                       "tags": ["security", "container-registry"]},
    } for kind, (short, full) in _rules().items()]
    artifacts = []
    for item in document["inputs"]:
        artifact: dict[str, Any] = {"location": {"uri": _uri(item["path"])}, "length": int(item["size"])}
        if item.get("sha256"):
            artifact["hashes"] = {"sha-256": item["sha256"]}
        artifacts.append(artifact)
    allowlist_path = document["allowlist"]["path"]
    options = document["options"]
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
            "results": [_result(f, allowlist_path, judged_for(document)) for f in document["findings"]],
            "properties": {"timeWindow": document["time_window"], "allowlistSha256": document["allowlist"]["sha256"],
                           "target": options.get("target") or "ram", "judgedFor": judged_for(document)},
        }],
    }


def render_sarif(document: dict[str, Any]) -> str:
    return dumps_indented(sarif_document(document), ensure_ascii=False) + "\n"
