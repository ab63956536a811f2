"""The opening sentences, the terminal summary that starts with them, counted nouns and chain-box labels."""

from __future__ import annotations

from click.testing import CliRunner

from auditor.cli import main
from auditor.core.words import plural
from reports.html import box_label
from tests.conftest import REPO_ROOT
from tests.decisions.test_audit import AUDIT


def test_plural_never_writes_s_in_brackets() -> None:
    assert plural(1, "note") == "1 note" and plural(2, "note") == "2 notes"
    assert plural(1, "entry", "entries") == "1 entry" and plural(0, "entry", "entries") == "0 entries"
    assert plural(1200, "attempt") == "1,200 attempts"


def test_terminal_summary_opens_with_the_answer() -> None:
    inputs = [str(REPO_ROOT / p) for p in ("examples/repo", "examples/logs", "sample_pcaps")]
    result = CliRunner().invoke(main, ["audit", *inputs, "--allowlist", str(REPO_ROOT / "examples/allowlist.txt"),
                                       "--org", "acme"])
    lines = result.output.splitlines()
    # the GHCR image tagged ${{ github.sha }} counts: its host is certain (it needs GHCR's blob host too)
    assert lines[0].startswith("8 image pulls fail when this allowlist is enforced on Docker Desktop Registry "
                               "Access Management: "
                               "`pkg-containers.githubusercontent.com` (needed by 3 images in 3 files)")
    assert lines[1] == ("1 entry is unused over 2026-11-20T09:14:02.000Z to 2026-11-24T05:25:46.548Z: "
                        "`registry.gitlab.com`.")
    assert lines[2].startswith("Blocked most: `ghrc.io` (36 attempts, clients not recorded, a retry loop): imitates")
    assert lines[3] == "Proposed change: add 11, remove 3, keep 8:"
    changes = lines[4:4 + 14]
    assert [line[:4] for line in changes] == ["  + "] * 11 + ["  - "] * 3
    assert "  - registry.gitlab.com: nothing in the evidence needs it (F015)" in changes
    assert "(s)" not in result.output and "1 notes" not in result.output


def test_a_clean_allowlist_says_nothing_breaks() -> None:
    result = CliRunner().invoke(main, ["audit", str(AUDIT / "clean"), "--allowlist", str(AUDIT / "clean" /
                                                                                          "allowlist.txt")])
    first = result.output.splitlines()[0]
    assert first == ("No pull in the evidence will fail when this allowlist is enforced on Docker Desktop Registry "
                     "Access Management: every required host is allowed.")


def test_chain_box_labels_keep_both_ends() -> None:
    host = "prod-registry-k8s-io-us-west-2.s3.dualstack.us-west-2.amazonaws.com"
    label = box_label(host, 40)
    assert len(label) == 40 and label.startswith("prod-registry-k8s-i") and label.endswith("amazonaws.com")
    assert box_label("ghcr.io", 40) == "ghcr.io"


def test_files_are_counted_once_whatever_the_line_or_packet() -> None:
    from reports.headline import sentences

    finding = {"kind": "missing", "severity": "error", "hosts": ["registry.example"], "id": "F001",
               "data": {"images": ["registry.example/a:1", "registry.example/b:2"], "registries": ["registry.example"],
                        "locations": ["cap.pcap#1", "cap.pcap#9", "repo/Dockerfile:1", "repo/Dockerfile:7"]}}
    document = {"findings": [finding], "time_window": {"first": None, "last": None}}
    assert sentences(document) == ["2 image pulls fail when this allowlist is enforced on Docker Desktop Registry "
                                   "Access Management: `registry.example` (needed by 2 images in 2 files)."]


def test_every_report_names_the_target_it_was_judged_for(tmp_path) -> None:
    """The same allowlist means other things on Squid: the first screen of every report says which one."""
    import json

    base = AUDIT / "missing"
    out = {kind: tmp_path / f"report.{kind}" for kind in ("json", "md", "html", "sarif")}
    args = ["audit", str(base), "--allowlist", str(base / "allowlist.txt"), "--target", "proxy"]
    for kind, path in out.items():
        args += [f"--{kind}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    document = json.loads(out["json"].read_text())
    assert document["options"]["target"] == "proxy"
    assert document["options"]["target_title"] == "Squid forward proxy (dstdomain)"
    squid = "when this allowlist is enforced on Squid forward proxy (dstdomain)"
    assert squid in result.output.splitlines()[0]
    markdown = out["md"].read_text().splitlines()
    assert markdown[2] == "Judged for Squid forward proxy (dstdomain), target `proxy`."
    assert squid in markdown[4]
    html = out["html"].read_text()
    header = html[html.index('<header class="top">'):html.index("</header>")]
    assert 'judged for <strong class="target">Squid forward proxy (dstdomain), target <code>proxy</code>' in header
    assert "matching" not in header  # RAM's match mode does not apply to Squid
    run = json.loads(out["sarif"].read_text())["runs"][0]
    assert run["properties"]["target"] == "proxy"
    missing = [r for r in run["results"] if r["properties"]["kind"] == "missing"]
    assert missing and all(r["message"]["text"].endswith("(Judged for Squid forward proxy (dstdomain), target "
                                                         "`proxy`.)") for r in missing)
    assert all(r["properties"]["target"] == "proxy" for r in run["results"])
