"""A RAM Admin Console CSV export, as a user feeds it: read, audit, every report, written back.

The fixture is written the way the console and a spreadsheet leave it: a BOM, the columns in the other order
(`Nickname;Registry address`), `;` as the delimiter, a repeated entry, an impossible address, a CIDR and a URL
with a path.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main

CONSOLE = Path(__file__).parents[1] / "fixtures" / "reports" / "console"
NICKNAMES = {"docker.io": "Hub", "ghcr.io": "GitHub packages", "10.0.0.0/8": "Net", "quay.io": "Path",
             "registry.gitlab.com": "Old GitLab"}


def test_a_console_export_round_trips_with_its_nicknames(tmp_path: Path) -> None:
    export = CONSOLE / "ram-export.csv"
    out = {kind: tmp_path / f"report.{kind}" for kind in ("json", "md", "html", "csv")}
    args = ["audit", str(CONSOLE / "Dockerfile"), "--allowlist", str(export)]
    for kind, path in out.items():
        args += [f"--{kind}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    document = json.loads(out["json"].read_text())
    entries = document["allowlist"]["entries"]
    assert {e["address"]: e["nickname"] for e in entries} == NICKNAMES
    assert {e["address"]: e["line"] for e in entries}["docker.io"] == 2  # the header is line 1, not an entry
    # what is not a host name is said with its line; the URL is read as its host, and said so
    errors = {e["location"]: e["message"] for e in document["allowlist"]["errors"]}
    assert "300.1.1.1" in errors[f"{export}:5"] and "/v2/x" in errors[f"{export}:7"]
    kinds = {(f["kind"], tuple(f["entries"])) for f in document["findings"]}
    assert ("duplicate", ("ghcr.io",)) in kinds and ("network-entry", ("10.0.0.0/8",)) in kinds
    # the nickname stands beside the entry in every report
    assert '  - registry.gitlab.com "Old GitLab": nothing in the evidence needs it' in result.output
    markdown = out["md"].read_text()
    assert "| `registry.gitlab.com` | Old GitLab | remove |" in markdown
    assert "➖ remove `registry.gitlab.com` (Old GitLab)" in markdown
    html = out["html"].read_text()
    assert all(f">{nickname}<" in html for nickname in NICKNAMES.values())
    assert all(nickname in out["csv"].read_text() for nickname in NICKNAMES.values())
    # written back in the console's two columns, nicknames intact, then read again
    written = CliRunner().invoke(main, ["export", "--target", "ram", "--format", "csv", "--allowlist", str(export)])
    back = tmp_path / "back.csv"
    back.write_text(written.stdout)
    assert back.read_text().splitlines()[0] == "address,nickname"
    again = tmp_path / "again.json"
    CliRunner().invoke(main, ["audit", str(CONSOLE / "Dockerfile"), "--allowlist", str(back), "--json", str(again)])
    assert {e["address"]: e["nickname"] for e in json.loads(again.read_text())["allowlist"]["entries"]} == NICKNAMES


def test_an_address_range_is_explained_for_the_target_judged(tmp_path: Path) -> None:
    texts = {}
    for target in ("ram", "proxy"):
        out = tmp_path / f"{target}.json"
        CliRunner().invoke(main, ["audit", str(CONSOLE / "Dockerfile"), "--allowlist", str(CONSOLE / "ram-export.csv"),
                                  "--target", target, "--json", str(out)])
        [finding] = [f for f in json.loads(out.read_text())["findings"] if f["kind"] == "network-entry"]
        texts[target] = finding["detail"]
        assert finding["action"].startswith("Remove `10.0.0.0/8`")
    assert "Registry Access Management matches the host names" in texts["ram"]
    assert "Registry Access Management" not in texts["proxy"] and "Squid forward proxy" in texts["proxy"]
