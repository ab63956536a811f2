"""Report formats: schema-valid JSON and SARIF, inert HTML, injection-proof CSV and Markdown, reproducible HTML.

The hostile tests take a real audit document (the blocked fixture) and poison every free-text string in
it, the way a DNS name, an image reference or a log line from an attacker would arrive.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from reports.csv_report import neutralize, render_csv
from reports.html import render_html
from reports.json_report import SCHEMA_PATH
from reports.markdown import escape, render_markdown
from reports.sarif import render_sarif, sarif_document

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
SARIF_SCHEMA = FIXTURES / "sarif" / "sarif-schema-2.1.0.json"
EXAMPLES = Path(__file__).parents[2] / "examples"
HOSTILE = "=HYPERLINK(\"javascript:alert(1)\")\"'><script>alert(1)</script>|`x`|*[a](javascript:b)\n\r\t\x1b[31m\x00"
# Fields whose values are enumerations the renderers switch on; everything else is free text.
ENUM_KEYS = {"kind", "severity", "status", "hour", "id", "schema", "match", "sha256", "category", "classification",
             "signal", "via", "confidence", "first", "last", "first_seen", "last_seen", "generated_at", "parser"}


def audit_document(tmp_path: Path, fixture: str = "blocked", *extra: str) -> dict[str, Any]:
    out = tmp_path / "audit.json"
    base = FIXTURES / fixture
    result = CliRunner().invoke(main, ["audit", str(base), "--allowlist", str(base / "allowlist.txt"),
                                       "--json", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def poison(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: poison(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poison(v, key) for v in value]
    if isinstance(value, str) and key not in ENUM_KEYS:
        return HOSTILE + value
    return value


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    return audit_document(tmp_path)


@pytest.fixture
def hostile(document: dict[str, Any]) -> dict[str, Any]:
    bad = poison(copy.deepcopy(document))
    bad["allowlist"]["entries"].append({"address": HOSTILE, "original": HOSTILE, "line": 9, "status": ["ok"],
                                        "findings": [], "nickname": HOSTILE})
    return bad


# -- JSON ---------------------------------------------------------------------------------------------


def test_json_follows_the_published_schema(document: dict[str, Any], tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    for fixture in ("clean", "missing", "over-broad", "image-access", "not-enforced"):
        jsonschema.Draft202012Validator(schema).validate(audit_document(tmp_path, fixture, "--org", "acme"))
    assert document["schema"] == "regaudit/audit" and document["version"] == 1


def test_json_schema_rejects_a_broken_document(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    broken["findings"][0]["kind"] = "no-such-kind"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


def test_json_records_compliance_facts(document: dict[str, Any]) -> None:
    inputs = {Path(i["path"]).name: i for i in document["inputs"]}
    assert set(inputs) == {"Dockerfile", "pihole.log"}
    for item in inputs.values():
        assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"])
        assert item["size"] == Path(item["path"]).stat().st_size
    assert re.fullmatch(r"[0-9a-f]{64}", document["allowlist"]["sha256"])
    assert document["command_line"][:2] == ["regaudit", "audit"]
    assert document["time_window"] == {"first": "2026-11-20T08:00:00.000Z", "last": "2026-11-20T11:00:00.000Z"}


# -- SARIF --------------------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def test_sarif_is_valid_and_points_at_the_line_that_needs_the_host(tmp_path: Path) -> None:
    document = audit_document(tmp_path, "missing")
    sarif = json.loads(render_sarif(document))
    sarif_validator().validate(sarif)
    [result] = sarif["runs"][0]["results"]
    rule = sarif["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == result["ruleId"] and rule["properties"]["kind"] == "missing"
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("missing/repo/Dockerfile")
    assert location["region"] == {"startLine": 2}
    assert result["partialFingerprints"]["regauditKey/v1"] == document["findings"][0]["key"]
    artifact = sarif["runs"][0]["artifacts"][0]
    assert artifact["hashes"]["sha-256"] == document["inputs"][0]["sha256"]


def test_sarif_from_hostile_input_stays_valid(hostile: dict[str, Any]) -> None:
    text = render_sarif(hostile)
    sarif = json.loads(text)
    sarif_validator().validate(sarif)
    assert HOSTILE in sarif["runs"][0]["results"][0]["message"]["text"]  # carried as data, JSON-escaped
    assert "\x1b" not in text and "\x00" not in text  # control characters only as \u escapes
    for result in sarif["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not re.search(r"[\s<>\"'`|]", uri)


def test_sarif_schema_copy_rejects_invalid_sarif(document: dict[str, Any]) -> None:
    sarif = sarif_document(document)
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        sarif_validator().validate(sarif)


# -- CSV ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralizes_formula_starts(cell: str) -> None:
    assert neutralize(cell).startswith("'")


def test_csv_one_row_per_finding_and_no_formula(hostile: dict[str, Any]) -> None:
    text = render_csv(hostile)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["id", "key", "kind", "severity"]
    assert len(rows) == len(hostile["findings"]) + 1
    assert text.count("\n") == len(rows)  # line breaks inside cells folded: one finding, one line
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert row[4].startswith("'=HYPERLINK")
    assert "\x1b" not in text and "\x00" not in text and "\\x1b[31m" in text


# -- Markdown -----------------------------------------------------------------------------------------


def test_markdown_escapes_table_breakers() -> None:
    assert escape("a|b") == "a\\|b"
    assert escape("`x`") == "\\`x\\`"
    assert escape("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape("![x](javascript:y)") == "!\\[x\\](javascript:y)"  # no brackets, no link
    assert escape("line1\nline2") == "line1 line2"


def test_markdown_from_hostile_input_keeps_its_table(hostile: dict[str, Any]) -> None:
    from markdown_it import MarkdownIt

    text = render_markdown(hostile)
    assert "\x1b" not in text and "\x00" not in text
    assert "<script" not in re.sub(r"`[^`]*`", "", text)  # only inside code spans, where Markdown shows it literally
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(hostile["findings"]) + len(hostile["allowlist"]["entries"])  # two header rows
    # rendered as GitHub would (raw HTML allowed, tables on): every row keeps its cells, no tag from input
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html
    table = html[html.index("<table>"):html.index("</table>")]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        assert len(re.findall(r"<td[ >]", row)) == 5, row
    assert len(text) < 65536  # GitHub's comment limit


# -- HTML ---------------------------------------------------------------------------------------------


class DomCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> DomCollector:
    dom = DomCollector()
    dom.feed(text)
    dom.close()
    return dom


def test_html_from_hostile_input_is_inert(hostile: dict[str, Any]) -> None:
    html = render_html(hostile)
    dom = parse_html(html)
    names = {tag for tag, _ in dom.tags}
    assert not names & {"script", "iframe", "object", "embed", "img", "link", "base", "form", "foreignobject"}
    for tag, attrs in dom.tags:
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style", (tag, name)
            if name in ("href", "src", "xlink:href", "action", "formaction", "srcset"):
                assert value is not None and re.fullmatch(r"#[A-Za-z0-9-]+", value), (tag, name, value)
            if name in ("id", "class"):  # never from input: generated names only
                assert value is not None and re.fullmatch(r"[A-Za-z0-9 _-]*", value), (tag, name, value)
    text = "".join(dom.text)
    assert "<script>alert(1)</script>" in text  # shown as text, not markup
    assert "\x1b" not in html and "\x00" not in html  # control characters shown escaped
    assert "\\x1b[31m" in text


def test_html_is_self_contained_with_a_strict_csp(document: dict[str, Any]) -> None:
    html = render_html(document)
    dom = parse_html(html)
    csp = [a["content"] for t, a in dom.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0]
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)
    assert "@import" not in html and "url(http" not in html
    ids = {a["id"] for _, a in dom.tags if "id" in a}
    for section in ("summary", "allowlist", "findings", "blocked", "chains", "evidence", "compliance"):
        assert section in ids
    for tag, attrs in dom.tags:  # every internal link lands on an element of the page
        if tag == "a" and attrs.get("href", "").startswith("#"):
            assert attrs["href"][1:] in ids, attrs["href"]
        if tag == "a":
            assert attrs.get("href", "").startswith("#")


def test_html_links_every_claim_to_its_sources(document: dict[str, Any]) -> None:
    html = render_html(document)
    dom = parse_html(html)
    for finding in document["findings"]:
        assert any(a.get("id") == finding["id"] for _, a in dom.tags)
    sources = {s["location"] for f in document["findings"] for e in f["evidence"] for s in e["sources"]}
    appendix = [a["id"] for t, a in dom.tags if t == "tr" and a.get("id", "").startswith("src-")]
    assert len(appendix) == len(sources) > 0
    text = "".join(dom.text)
    for location in sources:
        assert location in text


def test_html_shows_timeline_chains_and_hashes(document: dict[str, Any]) -> None:
    html = render_html(document)
    dom = parse_html(html)
    bars = [a for t, a in dom.tags if t == "rect" and a.get("class") == "bar"]
    assert len(bars) == len(document["blocked"]["timeline"]) == 4
    heights = {float(a["height"]) for a in bars}
    assert max(heights) > 10 * min(heights)  # the 26-attempt storm hour towers over the single attempts
    boxes = [a for t, a in dom.tags if t == "g" and (a.get("class") or "").startswith("box ")]
    assert any("box-missing" in a["class"] for a in boxes)
    text = "".join(dom.text)
    for item in document["inputs"]:
        assert item["sha256"] in text
    assert document["allowlist"]["sha256"] in text
    assert "@media print" in html


def test_html_is_reproducible_apart_from_the_generation_time(tmp_path: Path) -> None:
    pages = []
    out = tmp_path / "report.html"  # same command line both times: only the clock differs
    out_json = tmp_path / "report.json"
    documents = []
    for epoch in ("1700000000", "1800000000"):
        base = EXAMPLES
        result = CliRunner(env={"SOURCE_DATE_EPOCH": epoch}).invoke(main, [
            "audit", str(base / "repo"), str(base / "logs"), "--allowlist", str(base / "allowlist.txt"),
            "--org", "acme", "--html", str(out), "--json", str(out_json)])
        assert result.exit_code == 0, result.output
        pages.append(out.read_bytes())
        documents.append(json.loads(out_json.read_text(encoding="utf-8")))
    assert [d.pop("generated_at") for d in documents] == ["2023-11-14T22:13:20Z", "2027-01-15T08:00:00Z"]
    assert documents[0] == documents[1]
    assert pages[0] != pages[1]
    stamps = [b"2023-11-14T22:13:20Z", b"2027-01-15T08:00:00Z"]
    assert all(stamp in page for stamp, page in zip(stamps, pages, strict=True))
    assert pages[0].replace(stamps[0], b"TIME") == pages[1].replace(stamps[1], b"TIME")


def test_hostile_inputs_end_to_end(tmp_path: Path) -> None:
    """Script tags, quotes, `javascript:`, formulas and escape sequences in a Dockerfile, a CI log and the
    allowlist itself: every report is written, stays valid, and shows them as inert text."""
    base = FIXTURES / "hostile"
    outputs = {name: tmp_path / f"report.{name}" for name in ("html", "json", "csv", "sarif", "md")}
    args = ["audit", str(base), "--allowlist", str(base / "allowlist.txt")]
    for name, path in outputs.items():
        args += [f"--{name}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output

    document = json.loads(outputs["json"].read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    assert any(u["text"] == "<script>alert(1)</script>" for u in document["unresolved"])
    assert any("<script>alert(2)</script>" in e["message"] for e in document["allowlist"]["errors"])

    html = outputs["html"].read_text(encoding="utf-8")
    dom = parse_html(html)
    assert not {tag for tag, _ in dom.tags} & {"script", "img", "iframe"}
    assert all(not name.startswith("on") for _, attrs in dom.tags for name in attrs)
    text = "".join(dom.text)
    for payload in ("<script>alert(1)</script>", "<script>alert(2)</script>", "javascript:alert(1)",
                    '=HYPERLINK("http://evil.example")', "evil.example\\x1b[31m"):
        assert payload in text, payload
    assert "\x1b" not in html

    sarif_validator().validate(json.loads(outputs["sarif"].read_text(encoding="utf-8")))
    for row in list(csv.reader(io.StringIO(outputs["csv"].read_text(encoding="utf-8"))))[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    markdown = outputs["md"].read_text(encoding="utf-8")
    assert "<script" not in markdown and "\x1b" not in markdown


def test_html_blocked_table_counts_the_clients(document: dict[str, Any]) -> None:
    html = render_html(document)
    section = html[html.index('<section id="blocked"'):html.index("</section>", html.index('<section id="blocked"'))]
    rows = {re.sub(r"<[^>]+>", "", m.group(1)): m.group(2) for m in re.finditer(
        r'<tr><td><code class="host">(.*?)</code></td>.*?<td class="num">\d+</td><td class="num">([^<]*)</td>',
        section, re.S)}
    assert rows["quay.io"] == "2" and rows["docker-io.com"] == "1"  # the Pi-hole log names the clients


def test_html_long_evidence_lists_collapse(tmp_path: Path) -> None:
    html = render_html(audit_document(tmp_path, "blocked"))
    assert "<details><summary>" in html and "more</summary>" in html
    assert "<script" not in html


def test_html_draws_at_most_its_cap_of_findings_per_kind_and_counts_the_rest(tmp_path: Path) -> None:
    """1,200 entries nobody needs are 1,200 unused findings: the JSON keeps them all, the HTML draws the first
    rows of the kind and counts the rest (a fuzzed squid.conf with 64,036 findings took 55 s to render)."""
    from reports.html import FINDINGS_SHOWN_PER_KIND

    (tmp_path / "Dockerfile").write_text("FROM ghcr.io/acme/app:1\n", encoding="utf-8")
    (tmp_path / "allow.txt").write_text("".join(f"r{n}.unused.example\n" for n in range(1200)), encoding="utf-8")
    html, report = tmp_path / "r.html", tmp_path / "r.json"
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "Dockerfile"), "--allowlist",
                                       str(tmp_path / "allow.txt"), "--html", str(html), "--json", str(report), "-q"])
    assert result.exit_code == 0, result.output
    unused = [f for f in json.loads(report.read_text())["findings"] if f["kind"] == "unused"]
    assert len(unused) == 1200
    text = html.read_text(encoding="utf-8")
    drawn = {f["id"] for f in unused if f'<tr id="{f["id"]}"' in text}
    assert len(drawn) == FINDINGS_SHOWN_PER_KIND < len(unused)
    assert f"… and {1200 - FINDINGS_SHOWN_PER_KIND} more findings of this kind, not drawn here" in text


def test_an_entry_repeated_1200_times_is_one_duplicate_finding(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM ghcr.io/acme/app:1\n", encoding="utf-8")
    (tmp_path / "allow.txt").write_text("ghcr.io\npkg-containers.githubusercontent.com\n" + "ghcr.io\n" * 1199,
                                        encoding="utf-8")
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "Dockerfile"), "--allowlist",
                                       str(tmp_path / "allow.txt"), "--json", str(report), "-q"])
    assert result.exit_code == 0, result.output
    [finding] = [f for f in json.loads(report.read_text())["findings"] if f["kind"] == "duplicate"]
    assert finding["title"] == "ghcr.io is listed 1,200 times"
    assert finding["data"]["first_line"] == 1 and finding["data"]["lines"][:3] == [3, 4, 5]
    assert len(finding["data"]["lines"]) == 50 and finding["data"]["repeats_total"] == 1199
    assert "and 1,149 more" in finding["detail"]
