"""The compact evidence store and the streamed renderers give the outputs the earlier code gave, on every scenario.

tests/fixtures/equivalence/<scenario>/ holds what discover (JSON), propose (JSON and text) and audit (JSON, CSV,
SARIF, Markdown) wrote on each audit fixture, the shipped example, the traffic and log fixtures and a generated
fleet, written by `python -m tests.decisions.scenario_outputs` from the code before the columnar store (commit
"Golden outputs ..." on this branch). Every run today must give the same text, exit status included; the
deliberate changes are the proposal's schema version 2 (knowledge facts written once, named by position), which
must read back as exactly the version-1 document, and fleet's discover and audit JSON rewritten once when a
Squid request's path stopped being part of its observation (only whether it calls /v2/ is kept): the fleet log's
manifest and blob line of each host are one record now, so that input yields 1,250 records, not 2,500, and each
host keeps its first line as its sample, not both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.decisions.scenario_outputs import SCENARIOS, read_golden, scenario_outputs


def as_version_1(text: str) -> str:
    """A version-2 proposal (blanked as scenario_outputs blanks it) as the version-1 document it stands for."""
    document = json.loads(text)
    assert document["version"] == 2
    facts = document.pop("knowledge_facts")
    assert len({json.dumps(f, sort_keys=True) for f in facts}) == len(facts)  # each fact once
    for required in document["required"]:
        required["knowledge"] = [facts[index] for index in required["knowledge"]]
    document["version"] = 1
    return json.dumps(document, indent=2) + "\n"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outputs_equal_the_golden_ones(tmp_path: Path, scenario: str) -> None:
    golden = read_golden(scenario)
    today = scenario_outputs(scenario, tmp_path)
    today["proposal.json"] = as_version_1(today["proposal.json"])
    assert sorted(today) == sorted(golden)
    for name in sorted(golden):
        assert today[name] == golden[name], f"{scenario}/{name} differs from the golden output"
