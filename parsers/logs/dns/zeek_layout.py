"""The layout of a Zeek TSV log: which columns a `#fields` header names, and the regex that cuts them.

Both the regular parser (`zeek.py`) and the columnar fast path (`zeek_fast.py`) read it, so it lives
apart from either of them.
"""

from __future__ import annotations

import re

# canonical column order per log path; the regex captures them in the file's own order
COLUMNS = {
    "dns": ("ts", "id.orig_h", "id.resp_h", "query", "qtype_name", "rcode_name", "answers"),
    "ssl": ("ts", "id.orig_h", "id.resp_h", "server_name", "next_protocol"),
}

class ZeekLayout:
    """One `#fields` header: which log, and a regex capturing the used columns of a data line."""

    def __init__(self, fields: list[str], path: str) -> None:
        self.path = path
        wanted = COLUMNS[path]
        captured = [name for name in fields if name in wanted]
        self.positions = [captured.index(name) if name in captured else None for name in wanted]
        # possessive: a column never gives back characters (none can be a tab), which spares sre work
        parts = ["([^\t\n]*+)" if name in wanted else "[^\t\n]*+" for name in fields]
        self.regex = re.compile("^(?:" + "\t".join(parts) + "|([^\n]*))$", re.MULTILINE)
        self.width = len(captured)  # index of the catch-all group
        self.field_count = len(fields)
        self.column = {name: fields.index(name) for name in wanted if name in fields}  # first one of a name
