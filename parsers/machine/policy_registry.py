"""The Windows policy key `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker Desktop`, as `reg query` prints it
or as a `.reg` export (`reg export`, regedit).

Enforced sign-in (desktop.md §2.1, H [S1]): value `allowedOrgs`, type `REG_MULTI_SZ`, one org per string.
`reg query` shows a REG_MULTI_SZ with `\\0` between the strings (M: the standard rendering):
    allowedOrgs    REG_MULTI_SZ    myorg1\\0myorg2
A `.reg` export writes it as `"allowedOrgs"=hex(7):6d,00,...` (UTF-16LE strings, NUL-separated), a REG_SZ as
`"name"="text"` and a REG_DWORD as `dword:00000001`. Both are often saved as UTF-16 (PowerShell's `>`, `reg
export`): the encoding is detected. Only values under that key are read; each becomes a setting whose
`value_type` is the registry type, so the decision can tell a REG_SZ from the documented REG_MULTI_SZ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import Evidence, MachineSetting, MachineValue
from parsers.common.inputs import InputFile, ParseContext
from parsers.machine.bundle import MAX_ITEMS, head_text, machine_of, machine_text

NAME = "policy_registry"
ORIGIN = "registry-key"
_KEY_PATH = re.compile(r"^\[?-?(?:HKEY_LOCAL_MACHINE|HKLM)\\SOFTWARE\\Policies\\Docker\\Docker Desktop\]?\s*$",
                       re.IGNORECASE)
_ANY_KEY = re.compile(r"^\[?-?(?:HKEY_[A-Z_]+|HK[A-Z]{2})\\", re.IGNORECASE)
MAX_LINE = 256 * 1024  # a .reg value's hex lines joined: an org list is far shorter
_QUERY_TYPE = re.compile(r"\s(REG_[A-Z0-9_]+)(?=\s|$)")  # searched, not matched with the name: linear
_REG_VALUE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*=\s*(.*)$')
_REG_TYPES = {"hex(7)": "REG_MULTI_SZ", "hex(2)": "REG_EXPAND_SZ", "hex(1)": "REG_SZ", "hex(b)": "REG_QWORD",
              "hex": "REG_BINARY"}


def detect(inp: InputFile) -> bool:
    text = head_text(inp)[:16384]
    # the case-blind search is the costly part of a walk: a head without a backslash cannot match it
    return "\\" in text and bool(re.search(r"SOFTWARE\\Policies\\Docker\\Docker Desktop", text, re.IGNORECASE))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    text = yield from machine_text(inp, ctx, NAME)
    if text is None:
        return
    machine = machine_of(inp)
    export = text.lstrip().startswith(("Windows Registry Editor", "REGEDIT4"))
    reader = _reg_values if export else _query_values
    inside = False
    found_key = False
    count = 0
    for number, line in _logical_lines(text, joined=export):
        if not line.strip():
            continue
        if _KEY_PATH.match(line.strip()):
            inside = found_key = True
            continue
        if _ANY_KEY.match(line.strip()):
            inside = False  # another key (a subkey): not the policy's values
            continue
        if not inside:
            continue
        if len(line) > MAX_LINE:
            yield inp.error(f"line longer than {MAX_LINE} characters; skipped", line=number, parser=NAME)
            continue
        parsed = reader(line)
        if parsed is None:
            if line.strip().startswith(("End of search", ";")):
                continue
            yield inp.error("not a registry value line", line=number, parser=NAME)
            continue
        name, reg_type, value, problem = parsed
        if problem:
            yield inp.error(f"value {name!r}: {problem}", line=number, parser=NAME)
            continue
        if name in ("(Default)", "@") or value is None:
            continue
        count += 1
        if count > MAX_ITEMS:
            return
        yield MachineSetting(machine, ORIGIN, name.lower(), value, inp.source(line=number, parser=NAME), name,
                             reg_type)
    if not found_key:
        yield inp.error("no HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker Desktop key in this file", line=1,
                        parser=NAME)


def _logical_lines(text: str, joined: bool) -> Iterator[tuple[int, str]]:
    """Lines with their numbers; in a .reg export, a trailing backslash continues the value on the next line."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if joined and line.rstrip().endswith("\\") and (pending or "=hex" in line):
            if not pending:
                start = number
            pending.append(line.rstrip()[:-1].strip())
            continue
        if pending:
            pending.append(line.strip())
            yield start, "".join(pending)
            pending = []
            continue
        yield number, line
    if pending:
        yield start, "".join(pending)


def _query_values(line: str) -> tuple[str, str, MachineValue, str] | None:
    match = _QUERY_TYPE.search(line)
    if match is None or not line[:1].isspace() or not line[: match.start()].strip():
        return None
    name, reg_type, raw = line[: match.start()].strip(), match.group(1), line[match.end():].strip()
    if reg_type == "REG_MULTI_SZ":
        return name, reg_type, tuple(part for part in raw.split("\\0")) if raw else (), ""
    if reg_type in ("REG_DWORD", "REG_QWORD"):
        try:
            return name, reg_type, int(raw, 16) if raw.lower().startswith("0x") else int(raw), ""
        except ValueError:
            return name, reg_type, None, f"{reg_type} value is not a number"
    return name, reg_type, raw, ""


def _reg_values(line: str) -> tuple[str, str, MachineValue, str] | None:
    match = _REG_VALUE.match(line.strip())
    if match is None:
        if line.strip().startswith("@="):
            return "@", "REG_SZ", None, ""
        return None
    name = re.sub(r"\\(.)", r"\1", match.group(1))
    raw = match.group(2).strip()
    if raw == "-":
        return name, "deleted", None, ""
    if raw.startswith('"'):
        if not raw.endswith('"') or len(raw) < 2:
            return name, "REG_SZ", None, "unterminated string"
        return name, "REG_SZ", re.sub(r"\\(.)", r"\1", raw[1:-1]), ""
    if raw.lower().startswith("dword:"):
        try:
            return name, "REG_DWORD", int(raw[6:], 16), ""
        except ValueError:
            return name, "REG_DWORD", None, "dword value is not hexadecimal"
    prefix, _, body = raw.partition(":")
    reg_type = _REG_TYPES.get(prefix.lower())
    if reg_type is None:
        return name, "unknown", None, f"unknown value type {prefix[:20]!r}"
    try:
        data = bytes(int(byte, 16) for byte in body.replace(" ", "").split(",") if byte)
    except ValueError:
        return name, reg_type, None, "hex data is not comma-separated bytes"
    if reg_type == "REG_MULTI_SZ":
        strings = data.decode("utf-16-le", errors="replace").split("\x00")
        while strings and strings[-1] == "":
            strings.pop()
        return name, reg_type, tuple(strings), ""
    if reg_type in ("REG_SZ", "REG_EXPAND_SZ"):
        return name, reg_type, data.decode("utf-16-le", errors="replace").rstrip("\x00"), ""
    if reg_type == "REG_QWORD":
        return name, reg_type, int.from_bytes(data, "little"), ""
    return name, reg_type, data.hex(), ""
