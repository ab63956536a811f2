"""A machine's hosts file (`/etc/hosts`; Windows `%SystemRoot%\\System32\\drivers\\etc\\hosts`, desktop.md §10, M).

Each `address name [alias...]` line becomes a HostsEntry. Docker Desktop writes its own block (`# Added by Docker
Desktop` ... `# End of section`, M [S36]; setting `UpdateHostsFile`, H [S16]); entries inside it are marked so
the decision leaves them alone. A file is taken as a hosts file only when named `hosts` (or `hosts.txt`) and
most of its lines have that shape: Ansible inventories are often called `hosts` too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from auditor.core.model import Evidence, HostsEntry
from parsers.common.hosts import is_host
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import MAX_ITEMS, head_text, machine_of, machine_text

NAME = "hosts_file"
_NAMES = ("hosts", "hosts.txt")
_BLOCK_START = re.compile(r"^#\s*Added by Docker Desktop\b", re.IGNORECASE)
_BLOCK_END = re.compile(r"^#\s*End of section\b", re.IGNORECASE)


def detect(inp: InputFile) -> bool:
    if inp.name.lower() not in _NAMES:
        return False
    lines = [line.split("#", 1)[0].split() for line in head_text(inp).splitlines()[:500]]
    lines = [fields for fields in lines if fields]
    good = sum(1 for fields in lines if len(fields) >= 2 and _address(fields[0]))
    return not lines or good * 2 >= len(lines)


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text = yield from machine_text(inp, ctx, NAME)
    if text is None:
        return
    machine = machine_of(inp)
    in_block = False
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if _BLOCK_START.match(stripped):
            in_block = True
            continue
        if _BLOCK_END.match(stripped):
            in_block = False
            continue
        fields = stripped.split("#", 1)[0].split()
        if not fields:
            continue
        if not _address(fields[0]):
            yield inp.error("not an `address name` line (the first field is not an IP address)", line=number,
                            parser=NAME)
            continue
        names = tuple(name.lower().rstrip(".") for name in fields[1:])
        if not names:
            yield inp.error("an address without a host name", line=number, parser=NAME)
            continue
        bad = [name for name in names if not is_host(name)]
        if bad:
            yield inp.error(f"not a host name: {bad[0][:80]!r}", line=number, parser=NAME)
            names = tuple(name for name in names if is_host(name))
            if not names:
                continue
        count += 1
        if count > MAX_ITEMS:
            yield inp.error(f"more than {MAX_ITEMS} entries; the rest are not read", line=number, parser=NAME)
            return
        yield HostsEntry(machine, fields[0], names, inp.source(line=number, parser=NAME), in_block)
