"""The per-input aggregate: what one input contributes to the store, as a mergeable value.

Records fold into cells keyed by UTC day: per (day, host, kind) the observation counts, per (day, host,
reason) the blocked attempts, per (day, from, to, via) the redirect edges; static records (image and host
references, unresolved items) are kept whole. `merge` is associative and commutative, so inputs can be
folded on different workers in any grouping (issue 15) and give the same value as one process:
counts add, first/last take min/max, client sets union and keep the CAP smallest (with an overflow flag),
evidence samples union and keep the SAMPLES smallest. A record a fast parser folded (count, first, last)
that spans days is split: its last occurrence is counted on its last day, the others on its first (where
the ones between fell is not known), so first and last use stay exact.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.core.model import (
    BlockedAttempt,
    Confidence,
    Evidence,
    HostReference,
    ImageReference,
    InputError,
    Observation,
    ObservationKind,
    RedirectEdge,
    Source,
    Unresolved,
)

CLIENT_CAP = 64  # distinct clients kept per cell; past it the cell says "more"
SAMPLES = 3  # evidence samples (sources, log details, images) kept per cell
UNDATED = ""  # the day of a record without a time
CONFIDENCE_RANK = {c: i for i, c in enumerate(Confidence)}  # HIGH first: the strongest wins a merge

SampleKey = tuple[str, int, int, str]  # (path, line, packet, parser): a Source, ordered and JSON-safe


def day_of(epoch: float | None) -> str:
    if epoch is None:
        return UNDATED
    return _day_name(int(epoch // 86_400))


@functools.lru_cache(maxsize=4096)
def _day_name(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")


def pack_clients(names: set[str]) -> str:
    """Client names as stored: one a line, sorted (split by str.split, far faster to read back than JSON)."""
    return "\n".join(sorted(names))


def unpack_clients(text: str | None) -> list[str]:
    return text.split("\n") if text else []


def sample_of(source: Source | None) -> SampleKey | None:
    if source is None:
        return None
    return (source.path, source.line or 0, source.packet or 0, source.parser)


def source_of(sample: SampleKey | list[Any]) -> Source:
    path, line, packet, parser = sample
    return Source(path, line or None, packet or None, parser)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


# The empty value of every set a cell holds, shared: a cell makes a set of its own only for its first item
# (an empty set costs 216 bytes, and a resolver's long tail makes hundreds of thousands of cells a day).
EMPTY: frozenset[Any] = frozenset()


def _smallest(items: set[Any] | frozenset[Any], cap: int) -> set[Any] | frozenset[Any]:
    """The CAP smallest of ITEMS, as a set of its own (EMPTY when there are none)."""
    if not items:
        return EMPTY
    return set(items) if len(items) <= cap else set(sorted(items)[:cap])


def _with(held: set[Any] | frozenset[Any], item: Any, cap: int) -> set[Any] | frozenset[Any]:
    """HELD with ITEM, keeping the CAP smallest; HELD itself, changed, unless it was EMPTY."""
    if item in held:
        return held
    if not held:
        return {item}
    if len(held) < cap:
        held.add(item)  # type: ignore[union-attr]
        return held
    largest = max(held)
    if item < largest:  # it belongs among the CAP smallest: the largest makes room
        held.discard(largest)  # type: ignore[union-attr]
        held.add(item)  # type: ignore[union-attr]
    return held


@dataclass(slots=True)
class Clients:
    """A capped client set: the CLIENT_CAP smallest names, and whether there were more. One client is held as
    the bare name (most cells of a resolver's long tail have one: a set of one costs 216 bytes)."""

    held: str | set[str] | frozenset[str] = EMPTY
    overflow: bool = False

    @property
    def names(self) -> set[str] | frozenset[str]:
        held = self.held
        return frozenset((held,)) if isinstance(held, str) else held

    def add(self, client: str | None) -> None:
        if not client:
            return
        if "\n" in client:  # newline separates names in the store (pack_clients)
            client = client.replace("\n", " ")
        held = self.held
        if isinstance(held, str):
            if client == held:
                return
            self.held = {held, client}
            return
        if not held:
            self.held = client
            return
        if client in held:
            return
        if len(held) >= CLIENT_CAP:
            self.overflow = True
        self.held = _with(held, client, CLIENT_CAP)

    def merge(self, other: Clients) -> None:
        union = self.names | other.names
        self.overflow = self.overflow or other.overflow or len(union) > CLIENT_CAP
        kept = _smallest(union, CLIENT_CAP)
        self.held = next(iter(kept)) if len(kept) == 1 else kept


@dataclass(slots=True)
class Cell:
    """One (day, key) aggregate: count, first/last time, clients, bounded samples."""

    count: int = 0
    first: float | None = None
    last: float | None = None
    clients: Clients = field(default_factory=Clients)
    samples: set[SampleKey] | frozenset[SampleKey] = EMPTY
    details: set[str] | frozenset[str] = EMPTY  # blocked: log text; edges: detail text
    images: set[str] | frozenset[str] = EMPTY
    api_calls: int = 0  # observations: HTTP requests with a /v2/ path
    confidence: Confidence | None = None  # edges
    best: SampleKey | None = None  # observations: the one (smallest) sample the store keeps of the cell

    def widen(self, start: float | None, end: float | None, count: int) -> None:
        self.count += count
        self.first = _min(self.first, start)
        self.last = _max(self.last, end if end is not None else start)

    def sample(self, source: Source | None) -> None:
        key = sample_of(source)
        if key is not None:
            self.samples = _with(self.samples, key, SAMPLES)

    def sample_smallest(self, source: Source | None) -> None:
        key = sample_of(source)
        if key is not None and (self.best is None or key < self.best):
            self.best = key

    def keep(self, bucket: str, text: str | None) -> None:
        if text:
            setattr(self, bucket, _with(getattr(self, bucket), text, SAMPLES))

    def merge(self, other: Cell) -> None:
        self.widen(other.first, other.last, other.count)
        self.clients.merge(other.clients)
        self.samples = _smallest(self.samples | other.samples, SAMPLES)
        self.details = _smallest(self.details | other.details, SAMPLES)
        self.images = _smallest(self.images | other.images, SAMPLES)
        self.api_calls += other.api_calls
        self.strengthen(other.confidence)
        if other.best is not None and (self.best is None or other.best < self.best):
            self.best = other.best

    def strengthen(self, confidence: Confidence | None) -> None:
        if confidence is not None and (self.confidence is None
                                       or CONFIDENCE_RANK[confidence] < CONFIDENCE_RANK[self.confidence]):
            self.confidence = confidence


ObservationKey = tuple[str, str, str]  # (day, host, kind)
BlockedKey = tuple[str, str, str]  # (day, host, reason)
EdgeKey = tuple[str, str, str, str]  # (day, from, to, via)


@dataclass
class InputAggregate:
    """Everything one input (or a merge of several) contributes, keyed by day."""

    observations: dict[ObservationKey, Cell] = field(default_factory=dict)
    blocked: dict[BlockedKey, Cell] = field(default_factory=dict)
    edges: dict[EdgeKey, Cell] = field(default_factory=dict)
    static: set[tuple[str, str]] = field(default_factory=set)  # (kind, JSON payload) of references etc.
    records: int = 0
    errors: int = 0
    error_samples: set[str] = field(default_factory=set)
    first_time: float | None = None
    last_time: float | None = None
    # a grown log parsed from where the last ingest stopped: its line numbers count from there, this many
    # lines after the file's own (not part of the value: merge ignores it)
    line_shift: int = 0

    def add(self, record: Evidence) -> None:
        self.records += 1
        if self.line_shift:
            record = _shifted(record, self.line_shift)
        match record:
            case Observation():
                self._observe(record)
            case BlockedAttempt():
                for day, start, end, count in _days(record.time, record.last_time, record.count):
                    cell = _cell(self.blocked, (day, record.host, record.reason.value))
                    cell.widen(start, end, count)
                    cell.clients.add(record.client)
                    cell.sample(record.source)
                    cell.keep("details", record.detail)
                    cell.keep("images", record.image)
                self._span(record.time, record.last_time)
            case RedirectEdge():
                self.add_edge(record)
            case ImageReference() | HostReference() | Unresolved():
                self.static.add(static_payload(record))
            case InputError():
                self.errors += 1
                self.error_samples.add(str(record))  # the smallest few, as merge keeps: any split agrees
                if len(self.error_samples) > SAMPLES:
                    self.error_samples = _smallest(self.error_samples, SAMPLES)
            case _:
                raise TypeError(f"not an evidence record: {record!r}")

    def add_edge(self, record: RedirectEdge, count: int = 1) -> None:
        """An edge, seen COUNT times (an inferred timing edge counts its follows)."""
        cell = _cell(self.edges, (day_of(record.time), record.from_host, record.to_host, record.via.value))
        cell.widen(record.time, None, count)
        cell.clients.add(record.client)
        for source in record.evidence:
            cell.sample(source)
        cell.keep("details", record.detail)
        cell.strengthen(record.confidence)

    def _observe(self, obs: Observation) -> None:
        api = obs.kind is ObservationKind.HTTP_HOST and (obs.detail == "/v2" or obs.detail.startswith("/v2/"))
        for day, start, end, count in _days(obs.time, obs.last_time, obs.count):
            cell = _cell(self.observations, (day, obs.host, obs.kind.value))
            cell.widen(start, end, count)
            cell.clients.add(obs.client)
            cell.sample_smallest(obs.source)
            if api:
                cell.api_calls += count
        self._span(obs.time, obs.last_time)

    def _span(self, start: float | None, end: float | None) -> None:
        self.first_time = _min(self.first_time, start)
        self.last_time = _max(self.last_time, end if end is not None else start)

    def merge(self, other: InputAggregate) -> InputAggregate:
        """SELF with OTHER folded in (SELF is changed and returned)."""
        for mine, theirs in ((self.observations, other.observations), (self.blocked, other.blocked),
                             (self.edges, other.edges)):
            for key, cell in theirs.items():
                _cell(mine, key).merge(cell)  # type: ignore[arg-type]
        self.static |= other.static
        self.records += other.records
        self.errors += other.errors
        self.error_samples = _smallest(self.error_samples | other.error_samples, SAMPLES)
        self._span(other.first_time, other.last_time)
        return self

    def contributed(self) -> dict[str, int]:
        return {"records": self.records, "errors": self.errors, "host_days": len(self.observations),
                "blocked_days": len(self.blocked), "edges": len(self.edges), "static": len(self.static),
                "observations": sum(c.count for c in self.observations.values()),
                "blocked_attempts": sum(c.count for c in self.blocked.values())}


def _shifted(record: Evidence, shift: int) -> Evidence:
    def moved(source: Source | None) -> Source | None:
        if source is None or source.line is None:
            return source
        return Source(source.path, source.line + shift, source.packet, source.parser)

    if isinstance(record, RedirectEdge):
        return dataclasses.replace(record, evidence=tuple(moved(s) or s for s in record.evidence))
    return dataclasses.replace(record, source=moved(record.source))


def _days(start: float | None, end: float | None, count: int
          ) -> tuple[tuple[str, float | None, float | None, int], ...]:
    """(day, first, last, count) parts of a record: one, or two when a folded record spans days."""
    first_day = day_of(start)
    if end is None or count < 2 or day_of(end) == first_day:
        return ((first_day, start, end, count),)
    return ((first_day, start, start, count - 1), (day_of(end), end, end, 1))


def _cell(table: dict[Any, Cell], key: Any) -> Cell:
    cell = table.get(key)
    if cell is None:
        cell = table[key] = Cell()
    return cell


def static_payload(record: ImageReference | HostReference | Unresolved) -> tuple[str, str]:
    import json

    source = list(sample_of(record.source) or ())
    match record:
        case ImageReference():
            body: dict[str, Any] = {"original": record.original, "registry": record.registry,
                                    "endpoint": record.endpoint, "repository": record.repository,
                                    "tag": record.tag, "digest": record.digest, "context": record.context}
            kind = "image"
        case HostReference():
            body = {"host": record.host, "purpose": record.purpose.value, "text": record.text,
                    "context": record.context}
            kind = "host"
        case _:
            body = {"text": record.text, "reason": record.reason, "context": record.context}
            kind = "unresolved"
    body["source"] = source
    return kind, json.dumps(body, sort_keys=True, ensure_ascii=False)
