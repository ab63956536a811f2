"""The stored observation cells as one DataFrame: the `host_days` rows and the day's once-seen arrays
(`once_days`) together, on integer keys, for the window readers, `history` and `store info`.

Columns: day (day number), host (names id), kind (codec.KINDS index), input_id, role (names id), count,
answers, api_calls, first, last (NaN: as first), clients (None, an id, or packed ids), clients_overflow,
sample_line, sample_packet (NaN: none), sample (the JSON key of a sample in another file, or None).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from auditor.store.codec import CHUNK, KIND_INDEX, UNDATED_DAY, unpack_column

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COLUMNS = ("day", "host", "kind", "input_id", "role", "count", "answers", "api_calls", "first", "last", "clients",
           "clients_overflow", "sample_line", "sample_packet", "sample")
ANSWER = KIND_INDEX["dns-answer"]
LOWEST, HIGHEST = UNDATED_DAY + 1, 2**31  # every dated day


def frame(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
    """SQL's result as a DataFrame; SQLite's own error (a damaged page ...) is raised as itself."""
    import pandas as pd

    try:
        return pd.read_sql(sql, conn, params=params)
    except pd.errors.DatabaseError as exc:
        if isinstance(exc.__cause__, sqlite3.Error):
            raise exc.__cause__ from None
        raise sqlite3.DatabaseError(str(exc)) from None


def cells(conn: sqlite3.Connection, since: int = LOWEST, until: int = HIGHEST,
          hosts: Collection[int] | None = None) -> pd.DataFrame:
    """The cells of the dated days SINCE..UNTIL (day numbers, inclusive), of HOSTS only when given."""
    import pandas as pd

    sql = f"SELECT {', '.join(COLUMNS)} FROM host_days WHERE day BETWEEN ? AND ?"
    if hosts is None:
        parts = [frame(conn, sql, (since, until))]
    else:
        wanted = sorted(hosts)
        parts = [frame(conn, f"{sql} AND host IN ({','.join('?' * len(chunk))})", (since, until, *chunk))
                 for chunk in (wanted[i:i + CHUNK] for i in range(0, len(wanted), CHUNK))]
    parts.append(once_cells(conn, since, until, hosts))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("first", "last") else "object")
                             for c in COLUMNS})
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def once_cells(conn: sqlite3.Connection, since: int = LOWEST, until: int = HIGHEST,
               hosts: Collection[int] | None = None) -> pd.DataFrame:
    """The once-seen cells of SINCE..UNTIL as rows of the `cells` frame."""
    import numpy as np
    import pandas as pd

    wanted = np.fromiter(hosts, dtype=np.int64) if hosts is not None else None
    parts: list[dict[str, np.ndarray]] = []
    for day, input_id, host_blob, kinds, roles, answers, times, clients, lines in conn.execute(
            "SELECT day, input_id, hosts, kinds, roles, answers, times, clients, lines FROM once_days"
            " WHERE day BETWEEN ? AND ? ORDER BY day, input_id", (since, until)):
        host = unpack_column(host_blob, delta=True)
        keep = np.isin(host, wanted) if wanted is not None else None
        if keep is not None and not keep.any():
            continue
        columns = {"host": host, "kind": unpack_column(kinds), "role": unpack_column(roles),
                   "answers": unpack_column(answers), "times": unpack_column(times),
                   "clients": unpack_column(clients), "lines": unpack_column(lines)}
        if keep is not None:
            columns = {name: values[keep] for name, values in columns.items()}
        columns["day"] = np.full(len(columns["host"]), day, dtype=np.int64)
        columns["input_id"] = np.full(len(columns["host"]), input_id, dtype=np.int64)
        parts.append(columns)
    if not parts:
        return pd.DataFrame()
    joined = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    n = len(joined["host"])
    line = joined["lines"].astype(np.float64)
    line[line == 0] = np.nan
    client = joined["clients"].astype(object)
    client[joined["clients"] == 0] = None
    return pd.DataFrame({
        "day": joined["day"], "host": joined["host"].astype(np.int64), "kind": joined["kind"].astype(np.int64),
        "input_id": joined["input_id"], "role": joined["role"].astype(np.int64), "count": np.ones(n, np.int64),
        "answers": joined["answers"].astype(np.int64), "api_calls": np.zeros(n, np.int64),
        "first": joined["day"] * 86_400 + joined["times"] / 1000, "last": np.full(n, np.nan),
        "clients": client, "clients_overflow": np.zeros(n, np.int64), "sample_line": line - 1,
        "sample_packet": np.where(np.isnan(line), np.nan, 0.0), "sample": np.full(n, None, dtype=object)})


def once_arrays(conn: sqlite3.Connection, columns: tuple[str, ...], since: int = LOWEST, until: int = HIGHEST
                ) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """(day, input id, {column: values}) of each once-seen row of SINCE..UNTIL, one at a time."""
    for day, input_id, *blobs in conn.execute(
            f"SELECT day, input_id, {', '.join(columns)} FROM once_days WHERE day BETWEEN ? AND ?"
            " ORDER BY day, input_id", (since, until)):
        yield day, input_id, {name: unpack_column(blob, delta=name == "hosts")
                              for name, blob in zip(columns, blobs, strict=True)}


def with_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """FRAME with each folded answer count as the dns-answer row it was (no client, the query's times and
    sample), and `last` filled in."""
    import pandas as pd

    answers = frame[frame["answers"] > 0]
    if not answers.empty:
        answers = answers.assign(kind=ANSWER, count=answers["answers"], api_calls=0, clients=None,
                                 clients_overflow=0)
        frame = pd.concat([frame, answers], ignore_index=True)
    return frame.assign(last=frame["last"].fillna(frame["first"]))

