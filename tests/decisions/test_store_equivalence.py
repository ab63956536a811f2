"""The compact evidence store and the streamed renderers give the outputs the earlier code gave, on every scenario.

tests/fixtures/equivalence/<scenario>/ holds what discover (JSON), propose (JSON and text) and audit (JSON, CSV,
SARIF, Markdown) wrote on each audit fixture, the shipped example, the traffic and log fixtures and a generated
fleet, written by `python -m tests.decisions.scenario_outputs` from the code before the columnar store (commit
"Golden outputs ..." on this branch). Every run today must give the same text, exit status included; the
deliberate changes are the proposal's schema version 2 (knowledge facts written once, named by position), which
must read back as exactly the version-1 document, and fleet's discover and audit JSON rewritten once when a
Squid request's path stopped being part of its observation (only whether it calls /v2/ is kept): the fleet log's
manifest and blob line of each host are one record now, so that input yields 1,250 records, not 2,500, and each
host keeps its first line as its sample, not both. And one more: the audit JSON lists the first 50 hosts a proposed
entry covers, with `covers_total` beside them when there are more (the fleet's `example` covers 625), as its other
lists do; the golden audit JSON is read with that cut applied (`with_covers_sampled`).
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


def with_covers_sampled(text: str) -> str:
    """A golden audit JSON (blanked as scenario_outputs blanks it) as today's: each entry's covers cut to the
    first MAX_COVERS_LISTED, covers_total after them when cut."""
    from reports.json_report import MAX_COVERS_LISTED

    document = json.loads(text)
    for number, entry in enumerate(document["proposal"]["entries"]):
        covers = entry["covers"]
        if len(covers) > MAX_COVERS_LISTED:
            cut = {}
            for key, value in entry.items():
                cut[key] = covers[:MAX_COVERS_LISTED] if key == "covers" else value
                if key == "covers":
                    cut["covers_total"] = len(covers)
            document["proposal"]["entries"][number] = cut
    return json.dumps(document, indent=2) + "\n"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outputs_equal_the_golden_ones(tmp_path: Path, scenario: str) -> None:
    golden = read_golden(scenario)
    today = scenario_outputs(scenario, tmp_path)
    today["proposal.json"] = as_version_1(today["proposal.json"])
    if "audit.json" in golden:
        golden["audit.json"] = with_covers_sampled(golden["audit.json"])
    assert sorted(today) == sorted(golden)
    for name in sorted(golden):
        assert today[name] == golden[name], f"{scenario}/{name} differs from the golden output"


def test_a_fleet_audit_lists_a_sample_of_what_an_entry_covers_and_counts_the_rest(tmp_path: Path) -> None:
    """The fleet's `example` entry covers 625 hosts: the audit JSON names the first 50 in sort order, says 625, and
    its proposal still validates against the published schema (the blanked times of the rest would not)."""
    import jsonschema

    from reports.json_report import MAX_COVERS_LISTED

    document = json.loads(scenario_outputs("fleet", tmp_path)["audit.json"])
    schema = json.loads((Path(__file__).parents[2] / "reports/schemas/audit.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document["proposal"], schema["properties"]["proposal"])
    cut = [e for e in document["proposal"]["entries"] if "covers_total" in e]
    assert cut and all(len(e["covers"]) == MAX_COVERS_LISTED < e["covers_total"] for e in cut)
    assert all(e["covers"] == sorted(e["covers"]) for e in cut)
    [example] = [e for e in cut if e["address"] == "example"]
    assert example["covers_total"] == 625
    whole = [e for e in document["proposal"]["entries"] if "covers_total" not in e]
    assert whole and all(len(e["covers"]) <= MAX_COVERS_LISTED for e in whole)


def test_the_html_proposal_table_says_how_many_hosts_a_cut_entry_covers(tmp_path: Path) -> None:
    """The HTML shows the audit JSON's sample of covered hosts: where it was cut, it says how many there are."""
    from reports.html import render_html

    document = json.loads(scenario_outputs("fleet", tmp_path)["audit.json"])
    page = render_html(document)
    assert "covers 625 hosts, among them " in page
    counted = sum(1 for e in document["proposal"]["entries"] if "covers_total" in e)
    assert page.count(" hosts, among them ") == counted
