"""The sample audit report in a real browser (Debian chromium, headless).

Checked: the page logs nothing to the console (no CSP violation, no error), the page itself makes no
network request (Chromium's net log, filtered to requests whose isolation key is the report's file://
origin; Chromium's own background traffic is not the page's), the main sections are in the rendered DOM,
it prints to a multi-page PDF, and a screenshot is taken. Two canary pages prove each detector fires.

The browser is kept off the network: every name resolves to NOTFOUND and every request goes to a closed
loopback port, so even a failing check cannot reach another address.
Set REGAUDIT_SCREENSHOT=path to keep the screenshot (docs/report-screenshot.png is made that way).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main

CHROMIUM = Path("/usr/bin/chromium")
EXAMPLES = Path(__file__).parents[2] / "examples"
SAMPLE_PCAPS = Path(__file__).parents[2] / "sample_pcaps"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


def chromium(tmp_path: Path, page: Path, *args: str, name: str = "run") -> tuple[str, str, list[dict]]:
    """Run headless chromium on PAGE; return stdout, the console lines from stderr, and the page's requests."""
    profile = tmp_path / f"profile-{name}"
    netlog = tmp_path / f"netlog-{name}.json"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
        "--disable-domain-reliability", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
        "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", "--hide-scrollbars",
        *args, page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, "\n".join(console), page_requests(netlog)


def page_requests(netlog: Path) -> list[dict]:
    """URL requests the page made: their network isolation key is the page's own (file://) origin."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and str(e["params"].get("network_isolation_key", "")).startswith("file://")]


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the first rows (a blank page has ~1)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = b""
    offset = 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            idat += data[offset + 8:offset + 8 + length]
        offset += 12 + length
    pixels = zlib.decompressobj().decompress(idat, 4 * width * 400)
    return width, height, len(set(pixels))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    # the README's command, from the repository root, so the report shows the paths a user would see
    inputs = ["examples/repo", "examples/logs"]
    if SAMPLE_PCAPS.is_dir() and any(SAMPLE_PCAPS.glob("*.pcap*")):
        inputs.append("sample_pcaps")
    cwd = os.getcwd()
    os.chdir(EXAMPLES.parent)
    try:
        result = CliRunner().invoke(main, ["audit", *inputs, "--allowlist", "examples/allowlist.txt",
                                           "--org", "acme", "--html", str(out),
                                           "--json", str(out.with_suffix(".json"))])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return out


def test_report_renders_without_console_messages_or_requests(report: Path, tmp_path: Path) -> None:
    dom, console, requests = chromium(tmp_path, report, "--dump-dom", name="dom")
    assert console == ""
    assert requests == []
    for section in ("answer", "summary", "allowlist", "findings", "blocked", "chains", "evidence", "compliance"):
        assert f'<section id="{section}"' in dom
    assert "Registry allowlist audit" in dom
    assert "pkg-containers.githubusercontent.com is not allowed" in dom
    assert "<script" not in dom


def test_report_screenshot_shows_content(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _, console, requests = chromium(tmp_path, report, "--window-size=1280,2400", f"--screenshot={shot}",
                                    name="shot")
    assert console == "" and requests == []
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1280, 2400)
    assert colours > 20  # text, tiles and badges, not a blank page
    keep = os.environ.get("REGAUDIT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_report_prints_to_several_pages(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    _, console, requests = chromium(tmp_path, report, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                                    name="pdf")
    assert console == "" and requests == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))  # page objects, not the /Pages tree
    assert pages >= 3


SECTION_HEADINGS = ("The answer", "Summary", "Current allowlist beside the proposal", "Findings (",
                    "Blocked attempts (", "Redirect chains", "Evidence appendix", "Compliance record")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) is not installed")
def test_main_sections_are_laid_out_visibly(report: Path, tmp_path: Path) -> None:
    """Text is extracted from the PDF Chromium lays out, so a hidden or collapsed section would be missing."""
    pdf = tmp_path / "visible.pdf"
    chromium(tmp_path, report, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", name="visible")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    positions = [text.find(heading) for heading in SECTION_HEADINGS]
    assert all(p >= 0 for p in positions), dict(zip(SECTION_HEADINGS, positions, strict=True))
    assert positions == sorted(positions)
    assert "pkg-containers.githubusercontent.com" in text
    # printing opens the collapsed lists: an evidence line past the first few of its finding is on paper too
    collapsed = [item["text"] for f in json.loads(report.with_suffix(".json").read_text())["findings"]
                 for item in f["evidence"][4:]]
    assert collapsed
    reading_order = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True,
                                   timeout=60).stdout  # without -layout: table cells are not interleaved
    flat = " ".join(reading_order.split())
    assert all(" ".join(line[:30].split()) in flat for line in collapsed[:10])


def test_canaries_prove_the_detectors_fire(tmp_path: Path) -> None:
    noisy = tmp_path / "canary.html"
    noisy.write_text('<html><body><img src="http://canary.invalid/x.png">'
                     '<script>console.error("canary")</script></body></html>', encoding="utf-8")
    _, console, requests = chromium(tmp_path, noisy, "--dump-dom", name="canary")
    assert '"canary"' in console
    assert [r["url"] for r in requests] == ["http://canary.invalid/x.png"]
