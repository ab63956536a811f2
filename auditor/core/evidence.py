"""The evidence store: every record the parsers yield, kept in bounded memory.

Static records (references, unresolved items, errors) are few and kept whole. Traffic and log records
can number in the tens of millions, so they are folded as they arrive: one row per host in a columnar
HostTable (auditor/core/host_table.py: about 160 bytes a host besides its name and source samples, where an
object per host cost 455), one aggregate per redirect edge and per blocked host, and a bounded timeline of
connection starts for the timing analysis (columns too). Memory therefore grows with the number of
distinct hosts, not with input size, and that number is bounded too (MAX_HOSTS, past which only
registry-related hosts are still kept).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from auditor.core.host_table import HostTable, Timeline
from auditor.core.model import (
    BlockedAttempt,
    BlockReason,
    BuildxBuilder,
    Confidence,
    DockerContext,
    EdgeVia,
    Evidence,
    HostReference,
    HostsEntry,
    ImageReference,
    InputError,
    InputRecord,
    MachineRecord,
    MachineSetting,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
    Unresolved,
)
from auditor.core.reference import partial_reference

if TYPE_CHECKING:
    import pandas as pd

MAX_SOURCES_PER_ITEM = 5  # evidence samples kept per edge or blocked group
MAX_SOURCES_PER_HOST = 3  # and per observed host, of which there can be very many
MAX_CLIENTS_PER_ITEM = 10_000
MAX_TIMELINE = 500_000
# Distinct observed hosts, redirect edges and blocked hosts kept (a few hundred bytes each): a guard against inputs
# that name a new host on every line (hostile, or a resolver under a random-subdomain flood), which would
# otherwise grow memory without end. Past it, a new host is kept only if `worth_keeping` says so (a
# registry host of the knowledge base, a host the inputs reference, a redirect target of such a host), up
# to twice the limit; the others are counted in `not_kept` and reported once as an input error.
MAX_HOSTS = 200_000
MAX_RAW_BLOCKED = 100_000
TIMELINE_KINDS = frozenset({ObservationKind.TLS_SNI, ObservationKind.HTTP_HOST, ObservationKind.DNS_QUERY})
# how strongly an edge's evidence shows it (the knowledge base's CONFIDENCE_ORDER; core does not import knowledge)
_STRENGTH = {Confidence.HIGH: 3, Confidence.MEDIUM: 2, Confidence.LOW: 1, Confidence.UNCONFIRMED: 0}


def _keep_sample(samples: list[Source], source: Source | None) -> None:
    if source is not None and len(samples) < MAX_SOURCES_PER_ITEM and source not in samples:
        samples.append(source)


def _widen(first: float | None, last: float | None, start: float | None, end: float | None
           ) -> tuple[float | None, float | None]:
    if start is not None:
        first = start if first is None else min(first, start)
    end = end if end is not None else start
    if end is not None:
        last = end if last is None else max(last, end)
    return first, last


def _with_client(held: str | set[str] | None, client: str) -> str | set[str] | None:
    """HELD (no client, one client as a plain string, or a set of them) with CLIENT added; HELD itself when
    the set is full (MAX_CLIENTS_PER_ITEM). One string, not a set, for the usual single client: an empty
    set alone costs 216 bytes, and a resolver log can name hundreds of thousands of hosts."""
    if held is None:
        return sys.intern(client)  # the same few client addresses, held by every host: one string each
    if type(held) is str:
        return held if held == client else {held, client}
    if len(held) < MAX_CLIENTS_PER_ITEM:
        held.add(client)  # type: ignore[union-attr]
    return held


def _with_sample(held: Any, item: Any, limit: int) -> Any:
    """HELD (nothing, one sample, or a list of up to LIMIT distinct ones) with ITEM added: one sample is
    held bare, a list made only for the second (an empty list costs 56 bytes, per host)."""
    if held is None:
        return item
    if type(held) is list:
        if len(held) < limit and item not in held:
            held.append(item)
        return held
    return held if held == item else [held, item]


def _as_list(held: Any) -> list[Any]:
    return [] if held is None else list(held) if type(held) is list else [held]


def _as_set(held: str | set[str] | None) -> set[str]:
    if held is None:
        return set()
    return {held} if type(held) is str else set(held)


class _HeldViews:
    """The `clients` and `sources` of an aggregate that holds them compactly (`_with_client`,
    `_with_sample`), as copies."""

    __slots__ = ()
    held_clients: str | set[str] | None
    held_sources: Source | list[Source] | None

    @property
    def clients(self) -> set[str]:
        """The clients seen (at most MAX_CLIENTS_PER_ITEM)."""
        return _as_set(self.held_clients)

    @property
    def sources(self) -> list[Source]:
        """Where it was seen: the first few samples, the first first."""
        return _as_list(self.held_sources)


class HostActivity(_HeldViews):
    """Everything observed about one host, folded: a view of its row in the store's HostTable (columns, not an
    object per host: a resolver log or an all-DNS capture can name hundreds of thousands of hosts).

    `HostActivity(host)` alone makes a one-row table of its own. Reading an attribute reads the column;
    setting one writes it. `kinds`, `rcodes`, `clients` and `sources` are copies.
    """

    __slots__ = ("_row", "_table")
    _table: HostTable
    _row: int

    def __init__(self, host: str, count: int = 0, first: float | None = None, last: float | None = None) -> None:
        table = HostTable()
        self._table = table
        self._row = table.new_row(host)
        self.count, self.first, self.last = count, first, last

    @classmethod
    def of_row(cls, table: HostTable, row: int) -> HostActivity:
        view = cls.__new__(cls)
        view._table = table
        view._row = row
        return view

    @property
    def host(self) -> str:
        return self._table.hosts[self._row]

    @property
    def count(self) -> int:
        return self._table.count[self._row]

    @count.setter
    def count(self, value: int) -> None:
        self._table.count[self._row] = value

    @property
    def first(self) -> float | None:
        return self._table.first_time(self._row)

    @first.setter
    def first(self, value: float | None) -> None:
        self._table.first[self._row] = math.nan if value is None else value

    @property
    def last(self) -> float | None:
        return self._table.last_time(self._row)

    @last.setter
    def last(self, value: float | None) -> None:
        self._table.last[self._row] = math.nan if value is None else value

    @property
    def held_clients(self) -> str | set[str] | None:  # see `clients`; `clients_overflow`: more than it holds
        return self._table.clients[self._row]

    @held_clients.setter
    def held_clients(self, value: str | set[str] | None) -> None:
        self._table.clients[self._row] = value

    @property
    def clients_overflow(self) -> bool:
        return bool(self._table.overflow[self._row])

    @clients_overflow.setter
    def clients_overflow(self, value: bool) -> None:
        self._table.overflow[self._row] = 1 if value else 0

    @property
    def registry_api_calls(self) -> int:  # HTTP requests with a /v2/ path
        return self._table.api_calls[self._row]

    @registry_api_calls.setter
    def registry_api_calls(self, value: int) -> None:
        self._table.api_calls[self._row] = value

    @property
    def held_sources(self) -> Source | list[Source] | None:  # see `sources`
        return self._table.sources[self._row]

    @held_sources.setter
    def held_sources(self, value: Source | list[Source] | None) -> None:
        self._table.sources[self._row] = value

    @property
    def held_rcodes(self) -> dict[str, int] | None:  # see `rcodes`
        return self._table.rcodes.get(self._row)

    @held_rcodes.setter
    def held_rcodes(self, value: dict[str, int] | None) -> None:
        if value is None:
            self._table.rcodes.pop(self._row, None)
        else:
            self._table.rcodes[self._row] = value

    @property
    def rcodes(self) -> dict[str, int]:
        """Responses per rcode (a copy; most hosts have none: the dict is made on the first)."""
        return dict(self._table.rcodes.get(self._row) or {})

    @property
    def kinds(self) -> dict[str, int]:
        """Observations per kind (a copy). One kind is held bare (it has all of `count`): a dict per host costs
        160 bytes, and most hosts are seen one way only."""
        held = self._table.kinds[self._row]
        if held is None:
            return {}
        return dict(held) if type(held) is dict else {held: self.count}

    @property
    def held_kinds(self) -> Any:
        """The kinds as the row holds them (None, the one kind, or a dict): for copying the row whole."""
        return self._table.kinds[self._row]

    def add_kinds(self, kinds: dict[str, int]) -> None:
        """KINDS (kind -> observations) counted in; call it before `count` grows by their sum."""
        if len(kinds) == 1:
            ((kind, count),) = kinds.items()
            self._add_kind(kind, count)
        elif kinds:
            table, row = self._table, self._row
            held = table.kinds[row]
            merged = {} if held is None else dict(held) if type(held) is dict else {held: table.count[row]}
            for kind, count in kinds.items():
                merged[kind] = merged.get(kind, 0) + count
            table.kinds[row] = merged

    def _add_kind(self, kind: str, count: int) -> None:
        """One kind's COUNT counted in, before `count` grows by it."""
        table, row = self._table, self._row
        held = table.kinds[row]
        if held is None:
            table.kinds[row] = kind if table.count[row] == 0 else {kind: count}
        elif type(held) is dict:
            held[kind] = held.get(kind, 0) + count
        elif held != kind:
            table.kinds[row] = {held: table.count[row], kind: count}

    def add(self, obs: Observation) -> None:
        table, row = self._table, self._row
        self._add_kind(obs.kind, obs.count)
        table.count[row] += obs.count
        start, end = obs.time, obs.last_time
        if start is not None:
            first = table.first[row]
            if first != first or start < first:
                table.first[row] = start
        end = end if end is not None else start
        if end is not None:
            last = table.last[row]
            if last != last or end > last:
                table.last[row] = end
        client = obs.client
        if client:
            held = table.clients[row]
            if client != held:  # the usual repeat of the one client costs one compare
                grown = _with_client(held, client)
                if grown is held and client not in held:  # type: ignore[operator]
                    table.overflow[row] = 1
                table.clients[row] = grown
        if obs.rcode:
            rcodes = table.rcodes.get(row)
            if rcodes is None:
                rcodes = table.rcodes[row] = {}
            rcodes[obs.rcode] = rcodes.get(obs.rcode, 0) + obs.count
        if obs.kind is ObservationKind.HTTP_HOST and (obs.detail == "/v2" or obs.detail.startswith("/v2/")):
            table.api_calls[row] += obs.count
        if obs.source is not None:
            table.sources[row] = _with_sample(table.sources[row], obs.source, MAX_SOURCES_PER_HOST)

    def _fields(self) -> tuple[object, ...]:
        return (self.host, self.count, self.first, self.last, self.held_clients, self.clients_overflow, self.kinds,
                self.held_rcodes or None, self.registry_api_calls, self.sources)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HostActivity):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"HostActivity(host={self.host!r}, count={self.count}, first={self.first}, last={self.last}, "
                f"clients={sorted(self.clients)}, kinds={self.kinds}, sources={self.sources})")

    def __copy__(self) -> HostActivity:
        """A row of a table of its own, with the same values (a view copied is not the same row)."""
        copy = HostActivity(self.host)
        copy._table[self.host] = self
        return copy

    def __reduce__(self) -> tuple[Any, ...]:
        copy = self.__copy__()
        return (HostActivity.of_row, (copy._table, 0))


