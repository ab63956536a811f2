"""The Markdown report as a pull-request comment renders it: markdown-it-py with tables and raw HTML on.

On the shipped example (the README's command): the answer comes first, hosts and entries render as <code>
(no literal backticks left), every action is there in full, and the part above the collapsed tables is short.
"""

from __future__ import annotations

import csv
import html as html_module
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from auditor.cli import main
from reports.markdown import render_markdown
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("md")
    inputs = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]
    result = CliRunner().invoke(main, ["audit", *inputs, "--allowlist", str(REPO_ROOT / "examples/allowlist.txt"),
                                       "--org", "acme", "--json", str(out / "a.json"), "--md", str(out / "a.md")])
    assert (out / "a.md").exists(), result.output
    return json.loads((out / "a.json").read_text()), (out / "a.md").read_text()


def rendered(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def _text(fragment: str) -> str:
    return html_module.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_code_spans_render_as_code(example: tuple[dict, str]) -> None:
    _, text = example
    page = rendered(text)
    assert "<code>registry.gitlab.com</code>" in page
    assert "<code>ghrc.io</code>" in page
    assert "<code>auth.lab.test</code>" in page
    assert "`" not in _text(page)  # no literal backtick left anywhere in what a reader sees
    assert "\\`" not in text.split("<details>")[0]


def test_the_answer_comes_first_and_stays_short(example: tuple[dict, str]) -> None:
    document, text = example
    head = text.split("<details>", 1)[0]
    first_item = _text(rendered(head)).split("\n")
    answer = [line for line in first_item if line.strip()]
    assert answer[1] == "Judged for Docker Desktop Registry Access Management, target ram, suffix matching."
    assert answer[2].startswith("8 image pulls fail when this allowlist is enforced on Docker Desktop Registry")
    assert any(line.startswith("1 entry is unused over") for line in answer)
    assert any(line.startswith("Blocked most: ghrc.io (36 attempts") for line in answer)
    assert "Proposed change: add 11, remove 3, keep 8:" in answer
    assert len(head) < 6000  # the comment's visible part; the tables are collapsed
    for address in document["difference"]["add"] + document["difference"]["remove"]:
        assert f"`{address}`" in head


def test_actions_are_not_cut_off(example: tuple[dict, str]) -> None:
    document, text = example
    page = rendered(text)
    cells = [_text(c) for c in re.findall(r"<tr>(.*?)</tr>", page, re.S)]
    for finding in document["findings"]:
        row = next(c for c in cells if f"\n{finding['id']}\n" in c or f"{finding['id']}" in c.split("\n")[:4])
        assert finding["action"].replace("`", "") in row.replace("\n", " "), finding["id"]


def test_nicknames_are_shown_beside_entries(tmp_path: Path) -> None:
    allowlist = tmp_path / "ram.csv"
    allowlist.write_text("address,nickname\nghcr.io,GitHub packages\nregistry.gitlab.com,old GitLab\n")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "Dockerfile").write_text("FROM ghcr.io/acme/app:1\n")
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "repo"), "--allowlist", str(allowlist),
                                       "--json", str(tmp_path / "a.json"), "--md", str(tmp_path / "a.md")])
    assert (tmp_path / "a.json").exists(), result.output
    document = json.loads((tmp_path / "a.json").read_text())
    assert {e["address"]: e["nickname"] for e in document["allowlist"]["entries"]} == \
        {"ghcr.io": "GitHub packages", "registry.gitlab.com": "old GitLab"}
    text = render_markdown(document)
    assert "- ➖ remove `registry.gitlab.com` (old GitLab)" in text
    assert "| `ghcr.io` | GitHub packages | keep |" in text
    assert '- registry.gitlab.com "old GitLab": nothing in the evidence needs it' in result.output
    from reports.csv_report import render_csv

    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    assert [r["entry_nicknames"] for r in rows if r["kind"] == "unused"] == ["old GitLab"]
    from reports.html import render_html

    page = render_html(document)
    assert '<span class="nick">old GitLab</span>' in page and '<span class="nick">GitHub packages</span>' in page
