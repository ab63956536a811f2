"""The machine bundles in every report format: the JSON `machines` section follows the schema, SARIF has a rule
per new kind and points at the bundle's line, CSV and Markdown carry the findings, HTML has one row per machine
with its state and reasons, and a hostile machine (folder) name stays inert."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from reports.csv_report import render_csv
from reports.html import render_html
from reports.json_report import SCHEMA_PATH
from reports.markdown import render_markdown
from reports.sarif import RULE_IDS, render_sarif
from tests.machine.bundle_builder import ALLOWLIST, BUNDLES, build_bundle

SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "audit" / "sarif" / "sarif-schema-2.1.0.json"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("fleet")
    build_bundle("mac-uppercase", root)
    build_bundle("win-windows-containers", root)
    shutil.copytree(BUNDLES / "linux-clean", root / HOSTILE_NAME)
    out = root.parent / "fleet.json"
    result = CliRunner().invoke(main, ["audit", str(root), "--allowlist", str(ALLOWLIST), "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8")), root


def test_json_machines_section_follows_the_schema(fleet: tuple[dict[str, Any], Path]) -> None:
    document, _ = fleet
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    machines = document["machines"]
    assert (machines["total"], machines["enforcing"]) == (3, 1)
    assert [row["name"] for row in machines["machines"]] == [HOSTILE_NAME, "mac-uppercase", "win-windows-containers"]
    assert document["summary"]["by_kind"]["sign-in"] == 1 and document["summary"]["by_kind"]["not-enforced"] == 1


def test_sarif_rules_and_locations_for_machine_findings(fleet: tuple[dict[str, Any], Path]) -> None:
    document, _ = fleet
    sarif = json.loads(render_sarif(document))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(sarif)
    rules = {r["properties"]["kind"]: r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["sign-in"] == RULE_IDS["sign-in"] and rules["bypass"] == RULE_IDS["bypass"]
    [result] = [r for r in sarif["runs"][0]["results"] if r["properties"]["kind"] == "sign-in"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("mac-uppercase/registry.json")
    assert location["region"] == {"startLine": 2}


def test_csv_and_markdown_carry_the_new_kinds(fleet: tuple[dict[str, Any], Path]) -> None:
    document, _ = fleet
    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    assert sorted(row["kind"] for row in rows) == ["not-enforced", "sign-in"]
    markdown = render_markdown(document)
    assert "**Machines:** 1 of 3 would enforce the allowlist today; stopped by engine/windows-containers (1), " \
           "sign-in/org-name (1)." in markdown
    assert "| sign-in |" in markdown


def test_html_machines_section_one_row_per_machine_and_inert(fleet: tuple[dict[str, Any], Path]) -> None:
    document, _ = fleet
    html = render_html(document)
    section = html[html.index('<section id="machines"'):]
    section = section[: section.index("</section>")]
    assert "Machines (1 of 3 would enforce the allowlist)" in section
    assert section.count("<tr class=\"state-") == 3
    assert 'class="state-not-enforced"' in section and 'class="state-enforced"' in section
    assert "&lt;img src=x onerror=alert(1)&gt;" in section and HOSTILE_NAME not in html
    sign_in = next(f for f in document["findings"] if f["kind"] == "sign-in")
    assert f'<a href="#{sign_in["id"]}">{sign_in["id"]}</a>' in section


def test_html_without_bundles_has_no_machines_section(tmp_path: Path) -> None:
    base = Path(__file__).parents[1] / "fixtures" / "audit" / "clean"
    out = tmp_path / "clean.json"
    CliRunner().invoke(main, ["audit", str(base), "--allowlist", str(base / "allowlist.txt"), "--json", str(out)])
    document = json.loads(out.read_text())
    assert document["machines"]["total"] == 0
    assert 'id="machines"' not in render_html(document)
