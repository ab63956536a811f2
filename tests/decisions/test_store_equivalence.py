"""The compact evidence store and the streamed renderers give the outputs the earlier code gave, on every scenario.

tests/fixtures/equivalence/<scenario>/ holds what discover (JSON), propose (JSON and text) and audit (JSON, CSV,
SARIF, Markdown) wrote on each audit fixture, the shipped example, the traffic and log fixtures and a generated
fleet, written by `python -m tests.decisions.scenario_outputs` from the code before the columnar store (commit
"Golden outputs ..." on this branch). Every run today must give the same text, exit status included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.decisions.scenario_outputs import SCENARIOS, read_golden, scenario_outputs


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outputs_equal_the_golden_ones(tmp_path: Path, scenario: str) -> None:
    golden = read_golden(scenario)
    today = scenario_outputs(scenario, tmp_path)
    assert sorted(today) == sorted(golden)
    for name in sorted(golden):
        assert today[name] == golden[name], f"{scenario}/{name} differs from the golden output"
