"""Done-when: five months ingested one file at a time (a rotated .gz copy, a grown build log, a repeated file,
a re-ingested repository) give exact counts, and a windowed audit flags exactly the entries whose last use is
older than the window, each with its last-use date."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import REPO_ROOT
from tests.store.logs import epoch, job_header, job_lines, write_zeek, zeek_lines

GITLAB = "registry.gitlab.com"


class Scenario:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = root / "regaudit.db"
        self.runner = CliRunner()
        self.outputs: list[str] = []

    def run(self, *args: str, on: str = "2026-12-01T06:00:00") -> str:
        env = {"SOURCE_DATE_EPOCH": str(int(epoch(on))), "REGAUDIT_STORE": str(self.store)}
        result = self.runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def ingest(self, path: Path, on: str) -> str:
        out = self.run("ingest", str(path), on=on)
        self.outputs.append(out)
        return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    s = Scenario(tmp_path_factory.mktemp("five-months"))
    d = s.root
    v1 = d / "allowlist-v1.txt"
    v1.write_text("ghcr.io\npkg-containers.githubusercontent.com\nquay.io\ngcr.io\n", encoding="utf-8")
    v2 = d / "allowlist.txt"
    v2.write_text(v1.read_text(encoding="utf-8") + "mcr.microsoft.com\n", encoding="utf-8")
    repo = d / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM ghcr.io/acme/api:1.0\n", encoding="utf-8")
    assert "allowlist" in s.run("ingest", "--allowlist", str(v1), str(repo), on="2026-07-01T08:00:00")

    july = write_zeek(d / "dns-2026-07.log", [
        ("2026-07-05T09:00:00", "10.0.0.1", "quay.io"),
        ("2026-07-10T09:00:00", "10.0.0.1", "ghcr.io"), ("2026-07-10T09:05:00", "10.0.0.1", "ghcr.io"),
        ("2026-07-20T09:00:00", "10.0.0.4", "gcr.io")])
    assert s.ingest(july, "2026-08-01T01:00:00").startswith("ingested")
    build = d / "build.log"
    build.write_text(job_header("2026-08-01T10:00:00") + job_lines([("2026-08-01T10:00:01", GITLAB)] * 5),
                     encoding="utf-8")
    assert s.ingest(build, "2026-08-01T11:00:00").startswith("ingested")

    august = write_zeek(d / "dns-2026-08.log", [
        ("2026-08-01T09:00:00", "10.0.0.1", "quay.io"),
        ("2026-08-15T09:00:00", "10.0.0.1", "quay.io"), ("2026-08-15T09:01:00", "10.0.0.2", "quay.io"),
        ("2026-08-15T09:02:00", "10.0.0.3", "quay.io"),
        ("2026-08-20T09:00:00", "10.0.0.2", "ghcr.io")])
    assert s.ingest(august, "2026-09-01T01:00:00").startswith("ingested")
    rotated = d / "dns-2026-08.log.1.gz"  # logrotate's compressed copy: the same content, not counted again
    with open(august, "rb") as src, gzip.open(rotated, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert s.ingest(rotated, "2026-09-01T02:00:00").startswith("already")
    assert "unchanged" in s.run("ingest", str(repo), on="2026-09-01T03:00:00")  # the same tree again

    september = write_zeek(d / "dns-2026-09.log", [
        ("2026-09-10T09:00:00", "10.0.0.4", "gcr.io"), ("2026-09-12T09:00:00", "10.0.0.1", "ghcr.io")])
    assert s.ingest(september, "2026-10-01T01:00:00").startswith("ingested")
    assert s.ingest(september, "2026-10-01T01:30:00").startswith("already")  # the same file named again
    assert "allowlist" in s.run("ingest", "--allowlist", str(v2), on="2026-10-01T08:00:00")

    with open(build, "a", encoding="utf-8") as log:  # the build log grew: only the new lines count
        log.write(job_lines([("2026-09-15T10:00:00", GITLAB)] * 4))
    assert s.ingest(build, "2026-10-01T09:00:00").startswith("continued")

    october = write_zeek(d / "dns-2026-10.log", [("2026-10-03T09:00:00", "10.0.0.3", "ghcr.io")])
    assert s.ingest(october, "2026-10-04T01:00:00").startswith("ingested")
    with open(october, "a", encoding="utf-8") as log:
        log.write(zeek_lines([("2026-10-28T09:00:00", "10.0.0.5", "ghcr.io")]))
    assert s.ingest(october, "2026-11-01T01:00:00").startswith("continued")

    november = write_zeek(d / "dns-2026-11.log", [
        ("2026-11-20T09:00:00", "10.0.0.1", "ghcr.io"), ("2026-11-21T09:00:00", "10.0.0.2", "ghcr.io")])
    assert s.ingest(november, "2026-12-01T01:00:00").startswith("ingested")
    with open(build, "a", encoding="utf-8") as log:
        log.write(job_lines([("2026-11-20T10:00:00", GITLAB)] * 3))
    assert s.ingest(build, "2026-12-01T02:00:00").startswith("continued")
    return s


def history(s: Scenario, name: str) -> dict:
    return json.loads(s.run("history", name, "--format", "json"))[0]


def test_nothing_is_counted_twice(scenario: Scenario) -> None:
    quay = history(scenario, "quay.io")
    assert [(d["day"], d["uses"], d["clients"]) for d in quay["days"]] == [
        ("2026-07-05", 1, 1), ("2026-08-01", 1, 1), ("2026-08-15", 3, 3)]
    ghcr = history(scenario, "ghcr.io")
    assert ghcr["total_uses"] == 2 + 1 + 1 + 1 + 1 + 2
    assert [d["day"] for d in ghcr["days"]][-3:] == ["2026-10-28", "2026-11-20", "2026-11-21"]
    gitlab = history(scenario, GITLAB)
    assert [(d["day"], d["blocked"]) for d in gitlab["days"]] == [
        ("2026-08-01", {"ram-registry": 5}), ("2026-09-15", {"ram-registry": 4}), ("2026-11-20", {"ram-registry": 3})]


def test_the_store_records_each_input_once(scenario: Scenario) -> None:
    facts = json.loads(scenario.run("store", "info", "--format", "json"))
    # five DNS logs (October twice: whole, then from where it stopped), the build log three times, the
    # Dockerfile once (its unchanged second snapshot was dropped); the rotated copy and the repeat: none
    assert facts["inputs_ok"] == 6 + 3 + 1
    assert facts["first_day"] == "2026-07-05" and facts["last_day"] == "2026-11-21"
    assert facts["allowlist_versions"] == 2 and facts["snapshots"] == 1


def audit(s: Scenario, *window: str) -> dict:
    out = s.root / f"audit{'-'.join(window)}.json"
    s.run("audit", "--store", str(s.store), "--allowlist", str(s.root / "allowlist.txt"), *window,
          "--as-of", "2026-12-01", "--json", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def unused(doc: dict) -> dict[str, dict]:
    return {f["entries"][0]: f for f in doc["findings"] if f["kind"] == "unused"}


def test_a_90_day_window_flags_exactly_the_entries_unused_in_it(scenario: Scenario) -> None:
    doc = audit(scenario, "--window", "90d")
    assert doc["command_line"][-8:] == ["--store", str(scenario.store), "--since", "2026-09-02", "--until",
                                        "2026-12-01", "--as-of", "2026-12-01"]
    found = unused(doc)
    assert sorted(found) == ["mcr.microsoft.com", "quay.io"]
    assert found["quay.io"]["detail"] == ("No use in the 90 days from 2026-09-02 to 2026-12-01; last used "
                                          "2026-08-15 by 3 clients (quay.io).")
    assert found["quay.io"]["data"]["last_used"] == "2026-08-15"
    assert found["mcr.microsoft.com"]["detail"] == ("No use in the 90 days from 2026-09-02 to 2026-12-01; never "
                                                    "seen since the store began on 2026-07-05.")
    blocked = next(f for f in doc["findings"] if f["kind"] == "blocked-pattern")
    assert blocked["hosts"] == [GITLAB] and blocked["data"]["count"] == 4 + 3
    assert blocked["data"]["weekly"] == {"2026-09-14": 4, "2026-11-16": 3}
    # the grown parts were read from where the last ingest stopped; their lines keep the file's numbers
    cited = [(Path(s["path"]).name, s["line"]) for item in blocked["evidence"] for s in item["sources"]]
    assert cited == [("build.log", 8), ("build.log", 12)]


def test_a_30_day_window_narrows_use_and_blocked_counts(scenario: Scenario) -> None:
    doc = audit(scenario, "--window", "30d")
    found = unused(doc)
    assert sorted(found) == ["gcr.io", "mcr.microsoft.com", "quay.io"]
    assert found["gcr.io"]["detail"].startswith("No use in the 30 days from 2026-11-01 to 2026-12-01; last used "
                                                "2026-09-10 by 1 client")
    blocked = next(f for f in doc["findings"] if f["kind"] == "blocked-pattern")
    assert blocked["data"]["count"] == 3
    assert doc["summary"]["blocked_attempts"] == 3


def test_the_period_section_states_versions_changes_weeks_inputs_and_gaps(scenario: Scenario) -> None:
    period = audit(scenario, "--since", "2026-09-01", "--until", "2026-10-31")["period"]
    assert [(v["from"], v["to"], v["entries"]) for v in period["allowlist_versions"]] == [
        ("2026-07-01", "2026-10-01", 4), ("2026-10-01", None, 5)]
    assert period["entry_changes"] == [{"entry": "mcr.microsoft.com", "change": "added", "date": "2026-10-01"}]
    weeks = {w["week"]: w["attempts"] for w in period["blocked_weekly"]}
    assert weeks["2026-09-14"] == 4 and sum(weeks.values()) == 4
    paths = sorted(Path(i["path"]).name for i in period["inputs"])
    assert paths == ["Dockerfile", "build.log", "dns-2026-09.log", "dns-2026-10.log", "dns-2026-10.log"]
    days_with_evidence = {"2026-09-10", "2026-09-12", "2026-09-15", "2026-10-03", "2026-10-28"}
    assert sum(g["days"] for g in period["gaps"]) == 61 - len(days_with_evidence)
    assert period["gaps"][0] == {"from": "2026-09-01", "to": "2026-09-09", "days": 9}
    assert period["gap_text"].startswith("56 of 61 days hold no evidence at all: 2026-09-01 to 2026-09-09;")


def test_the_windowed_audit_document_validates_against_the_schema(scenario: Scenario) -> None:
    schema = json.loads((REPO_ROOT / "reports" / "schemas" / "audit.schema.json").read_text(encoding="utf-8"))
    doc = audit(scenario, "--window", "90d")
    jsonschema.Draft202012Validator(schema).validate(doc)
    doc["period"]["blocked_weekly"][0]["attempts"] = -1  # the period part is checked, not just allowed
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


def test_propose_reads_the_window_too(scenario: Scenario) -> None:
    out = scenario.run("propose", "--store", str(scenario.store), "--window", "90d", "--as-of", "2026-12-01",
                       "--format", "json")
    hosts = {e["address"] for e in json.loads(out)["entries"]}
    assert "ghcr.io" in hosts and "quay.io" not in hosts


def test_the_html_and_markdown_reports_carry_the_period(scenario: Scenario) -> None:
    html, md = scenario.root / "a.html", scenario.root / "a.md"
    scenario.run("audit", "--store", str(scenario.store), "--allowlist", str(scenario.root / "allowlist.txt"),
                 "--window", "90d", "--as-of", "2026-12-01", "--html", str(html), "--md", str(md))
    page = html.read_text(encoding="utf-8")
    assert '<section id="period"' in page and "week of 2026-09-14: 4 blocked" in page
    assert "**Period 2026-09-02 to 2026-12-01**" in md.read_text(encoding="utf-8")
