"""The one gate every timestamp from an input passes: a bounded epoch, or an input error naming where it was.

Parsers turn log and packet times into epoch floats however their format says (`1e29`, `nan`, a pcapng high
word of 0x7fffffff, an Unbound epoch in year 3,170,843 all parse as floats). A float `datetime` cannot hold
kills every renderer that formats it, far from the input that carried it. So the collector passes each record
through `TimestampGate.check` before the evidence store sees it: a time outside [1970-01-01, 9999-12-31] (or
not finite) is dropped from the record, which is kept, and reported once per line or packet with the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from auditor.core.model import BlockedAttempt, Evidence, InputError, Observation, RedirectEdge, Source

MIN_EPOCH = 0.0
MAX_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last second datetime can hold
# Out-of-range times reported one by one per file; past that, one summary line says how many more.
MAX_REPORTED = 20


def bounded_epoch(value: object) -> float | None:
    """VALUE as epoch seconds when it is a finite number datetime can hold, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(number) or not MIN_EPOCH <= number <= MAX_EPOCH:
        return None
    return number


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class TimestampGate:
    """Checks the times of one file's records; `summary()` closes the file's report."""

    display: str
    parser: str = ""
    reported: int = 0
    suppressed: int = 0
    _seen: set[tuple[int | None, int | None]] = field(default_factory=set)

    def check(self, item: Evidence) -> tuple[Evidence, InputError | None]:
        """(the record with its out-of-range times removed, the error to report or None)."""
        if not isinstance(item, Observation | BlockedAttempt | RedirectEdge):
            return item, None
        first = item.time
        last = getattr(item, "last_time", None)
        if ((first is None or (type(first) is float and MIN_EPOCH <= first <= MAX_EPOCH))
                and (last is None or (type(last) is float and MIN_EPOCH <= last <= MAX_EPOCH))):
            return item, None  # the usual record: in-range floats (NaN and the infinities fail the bounds)
        bad = [v for v in (first, last) if v is not None and bounded_epoch(v) is None]
        if not bad:
            return item, None
        first = first if first is not None and bounded_epoch(first) is not None else None
        last = last if last is not None and bounded_epoch(last) is not None else None
        if first is None:
            first, last = last, None
        fixed = replace(item, time=first, last_time=last) if not isinstance(item, RedirectEdge) \
            else replace(item, time=first)
        return fixed, self._error(item, bad[0])

    def _error(self, item: Evidence, value: object) -> InputError | None:
        source = item.evidence[0] if isinstance(item, RedirectEdge) and item.evidence else getattr(item, "source", None)
        where = (source.line, source.packet) if source is not None else (None, None)
        if where in self._seen:
            return None
        self._seen.add(where)
        if self.reported >= MAX_REPORTED:
            self.suppressed += 1
            return None
        self.reported += 1
        return InputError(
            f"timestamp {_shown(value)} is outside 1970-01-01..9999-12-31 (or not a number); "
            "the record is kept without that time",
            Source(self.display, line=where[0], packet=where[1], parser=source.parser if source else self.parser))

    def summary(self) -> InputError | None:
        if not self.suppressed:
            return None
        return InputError(f"{self.suppressed} more lines or packets with an out-of-range timestamp (not listed)",
                          Source(self.display, parser=self.parser))
