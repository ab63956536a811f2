"""Allowlist entries: host normalization, matching semantics, the formats read, and the plain formats written.

The native formats of each enforcement point (Squid, hadolint, RPZ, ...) are written by auditor/targets/.

Docker Desktop's Registry Access Management (RAM) filters by hostname at DNS level; its docs do not say
whether an entry also allows its subdomains, but Docker's own ECR example (`amazonaws.com`,
`s3.amazonaws.com`) only works if it does. Both semantics are therefore selectable: SUFFIX (an entry
covers itself and every subdomain) and EXACT (an entry covers that one name). Ports never take part.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import idna

from auditor.core import safe_json
from auditor.core.model import InputError, Source

MAX_ALLOWLIST_BYTES = 4 * 1024 * 1024
DOCKER_HUB_DEFAULT = "docker.io"  # how RAM shows its built-in Docker Hub entry
DOCKER_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "hub.docker.com"})
PARSER_NAME = "allowlist"

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class MatchMode(StrEnum):
    SUFFIX = "suffix"  # an entry covers itself and all its subdomains
    EXACT = "exact"  # an entry covers exactly that name


def normalize_host(text: str) -> str:
    """The hostname TEXT names, as a filter compares it: lowercase A-labels, no scheme/port/path/userinfo.

    Accepts `https://user@Host.Example:5000/v2/`, `[::1]:5000`, `bücher.example.`; raises ValueError
    with the reason when TEXT does not name a host.
    """
    host = text.strip()
    if not host:
        raise ValueError("empty host")
    host = _SCHEME_RE.sub("", host)
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise ValueError(f"unclosed IPv6 bracket in {text.strip()!r}")
        return _ip_text(host[1:end], text)
    if host.count(":") > 1:  # a bare IPv6 address
        return _ip_text(host, text)
    host, colon, port = host.partition(":")
    # `javascript:alert(1)` or `host:abc` is not a host with a port: only a port number may follow the colon
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"not a host: {port!r} after ':' is not a port number in {text.strip()!r}")
    host = host.rstrip(".")
    if not host:
        raise ValueError(f"no host in {text.strip()!r}")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if host.rsplit(".", 1)[-1].isdigit():
        # `300.1.1.1`: no IPv4 address, and no host name either (a top-level label is never all digits)
        raise ValueError(f"neither an IPv4 address nor a host name: {text.strip()[:80]!r}")
    if host.isascii():
        host = host.lower()
        for label in host.split("."):
            if label.startswith("xn--"):
                try:
                    idna.decode(label)
                except (idna.IDNAError, UnicodeError) as exc:
                    raise ValueError(f"invalid punycode label {label!r}: {exc}") from None
    else:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"not a valid internationalized name {host!r}: {exc}") from None
    if len(host) > 253:
        raise ValueError(f"name longer than 253 characters: {host[:40]}...")
    for label in host.split("."):
        if not _LABEL_RE.match(label):
            raise ValueError(f"invalid label {label!r} in {host!r}")
    return host


def _ip_text(address: str, original: str) -> str:
    try:
        return str(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        raise ValueError(f"invalid IP address in {original.strip()!r}") from None


def could_be_ip(host: str) -> bool:
    """Whether HOST may be an IP address at all: a colon (IPv6), or digits and dots only. Every other name (an
    ECR host starts with digits too) is not one, decided without building an address object."""
    return ":" in host or (host[-1:].isdigit() and host.replace(".", "").isdigit())  # a name ends in a letter


def is_ip(host: str) -> bool:
    if not could_be_ip(host):
        return False  # the common case
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def covers(entry_address: str, host: str, mode: MatchMode) -> bool:
    """Whether an entry ENTRY_ADDRESS lets HOST through.

    HOST may be a pattern `*.example.com` (every subdomain of example.com): only a suffix entry at
    example.com or above covers it; no exact entry does.
    """
    if host.startswith("*."):
        if mode is MatchMode.EXACT:
            return False
        host = host[2:]
        return host == entry_address or host.endswith("." + entry_address)
    if host == entry_address:
        return True
    return mode is MatchMode.SUFFIX and host.endswith("." + entry_address) and not is_ip(host)


class EntryKind(StrEnum):
    HOST = "host"  # a host name or a single IP address: what RAM and proxies match
    NETWORK = "network"  # a CIDR block (`10.0.0.0/8`) or an address range (`10.0.0.1-10.0.0.9`)


@dataclass(frozen=True)
class AllowlistEntry:
    address: str  # normalized host (see normalize_host); for a NETWORK entry, the network as written, normalized
    original: str  # as written in the input (credentials masked)
    nickname: str = ""  # RAM's "Nickname" column, kept so reports can show it and writers write it back
    rationale: str = ""
    line: int | None = None
    kind: EntryKind = EntryKind.HOST
    note: str = ""  # what normalization dropped (`https://`, a path, credentials), said once in the errors


@dataclass
class Allowlist:
    entries: list[AllowlistEntry] = field(default_factory=list)
    path: str | None = None
    # entries given again (same address), each with the earlier entry it repeats: a finding, not a silent drop
    duplicates: list[tuple[AllowlistEntry, AllowlistEntry]] = field(default_factory=list)
    _index: tuple[int, int, EntryIndex] | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[AllowlistEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def index(self) -> EntryIndex:
        """The entries by address (rebuilt when the list changed)."""
        stamp = (id(self.entries), len(self.entries))
        if self._index is None or self._index[:2] != stamp:
            self._index = (*stamp, EntryIndex(self.entries))
        return self._index[2]

    def match(self, host: str, mode: MatchMode) -> AllowlistEntry | None:
        """The narrowest entry that covers HOST (the longest address), or None."""
        found = self.index.covering(host, mode)
        return found[0] if found else None

    def has_docker_hub(self) -> bool:
        return any(entry.address in DOCKER_HUB_NAMES for entry in self.entries)

    def count(self, count_docker_hub_default: bool) -> int:
        """Entries toward RAM's 100-entry limit.

        RAM lists Docker Hub by default; whether that default entry counts toward the limit is not
        documented, hence the setting. When Docker Hub is listed explicitly it is counted once.
        """
        extra = 1 if count_docker_hub_default and not self.has_docker_hub() else 0
        return len(self.entries) + extra


MAX_REMEMBERED_ANSWERS = 250_000  # a bound on the memo's memory (about 25 MB), not a limit on answers


class EntryIndex:
    """Host entries by address, so "which entries cover this name" costs one lookup per label of the name.

    `covers(entry, host)` holds when the entry is the host or (suffix matching) a label-suffix of it, so the
    covering entries of a name are found among its own suffixes: the pairwise comparisons that made an
    allowlist of 10,000 entries take a minute become a dictionary walk. Network entries cover no name.
    The walk goes from the name's last label inward and stops at the first suffix that no entry ends in
    (`tails`), so a name under a top-level domain no entry uses costs one look-up, not one per label.
    """

    def __init__(self, entries: Iterable[AllowlistEntry]) -> None:
        self.by_address: dict[str, AllowlistEntry] = {}
        self.tails: set[str] = set()  # every label-suffix of every entry's address, the address included
        self._answers: dict[str, tuple[AllowlistEntry, ...]] = {}  # _suffix_covering's, by host
        for entry in entries:
            if entry.kind is EntryKind.HOST:
                address = entry.address
                self.by_address.setdefault(address, entry)
                dot = address.rfind(".")
                while dot >= 0:
                    self.tails.add(address[dot + 1:])
                    dot = address.rfind(".", 0, dot)
                self.tails.add(address)

    def covering(self, host: str, mode: MatchMode) -> tuple[AllowlistEntry, ...]:
        """The entries that cover HOST (as `covers` decides), narrowest first."""
        if mode is MatchMode.SUFFIX:
            return self._suffix_covering(host)
        if host.startswith("*."):
            return ()
        exact = self.by_address.get(host)
        return (exact,) if exact is not None else ()

    def _suffix_covering(self, host: str) -> tuple[AllowlistEntry, ...]:
        """The answer for HOST, remembered: an audit asks it about each required and observed host four or five
        times (missing, unused, over-broad, the report's rows), 10^5 hosts in a fleet."""
        memo = self._answers
        found = memo.get(host)
        if found is None:
            found = self._suffix_walk(host)
            if len(memo) >= MAX_REMEMBERED_ANSWERS:
                memo.clear()
            memo[host] = found
        return found

    def _suffix_walk(self, host: str) -> tuple[AllowlistEntry, ...]:
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        exact = self.by_address.get(host)
        wider: list[AllowlistEntry] = []  # widest first, as the walk meets them
        tails = self.tails
        dot = host.rfind(".")
        while dot >= 0:
            tail = host[dot + 1:]
            if tail not in tails:
                break
            entry = self.by_address.get(tail)
            if entry is not None:
                wider.append(entry)
            dot = host.rfind(".", 0, dot)
        if wider and not wildcard and is_ip(host):
            wider = []  # an address is matched whole: 10.0.0.1 is not under an entry 0.1
        if not wider:
            return (exact,) if exact is not None else ()
        wider.reverse()
        return (exact, *wider) if exact is not None else tuple(wider)


# -- reading -------------------------------------------------------------------------------------


def read_allowlist(path: Path) -> tuple[Allowlist, list[InputError]]:
    """Read an allowlist file: plain text, CSV, JSON or Squid `acl NAME dstdomain` lines.

    Invalid entries become InputErrors naming the line; the valid rest is kept.
    """
    display = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ALLOWLIST_BYTES + 1)
    except OSError as exc:
        return Allowlist([], display), [InputError(f"cannot read allowlist: {exc.strerror or exc}", Source(display))]
    return read_allowlist_bytes(raw, display, path.suffix.lower())