HostTable.view_of = HostActivity.of_row  # the table's rows are read through this view


@dataclass(slots=True)
class EdgeAggregate(_HeldViews):
    from_host: str
    to_host: str
    via: EdgeVia
    confidence: Confidence
    count: int = 0
    first: float | None = None
    held_details: str | list[str] | None = None  # held as HostActivity holds its samples
    held_clients: str | set[str] | None = None
    held_sources: Source | list[Source] | None = None

    @property
    def details(self) -> list[str]:
        return _as_list(self.held_details)

    def edge(self) -> RedirectEdge:
        return RedirectEdge(self.from_host, self.to_host, self.via, self.confidence,
                            tuple(self.sources), "; ".join(self.details), self.first)


@dataclass
class BlockedGroup:
    """Blocked attempts for one host: a retry storm is one group, not a thousand findings."""

    host: str
    count: int = 0
    first: float | None = None
    last: float | None = None
    clients: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    hours: Counter[int] = field(default_factory=Counter)  # epoch hour -> attempts, for the time profile
    images: set[str] = field(default_factory=set)
    details: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def add(self, attempt: BlockedAttempt) -> None:
        self.count += attempt.count
        self.first, self.last = _widen(self.first, self.last, attempt.time, attempt.last_time)
        if attempt.client and len(self.clients) < MAX_CLIENTS_PER_ITEM:
            self.clients.add(attempt.client)
        self.reasons[attempt.reason.value] += attempt.count
        if attempt.time is not None:  # a folded storm is counted in the hour it started
            self.hours[int(attempt.time // 3600)] += attempt.count
        if attempt.image and len(self.images) < 100:
            self.images.add(attempt.image)
        if attempt.detail and attempt.detail not in self.details and len(self.details) < MAX_SOURCES_PER_ITEM:
            self.details.append(attempt.detail)
        _keep_sample(self.sources, attempt.source)


@dataclass
class EvidenceStore:
    references: list[ImageReference] = field(default_factory=list)
    host_references: list[HostReference] = field(default_factory=list)
    activity: HostTable = field(default_factory=HostTable)  # host -> HostActivity, by column
    edges: dict[tuple[str, str, EdgeVia], EdgeAggregate] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)  # (time, client, host, kind), by column
    timeline_overflow: bool = False
    blocked: list[BlockedAttempt] = field(default_factory=list)
    blocked_total: int = 0
    blocked_groups: dict[str, BlockedGroup] = field(default_factory=dict)
    unresolved: list[Unresolved] = field(default_factory=list)
    # Inputs named on the command line that gave nothing at all (missing, unreadable, of no known kind, a directory
    # holding no known input): also in `errors`; they fail the run with exit 2 whatever --strict says.
    unusable: list[InputError] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    inputs: list[InputRecord] = field(default_factory=list)
    machine_records: list[MachineRecord] = field(default_factory=list)  # machine bundles, in input order
    skipped_files: int = 0
    # past MAX_HOSTS: whether a new host is kept all the same (set by collect: the knowledge base's hosts)
    worth_keeping: Callable[[str], bool] | None = field(default=None, repr=False)
    not_kept: Counter[str] = field(default_factory=Counter)  # what ("observations" ...) -> records not kept
    # the first and last time of records a reader counted rather than kept (a window read in focus): still
    # part of the time the evidence covers
    counted_span: tuple[float | None, float | None] = (None, None)
    _kept_anyway: set[str] = field(default_factory=set, repr=False)  # referenced hosts, edge ends
    # hosts worth_keeping said no to, while a reader of many hosts asks about each more than once (see
    # remember_refusals); None otherwise, so nothing extra is held or pickled
    _unworthy: set[str] | None = field(default=None, repr=False, compare=False)
    # A file can be read twice (a GitLab include that a directory walk also finds; the same path named
    # twice; a Dockerfile read by compose with its build args and again on its own): the same record
    # from the same place is one record, not two. For image references "the same" means the same
    # resolved name at the same file and line; a Dockerfile that compose's build args resolve to
    # another name than its defaults do keeps both.
    _seen_static: set[object] = field(default_factory=set, repr=False)
    # A Dockerfile read through compose or bake (its build args resolve a name) and again on its own (the same
    # FROM unresolved for want of them) is one reference: the resolved record keeps both contexts, the
    # unresolved one is dropped. Indexed by (path, line), so the check costs nothing for other records.
    _reference_index: dict[object, int] = field(default_factory=dict, repr=False)
    _references_at: dict[tuple[str, int], list[int]] = field(default_factory=dict, repr=False)
    _unresolved_at: dict[tuple[str, int], list[Unresolved]] = field(default_factory=dict, repr=False)
    _unresolved_index: dict[object, int] = field(default_factory=dict, repr=False)
    # references made from an Unresolved whose host is certain, by place: a resolved read of the same line
    # (compose's build args) takes such a reference's place instead of standing beside it
    _partials_at: dict[tuple[str, int], list[tuple[int, Unresolved]]] = field(default_factory=dict, repr=False)

    def add(self, record: Evidence) -> None:
        match record:
            case Observation():
                self._observe(record)
            case ImageReference():
                self._add_reference(record)
                self._kept_anyway.update((record.endpoint, record.registry))
            case HostReference():
                self._add_once(self.host_references, record)
                self._kept_anyway.add(record.host)
            case RedirectEdge():
                self.add_edge(record)
            case BlockedAttempt():
                self._block(record)
            case Unresolved():
                self._add_unresolved(record)
            case InputError():
                self._add_once(self.errors, record)
            case MachineSetting() | HostsEntry() | BuildxBuilder() | DockerContext():
                self._add_once(self.machine_records, record)
            case _:
                raise TypeError(f"not an evidence record: {record!r}")

    def _add_reference(self, ref: ImageReference) -> None:
        identity = _reference_identity(ref)
        held = self._reference_index.get(identity)
        if held is not None:  # the same pull from the same place: one record, naming every context it was read in
            kept = self.references[held]
            self.references[held] = replace(kept, context=_with_context(kept.context, ref.context))
            return
        place = _place(ref.source)
        if place is not None and self._takes_partials_place(ref, identity, place):
            return
        self._seen_static.add(identity)
        self._reference_index[identity] = len(self.references)
        self.references.append(ref)
        if place is None:
            return
        self._references_at.setdefault(place, []).append(len(self.references) - 1)
        for unresolved in list(self._unresolved_at.get(place, ())):
            if _resolves(ref, unresolved):
                self.unresolved.remove(unresolved)
                self._unresolved_at[place].remove(unresolved)
                self._unresolved_index = {key: position for position, key in enumerate(
                    (u.text, u.reason, _place(u.source)) for u in self.unresolved)}
                self._note_context(len(self.references) - 1, unresolved)

    def _add_unresolved(self, record: Unresolved) -> None:
        place = _place(record.source)
        if place is not None:
            for position in self._references_at.get(place, ()):
                if _resolves(self.references[position], record):
                    if record not in self._seen_static:
                        self._seen_static.add(record)
                        self._note_context(position, record)
                    return
        identity = (record.text, record.reason, place)
        held = self._unresolved_index.get(identity) if place is not None else None
        if held is not None:  # the same unresolved text read again (another bake target, job ...): one record
            kept = self.unresolved[held]
            merged = replace(kept, context=_with_context(kept.context, record.context))
            if merged != kept:
                self.unresolved[held] = merged
                self._unresolved_at[place] = [merged if u is kept else u for u in self._unresolved_at[place]]
            return
        if record not in self._seen_static:
            self._seen_static.add(record)
            partial = partial_reference(record.text, record.reason)
            if partial is not None:  # the host is certain: the pull needs it whatever the tag turns out to be
                self._add_partial(replace(partial, source=record.source, context=record.context), record, place)
                return
            if place is not None:
                self._unresolved_index[identity] = len(self.unresolved)
                self._unresolved_at.setdefault(place, []).append(record)
            self.unresolved.append(record)

    def _add_partial(self, ref: ImageReference, record: Unresolved, place: tuple[str, int] | None) -> None:
        identity = _reference_identity(ref)
        fresh = identity not in self._reference_index
        self._add_reference(ref)
        position = self._reference_index.get(identity)
        if fresh and place is not None and position is not None:
            self._partials_at.setdefault(place, []).append((position, record))

    def _takes_partials_place(self, ref: ImageReference, identity: object, place: tuple[str, int]) -> bool:
        """Whether REF, a resolved read of a line that an unresolved read already made a partial reference of,
        replaces that reference (keeping its context as a note)."""
        for entry in self._partials_at.get(place, ()):
            position, unresolved = entry
            if _resolves(ref, unresolved):
                del self._reference_index[_reference_identity(self.references[position])]
                self._seen_static.add(identity)
                self._reference_index[identity] = position
                self.references[position] = ref
                self._partials_at[place].remove(entry)
                self._note_context(position, unresolved)
                return True
        return False

    def _note_context(self, position: int, unresolved: Unresolved) -> None:
        kept = self.references[position]
        parser = unresolved.source.parser if unresolved.source else ""
        note = f"{unresolved.context} ({parser} alone: {unresolved.reason})" if parser else unresolved.context
        self.references[position] = replace(kept, context=_with_context(kept.context, note))

    def _add_once(self, bucket: list[Any], record: Evidence, identity: object = None) -> None:
        key = record if identity is None else identity
        if key not in self._seen_static:
            self._seen_static.add(key)
            bucket.append(record)

    def _room(self, table: dict | HostTable, hosts: tuple[str, ...], what: str, count: int,
              source: Source | None) -> bool:
        """Whether TABLE may take a new entry for HOSTS; if not, COUNT is counted as not kept (the first
        time reported as an error at SOURCE)."""
        if self.has_room(table, hosts):
            return True
        self.refuse(what, count, source)
        return False

    def has_room(self, table: dict | HostTable, hosts: tuple[str, ...]) -> bool:
        """Whether TABLE (`activity`, `edges`, `blocked_groups`) may take a new entry for HOSTS; nothing changes."""
        size = len(table)
        if size < MAX_HOSTS:
            return True
        return size < 2 * MAX_HOSTS and any(self._worth_keeping(host) for host in hosts)

    def new_hosts_kept(self, hosts: Iterable[str]) -> set[str]:
        """Of HOSTS (distinct, in the order their observations will be added), the ones `add` will keep: a
        reader of millions of hosts (a year of a resolver's long tail) makes records only for those, and
        counts the rest with `refuse`, with the same outcome as adding every record."""
        table = self.activity
        size = len(table)
        kept: set[str] = set()
        for host in hosts:
            if table.row(host) is not None:
                kept.add(host)
            elif size < MAX_HOSTS or (size < 2 * MAX_HOSTS and self._worth_keeping(host)):
                kept.add(host)
                size += 1
        return kept

    def refuse(self, what: str, count: int, source: Source | None) -> None:
        """COUNT records of WHAT not kept for want of room (the first time reported as an error at SOURCE)."""
        if not self.not_kept[what]:
            self.errors.append(InputError(
                f"more than {MAX_HOSTS:,} distinct hosts: from here on, {what} of further hosts are counted, "
                "not kept (registry hosts the knowledge base or the inputs name are still kept); split the "
                "inputs to see them all", source or Source("(inputs)")))
        self.not_kept[what] += count

    def count_unlisted(self, counts: dict[str, int], message: str) -> None:
        """Records a reader chose not to make (a window read in focus, past MAX_HOSTS), counted in `not_kept`
        with its own account of what it kept: one error."""
        if any(counts.values()):
            self.errors.append(InputError(message, Source("(store)")))
        for what, count in counts.items():
            if count:
                self.not_kept[what] += count

    @property
    def kept_anyway(self) -> set[str]:
        """Hosts kept past the limit because the evidence names them (referenced hosts, edge ends)."""
        return self._kept_anyway

    def _worth_keeping(self, host: str) -> bool:
        if host in self._kept_anyway:
            return True
        if self.worth_keeping is None:
            return False
        unworthy = self._unworthy
        if unworthy is not None and host in unworthy:
            return False
        if self.worth_keeping(host):
            return True
        if unworthy is not None:
            unworthy.add(host)
        return False

    def remember_refusals(self, on: bool) -> None:
        """While ON, remember the hosts `worth_keeping` refused (it answers the same for a host every time): a
        window read past the host limit asks about a refused host's observations and then its edges."""
        self._unworthy = set() if on else None

    def _observe(self, obs: Observation) -> None:
        table = self.activity
        row = table.row(obs.host)
        if row is None:
            if not self._room(table, (obs.host,), "observations", obs.count, obs.source):
                return
            row = table.new_row(obs.host)
        HostActivity.of_row(table, row).add(obs)
        if obs.kind in TIMELINE_KINDS and obs.time is not None and obs.client:
            if len(self.timeline) < MAX_TIMELINE:
                self.timeline.append((obs.time, sys.intern(obs.client), obs.host, obs.kind.value))
            else:
                self.timeline_overflow = True

    def add_edge(self, edge: RedirectEdge, count: int = 1) -> None:
        key = (edge.from_host, edge.to_host, edge.via)
        agg = self.edges.get(key)
        if agg is None:
            if not self._room(self.edges, (edge.from_host, edge.to_host), "redirect edges", count,
                              edge.evidence[0] if edge.evidence else None):
                return
            if len(self.activity) >= MAX_HOSTS and (self._worth_keeping(edge.from_host)
                                                    or self._worth_keeping(edge.to_host)):
                # the host table is full: a registry host's redirect target is kept all the same
                self._kept_anyway.update((edge.from_host, edge.to_host))
            agg = self.edges[key] = EdgeAggregate(edge.from_host, edge.to_host, edge.via, edge.confidence)
        elif _STRENGTH[edge.confidence] > _STRENGTH[agg.confidence]:
            agg.confidence = edge.confidence  # the same edge seen better (a probe after a timing guess): the strongest
        agg.count += count
        if edge.time is not None:
            agg.first = edge.time if agg.first is None else min(agg.first, edge.time)
        if edge.detail:
            agg.held_details = _with_sample(agg.held_details, edge.detail, MAX_SOURCES_PER_ITEM)
        if edge.client:
            agg.held_clients = _with_client(agg.held_clients, edge.client)
        for source in edge.evidence:
            agg.held_sources = _with_sample(agg.held_sources, source, MAX_SOURCES_PER_ITEM)

    def _block(self, attempt: BlockedAttempt) -> None:
        self.blocked_total += attempt.count
        if len(self.blocked) < MAX_RAW_BLOCKED:
            self.blocked.append(attempt)
        group = self.blocked_groups.get(attempt.host)
        if group is None:
            if not self._room(self.blocked_groups, (attempt.host,), "blocked attempts", attempt.count, attempt.source):
                return
            group = self.blocked_groups[attempt.host] = BlockedGroup(attempt.host)
        group.add(attempt)

    # -- views -------------------------------------------------------------------------------------

    def sorted_references(self) -> list[ImageReference]:
        return sorted(self.references, key=_reference_order)

    def sorted_activity(self) -> list[HostActivity]:
        return [self.activity[host] for host in sorted(self.activity)]

    def sorted_edges(self) -> list[EdgeAggregate]:
        return [self.edges[key] for key in sorted(self.edges, key=lambda k: (k[0], k[1], k[2].value))]

    def sorted_blocked_groups(self) -> list[BlockedGroup]:
        return [self.blocked_groups[host] for host in sorted(self.blocked_groups)]

    def time_window(self) -> tuple[float | None, float | None]:
        """First and last timestamp of any traffic or log record: the window the evidence covers."""
        first, last = self.activity.time_span()
        for group in self.blocked_groups.values():
            first, last = _widen(first, last, group.first, group.last)
        return _widen(first, last, *self.counted_span)

    def activity_frame(self) -> pd.DataFrame:
        """One row per observed host, for analysis that wants columns (the history store's window sums)."""
        import pandas as pd  # 0.3 s of import: only for the callers that want a frame

        rows = [
            {
                "host": a.host,
                "count": a.count,
                "first": a.first,
                "last": a.last,
                "clients": len(a.clients),
                "kinds": ",".join(sorted(a.kinds)),
                "registry_api_calls": a.registry_api_calls,
            }
            for a in self.sorted_activity()
        ]
        columns = ["host", "count", "first", "last", "clients", "kinds", "registry_api_calls"]
        return pd.DataFrame(rows, columns=columns)

    def blocked_by_reason(self, reason: BlockReason) -> list[BlockedGroup]:
        return [g for g in self.sorted_blocked_groups() if g.reasons.get(reason.value)]


def _source_order(source: Source | None) -> tuple[str, int, int]:
    if source is None:
        return ("", 0, 0)
    return (source.path, source.line or 0, source.packet or 0)


MAX_CONTEXTS = 4  # contexts named on one merged record; more are counted, not listed


def _with_context(held: str, context: str) -> str:
    """HELD (`A | B`) with CONTEXT added once; past MAX_CONTEXTS the rest are only counted (`| +3 more`)."""
    if not context:
        return held
    parts = held.split(" | ") if held else []
    more = 0
    if parts and parts[-1].startswith("+") and parts[-1].endswith(" more"):
        more = int(parts.pop()[1:-5])
    if context in parts:
        return held
    if len(parts) < MAX_CONTEXTS:
        parts.append(context)
    else:
        more += 1
    return " | ".join(parts + ([f"+{more} more"] if more else []))


def _place(source: Source | None) -> tuple[str, int] | None:
    if source is None or source.line is None:
        return None
    return (source.path, source.line)


def _resolves(ref: ImageReference, unresolved: Unresolved) -> bool:
    """Whether REF is UNRESOLVED's reference resolved by another reader of the same line: the Dockerfile's own
    read (`FROM`, its ARG unset) and compose's or bake's read with build args (`services.web.build FROM`)."""
    if ref.source is None or unresolved.source is None or ref.source.parser == unresolved.source.parser:
        return False
    return bool(unresolved.context) and ref.context.split(" | ")[0].endswith(" " + unresolved.context)


def _reference_identity(ref: ImageReference) -> tuple[str, str, int | None, int | None]:
    source = ref.source
    if source is None:
        return (ref.canonical, "", None, None)
    return (ref.canonical, source.path, source.line, source.packet)


def _reference_order(ref: ImageReference) -> tuple[object, ...]:
    return (*_source_order(ref.source), ref.context, ref.canonical)
