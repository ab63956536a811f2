"""CSV: one finding per row, for spreadsheets and ticket imports.

Every cell comes from hostile input. A spreadsheet treats a cell starting with `=`, `+`, `-`, `@`, tab or
carriage return as a formula (CSV injection), so such cells get a leading `'`; line breaks inside a cell
are folded to spaces so one finding stays one row in every tool; other control characters are shown escaped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ["id", "key", "kind", "severity", "title", "entries", "hosts", "detail", "action", "locations",
           "entry_nicknames", "accepted"]


def neutralize(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    if text.isprintable():
        return text  # the common case, decided in one pass in C (a grouped finding's hosts cell runs to megabytes)
    # other control characters (terminal escapes) are shown, not emitted
    return "".join(ch if ch.isprintable() or ch == "\t" else repr(ch)[1:-1] for ch in text)


def render_csv(document: dict[str, Any]) -> str:
    return "".join(render_csv_pieces(document))


def render_csv_pieces(document: dict[str, Any]) -> Iterator[str]:
    """The CSV a row at a time, for write_output: a grouped finding's row runs to megabytes at 10^5 hosts, and
    the whole text in a StringIO (four bytes a character once it is read back) was the audit's peak."""
    rows: list[str] = []
    writer = csv.writer(_Sink(rows), lineterminator="\n", quoting=csv.QUOTE_MINIMAL)

    def taken() -> str:
        text = "".join(rows)  # csv writes a row as one string: this is that string
        rows.clear()
        return text

    writer.writerow(COLUMNS)
    yield taken()
    nicknames = {e["address"]: e.get("nickname") for e in document["allowlist"]["entries"]}
    for finding in document["findings"]:
        locations = sorted({s["location"] for item in finding["evidence"] for s in item["sources"]})
        row = [finding["id"], finding["key"], finding["kind"], finding["severity"], finding["title"],
               " ".join(finding["entries"]), " ".join(finding["hosts"]), finding["detail"], finding["action"],
               " ".join(locations),
               # the RAM console's nickname of each entry, in the order of `entries` (empty when it has none)
               " | ".join(nicknames.get(entry) or "" for entry in finding["entries"]).strip(" |"),
               _accepted(finding.get("accepted"))]
        writer.writerow([neutralize(cell) for cell in row])
        yield taken()


class _Sink:
    """What csv.writer writes to: the rows kept as the strings it writes."""

    def __init__(self, rows: list[str]) -> None:
        self.write = rows.append


def _accepted(acceptance: dict[str, Any] | None) -> str:
    """`reason (by FILE:LINE, until DATE)`, or empty when the finding is not accepted."""
    if not acceptance:
        return ""
    until = f", until {acceptance['expires']}" if acceptance.get("expires") else ""
    return f"{acceptance['reason']} (by {acceptance['by']}{until})"
