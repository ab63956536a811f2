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
    assert lines[0].startswith("8 image pulls fail when this allowlist is enforced: "
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
    assert first == "No pull in the evidence will fail when this allowlist is enforced: every required host is allowed."


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
    assert sentences(document) == ["2 image pulls fail when this allowlist is enforced: `registry.example` "
                                   "(needed by 2 images in 2 files)."]
