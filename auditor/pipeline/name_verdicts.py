"""The judge of the store's names (auditor/store/verdicts.py): what a window read must keep of a long tail
although the knowledge base gives it no role.

A name is flagged when it imitates a well-known registry host (the audit's lookalike rules, against the
knowledge base's hosts) or looks like a self-hosted registry (the knowledge base's hints). Its version is the
hash of the knowledge base's files and of the lookalike rules' source, so a regaudit whose knowledge or rules
changed judges the store's names again.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from auditor.store.verdicts import Judge

LOOKALIKE = "lookalike"
SELF_HOSTED = "self-hosted"


@cache
def name_judge() -> Judge:
    from auditor.decisions import lookalike
    from auditor.knowledge import KNOWLEDGE_DIR

    digest = hashlib.sha256()
    for path in [*sorted(KNOWLEDGE_DIR.glob("*.yaml")), Path(lookalike.__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return Judge(digest.hexdigest()[:16], _decide)


def _decide(name: str) -> str | None:
    knowledge, well_known = _screen()
    # each name is judged once: its answer is not remembered (a store's millions would only churn the memo)
    if knowledge.match(name, remember=False) is not None:
        return None  # its role is in the cells already
    from auditor.decisions.lookalike import find_lookalike

    found = find_lookalike(name, well_known)
    if found is not None:
        return f"{LOOKALIKE} {found.imitates}"
    return SELF_HOSTED if knowledge.self_hosted_look(name) is not None else None


@cache
def _screen():  # type: ignore[no-untyped-def]
    from auditor.decisions.audit import DOCKER_HUB_REGISTRY
    from auditor.pipeline.collect import _knowledge

    knowledge = _knowledge()
    return knowledge, frozenset(knowledge.well_known_registry_hosts()) | {DOCKER_HUB_REGISTRY}