def read_allowlist_bytes(raw: bytes, display: str, suffix: str = "") -> tuple[Allowlist, list[InputError]]:
    """The same from RAW, the first MAX_ALLOWLIST_BYTES + 1 bytes of a file or of standard input."""
    errors: list[InputError] = []
    if len(raw) > MAX_ALLOWLIST_BYTES:
        errors.append(InputError(f"allowlist larger than {MAX_ALLOWLIST_BYTES} bytes: the rest is ignored",
                                 Source(display)))
        raw = raw[:MAX_ALLOWLIST_BYTES]
        raw = raw[:raw.rfind(b"\n") + 1] or raw  # never keep half a line
    if b"\0" in raw[:8192]:
        return Allowlist([], display), [InputError("allowlist is a binary file", Source(display))]
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    entries = list(parse_allowlist_text(text, display, suffix, errors))
    kept, duplicates = _dedupe(entries)
    return Allowlist(kept, display, duplicates), errors


def parse_allowlist_text(text: str, display: str, suffix: str, errors: list[InputError]
                         ) -> Iterator[AllowlistEntry]:
    stripped = text.lstrip()
    if suffix == ".json" or (suffix not in (".csv", ".txt") and stripped[:1] in ("[", "{")):
        yield from _read_json(text, display, errors)
    elif suffix == ".csv" or (suffix != ".txt" and _looks_csv(text)):
        yield from _read_csv(text, display, errors)
    else:
        yield from _read_lines(text, display, errors)


