"""The shipped example's report laid out by the real Chromium at a desktop width (1400 px) and a phone's (390 px).

Measured through the DevTools protocol (tests/reports/cdp.py), on the report exactly as written (its CSP
forbids scripts; DevTools evaluation is not the page's script): the document is never wider than the
viewport (wide tables scroll inside their card), every section is laid out inside the viewport with a
height, the answer comes first, and host names wrap at most once per label (at their dots, never a
character per line). Full-page screenshots are kept as artifacts: their paths are printed, and with
REGAUDIT_SCREENSHOT_DIR set they are copied there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.reports.cdp import CHROMIUM, Browser
from tests.reports.test_html_browser import png_size_and_colours, report  # noqa: F401 - the report fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]

SECTIONS = ("answer", "summary", "allowlist", "findings", "blocked", "chains", "evidence", "compliance")
MEASURE = """JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  sections: [...document.querySelectorAll("main > section")].map(s => {
    const r = s.getBoundingClientRect();
    return {id: s.id, left: r.left, right: r.right, height: r.height, top: r.top + window.scrollY};
  }),
  hosts: [...document.querySelectorAll("code.host")].map(e => {
    // one rect per text fragment between <wbr>s: the distinct tops are the lines
    const lines = new Set([...e.getClientRects()].map(r => Math.round(r.top))).size;
    return {text: e.textContent, lines: lines, labels: e.textContent.split(".").length};
  }),
  scrollers: [...document.querySelectorAll(".scroll")].map(e => ({inner: e.scrollWidth, outer: e.clientWidth})),
  sentences: [...document.querySelectorAll("#answer .sentences li")].map(e => e.textContent),
})"""


@pytest.fixture(scope="module")
def measured(report: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict]:  # noqa: F811
    import json

    shots = tmp_path_factory.mktemp("layout")
    browser = Browser(shots / "profile")
    results: dict[int, dict] = {}
    try:
        browser.open(report.resolve().as_uri())
        for width in (1400, 390):
            browser.viewport(width, 900, mobile=width < 600)
            results[width] = json.loads(browser.evaluate(MEASURE))
            shot = shots / f"report-{width}px.png"
            browser.screenshot(shot)
            results[width]["screenshot"] = shot
            print(f"screenshot at {width} px: {shot}")
            keep = os.environ.get("REGAUDIT_SCREENSHOT_DIR")
            if keep:
                shutil.copyfile(shot, Path(keep) / shot.name)
    finally:
        browser.close()
    return results


@pytest.mark.parametrize("width", [1400, 390])
def test_no_horizontal_overflow(measured: dict[int, dict], width: int) -> None:
    page = measured[width]
    assert page["innerWidth"] == width  # the phone viewport really is 390 px wide (no zoomed-out layout)
    assert page["scrollWidth"] <= width


@pytest.mark.parametrize("width", [1400, 390])
def test_every_section_is_laid_out_inside_the_viewport(measured: dict[int, dict], width: int) -> None:
    sections = measured[width]["sections"]
    assert [s["id"] for s in sections] == list(SECTIONS)  # the answer first
    for section in sections:
        assert section["height"] > 40, section
        assert section["left"] >= 0 and section["right"] <= width, section
    assert [s["top"] for s in sections] == sorted(s["top"] for s in sections)


def test_wide_tables_scroll_inside_their_card_on_a_phone(measured: dict[int, dict]) -> None:
    scrollers = measured[390]["scrollers"]
    assert any(s["inner"] > s["outer"] for s in scrollers)  # the findings table is wider than a phone...
    assert measured[390]["scrollWidth"] <= 390  # ...and the page is not
    assert all(s["inner"] <= s["outer"] + 1 for s in measured[1400]["scrollers"] if s["outer"] > 1000)


@pytest.mark.parametrize("width", [1400, 390])
def test_hosts_wrap_at_dots_not_per_character(measured: dict[int, dict], width: int) -> None:
    hosts = measured[width]["hosts"]
    assert len(hosts) > 20
    for host in hosts:
        assert host["lines"] <= host["labels"], host


def test_the_answer_reads_as_sentences(measured: dict[int, dict]) -> None:
    sentences = measured[1400]["sentences"]
    assert sentences[0].endswith(".") and "fail when this allowlist is enforced" in sentences[0]
    assert any(s.startswith("1 entry is unused over") and "registry.gitlab.com" in s for s in sentences)
    assert any(s.startswith("Blocked most: ghrc.io (36 attempts") for s in sentences)


@pytest.mark.parametrize("width", [1400, 390])
def test_screenshots_show_the_page(measured: dict[int, dict], width: int) -> None:
    png_width, height, colours = png_size_and_colours(measured[width]["screenshot"])
    assert png_width == width
    assert height > 2000 and colours > 20