def _looks_csv(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return bool(lines) and sum("," in ln or ";" in ln for ln in lines) * 2 >= len(lines)


def _network(text: str) -> str | None:
    """TEXT as a network when it is a CIDR block or an address range (`a-b`), normalized; else None."""
    try:
        if "/" in text:
            address, _, prefix = text.partition("/")
            if prefix.isdigit() and is_ip(address):
                return str(ipaddress.ip_network(text, strict=False))
        elif "-" in text:
            first, _, last = text.partition("-")
            if is_ip(first.strip()) and is_ip(last.strip()):
                return f"{ipaddress.ip_address(first.strip())}-{ipaddress.ip_address(last.strip())}"
    except ValueError:
        return None
    return None


_URL_PARTS = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)?(?:(?P<userinfo>[^@/?#]*)@)?(?P<rest>.*)$", re.DOTALL)


def _masked(text: str) -> str:
    """TEXT with the credentials of a URL form (`user:password@`) replaced: they must reach no report."""
    parts = _URL_PARTS.match(text)
    if parts is None or parts["userinfo"] is None:
        return text
    return f"{parts['scheme'] or ''}***@{parts['rest']}"


def _dropped(text: str) -> list[str]:
    """What normalizing TEXT to its host leaves out: a scheme, credentials, a port, a path or query."""
    parts = _URL_PARTS.match(text)
    if parts is None:
        return []
    dropped = []
    if parts["scheme"]:
        dropped.append(f"the scheme {parts['scheme']!r}")
    if parts["userinfo"] is not None:
        dropped.append("credentials")
    rest = parts["rest"]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if not authority.startswith("[") and authority.count(":") == 1:
        dropped.append(f"the port {':' + authority.split(':', 1)[1]!r}")
    elif authority.startswith("[") and "]:" in authority:
        dropped.append(f"the port {':' + authority.rsplit(']:', 1)[1]!r}")
    if tail.rstrip("/"):
        dropped.append(f"the path {_short(tail)!r}")
    return dropped


def _entry(original: str, line: int | None, display: str, errors: list[InputError],
           nickname: str = "", rationale: str = "") -> AllowlistEntry | None:
    text = original.strip()
    network = _network(text)
    if network is not None:
        # kept, as what it is: the audit reports that RAM (host names) lets nothing through for it
        return AllowlistEntry(network, text, nickname.strip(), rationale.strip(), line, EntryKind.NETWORK)
    # `*.example.com` and Squid's `.example.com` name the domain and its subdomains: that is what a
    # suffix entry already means, so the marker is dropped and the entry kept.
    bare = text[2:] if text.startswith("*.") else text[1:] if text.startswith(".") else text
    shown = _masked(text)
    if "*" in bare:
        errors.append(InputError(f"wildcard entry {_short(shown)!r}: only a leading '*.' is understood",
                                 Source(display, line)))
        return None
    try:
        address = normalize_host(bare)
    except ValueError as exc:
        errors.append(InputError(f"invalid allowlist entry {_short(shown)!r}: {_masked(str(exc))}",
                                 Source(display, line)))
        return None
    note = ""
    dropped = _dropped(bare)
    # a port alone is how registries are often written (`host:5000`) and matching ignores it: no note for it
    if dropped and not all(part.startswith("the port") for part in dropped):
        note = f"read as {address!r}: dropped {', '.join(dropped)} (an allowlist matches host names only)"
        errors.append(InputError(f"allowlist entry {_short(shown)!r} {note}", Source(display, line)))
    return AllowlistEntry(address, shown, nickname.strip(), rationale.strip(), line, note=note)


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _read_lines(text: str, display: str, errors: list[InputError]) -> Iterator[AllowlistEntry]:
    lines = text.splitlines()
    # A Squid configuration: only its dstdomain/dst acls are allowlist entries; other directives are not.
    squid = any(line.lstrip().startswith("acl ") for line in lines)
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if squid:
            if words[0] != "acl" or len(words) < 3:
                continue
            if words[2] in ("dstdomain", "dst"):
                for word in words[3:]:
                    entry = _entry(word, number, display, errors, nickname=words[1])
                    if entry:
                        yield entry
            elif words[2] in ("dstdom_regex", "ssl::server_name", "ssl::server_name_regex"):
                errors.append(InputError(f"Squid acl type {words[2]} is not supported; entries ignored",
                                         Source(display, number)))
            continue
        if line.startswith("trustedRegistries"):
            continue
        if line.startswith("- "):  # a YAML list item, e.g. hadolint trustedRegistries
            line = line[2:].strip().strip("'\"")
        if len(line.split()) > 1:
            errors.append(InputError(f"expected one host per line, got {_short(line)!r}", Source(display, number)))
            continue
        entry = _entry(line, number, display, errors)
        if entry:
            yield entry


_ADDRESS_HEADERS = frozenset({"address", "registry address", "registry", "host", "hostname", "domain", "url",
                              "registry url", "registry host"})
_NICKNAME_HEADERS = frozenset({"nickname", "name", "display name"})
_RATIONALE_HEADERS = frozenset({"rationale", "comment", "comments", "description", "note", "notes", "reason"})


def _columns(row: list[str]) -> tuple[int, int | None, int | None] | None:
    """(address, nickname, rationale) column indexes when ROW is a header (any order: RAM's console
    exports `Registry address,Nickname`), else None."""
    names = [cell.strip().strip("\ufeff").lower() for cell in row]

    def find(wanted: frozenset[str]) -> int | None:
        return next((i for i, name in enumerate(names) if name in wanted), None)

    address = find(_ADDRESS_HEADERS)
    return None if address is None else (address, find(_NICKNAME_HEADERS), find(_RATIONALE_HEADERS))


def _delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    return ";" if first.count(";") > first.count(",") else ","


def _read_csv(text: str, display: str, errors: list[InputError]) -> Iterator[AllowlistEntry]:
    rows = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    columns: tuple[int, int | None, int | None] = (0, 1, 2)
    seen_row = False
    try:
        for row in rows:
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if not seen_row:
                seen_row = True
                header = _columns(row)
                if header is not None:
                    columns = header
                    continue

            def cell(index: int | None, row: list[str] = row) -> str:
                return row[index] if index is not None and index < len(row) else ""

            if not cell(columns[0]).strip():
                errors.append(InputError("CSV row without an address", Source(display, rows.line_num)))
                continue
            entry = _entry(cell(columns[0]), rows.line_num, display, errors, cell(columns[1]), cell(columns[2]))
            if entry:
                yield entry
    except csv.Error as exc:
        errors.append(InputError(f"CSV error: {exc}", Source(display, rows.line_num)))


def _read_json(text: str, display: str, errors: list[InputError]) -> Iterator[AllowlistEntry]:
    try:
        data = safe_json.loads(text)
    except safe_json.JsonInputError as exc:
        errors.append(InputError(exc.message, Source(display, exc.line)))
        return
    if isinstance(data, dict):
        data = data.get("entries", data.get("allowlist", data.get("registries")))
    if not isinstance(data, list):
        errors.append(InputError("JSON allowlist must be a list or an object with an 'entries' list",
                                 Source(display)))
        return
    for index, item in enumerate(data):
        if isinstance(item, str):
            entry = _entry(item, _json_line(text, item), display, errors)
        elif isinstance(item, dict):
            address = item.get("address", item.get("host", item.get("name")))
            if not isinstance(address, str):
                errors.append(InputError(f"JSON entry {index} has no 'address' string", Source(display)))
                continue
            entry = _entry(address, _json_line(text, address), display, errors, str(item.get("nickname", "") or ""),
                           str(item.get("rationale", "") or ""))
        else:
            errors.append(InputError(f"JSON entry {index} is neither a string nor an object", Source(display)))
            continue
        if entry:
            yield entry


def _json_line(text: str, value: str) -> int | None:
    """The line where VALUE first appears as a JSON string (json.loads keeps no positions)."""
    position = text.find(json.dumps(value))
    return None if position < 0 else text.count("\n", 0, position) + 1


def _dedupe(entries: list[AllowlistEntry]
            ) -> tuple[list[AllowlistEntry], list[tuple[AllowlistEntry, AllowlistEntry]]]:
    """(the first entry of each address, the later ones paired with the first)."""
    first: dict[tuple[str, EntryKind], AllowlistEntry] = {}
    kept = []
    duplicates = []
    for entry in entries:
        earlier = first.get((entry.address, entry.kind))
        if earlier is None:
            first[(entry.address, entry.kind)] = entry
            kept.append(entry)
        else:
            duplicates.append((entry, earlier))
    return kept, duplicates


# -- writing -------------------------------------------------------------------------------------


def write_text(entries: Iterable[AllowlistEntry]) -> str:
    """One address a line, the rationale as a trailing comment (RAM's console takes the addresses)."""
    lines = []
    for entry in entries:
        comment = f"  # {_one_line(entry.rationale)}" if entry.rationale else ""
        lines.append(f"{entry.address}{comment}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_csv(entries: Iterable[AllowlistEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["address", "nickname", "rationale"])
    for entry in entries:
        writer.writerow([entry.address, entry.nickname, _one_line(entry.rationale)])
    return buffer.getvalue()


def write_json(entries: Iterable[AllowlistEntry]) -> str:
    data = {"entries": [{"address": e.address, "nickname": e.nickname, "rationale": e.rationale}
                        for e in entries]}
    return json.dumps(data, indent=2) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
