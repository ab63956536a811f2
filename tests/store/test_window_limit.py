"""A window with more hosts than the evidence store keeps: the reader counts the hosts the store would refuse
instead of making a record of each, and the store ends up exactly as if every record had been added."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.core import evidence
from auditor.core.evidence import EvidenceStore
from auditor.pipeline.collect import _known_registry_host
from auditor.store import reader
from auditor.store.reader import Window, fold_window
from auditor.store.schema import open_store
from tests.store.logs import ZEEK_HEADER, epoch


def _line(n: int, stamp: str, client: str, name: str, cname: str = "") -> str:
    answers = f"{cname},192.0.2.{n % 250}" if cname else f"192.0.2.{n % 250}"
    return (f"{epoch(stamp):.6f}\tC{n:05d}\t{client}\t{40000 + n}\t10.0.0.53\t53\tudp\t{n}\t0.000900\t{name}\t1"
            f"\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answers}\t60.000000\tF\n")


def _store(tmp_path: Path) -> Path:
    lines = []
    names = [f"n{i:02d}.tail.example.net" for i in range(30)] + ["registry-1.docker.io", "ghcr.io",
                                                                 "zz.tail.example.net"]
    for day in ("2026-05-01", "2026-05-02"):
        for i, name in enumerate(names):
            cname = f"e{i % 3}.edge.example" if i % 2 else ""
            lines.append(_line(len(lines), f"{day}T10:{i:02d}:00", f"10.0.0.{i % 4 + 1}", name, cname))
        lines.append(_line(len(lines), f"{day}T11:00:00", "10.0.0.9", "n03.tail.example.net"))
    log = tmp_path / "dns.log"
    log.write_text(ZEEK_HEADER + "".join(lines), encoding="utf-8")
    store = tmp_path / "regaudit.db"
    result = CliRunner().invoke(main, ["ingest", str(log), "--store", str(store)], env={"REGAUDIT_STORE": ""})
    assert result.exit_code == 0, result.output
    return store


def _folded(store_path: Path) -> EvidenceStore:
    from datetime import date

    store = EvidenceStore(worth_keeping=_known_registry_host)
    conn = open_store(store_path)
    try:
        fold_window(conn, Window(date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 2)), store)
    finally:
        conn.close()
    return store


def _state(store: EvidenceStore) -> tuple[object, ...]:
    return ([a._fields() for a in store.sorted_activity()],
            [(e.from_host, e.to_host, e.via, e.count, e.first, e.clients, e.sources) for e in store.sorted_edges()],
            dict(store.not_kept), [str(e) for e in store.errors])


@pytest.mark.parametrize("limit", [5, 12, 31, 100])
def test_past_the_host_limit_the_window_reads_as_if_every_record_were_added(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    store = _store(tmp_path)
    monkeypatch.setattr(evidence, "MAX_HOSTS", limit)
    counted = _folded(store)
    with monkeypatch.context() as every:  # the reference: each record offered to the store, as before
        every.setattr(EvidenceStore, "new_hosts_kept", lambda _self, hosts: set(hosts))
        every.setattr(reader, "_refused_edge", lambda *_args: False)
        offered = _folded(store)
    assert _state(counted) == _state(offered)
    if limit < 31:
        assert counted.not_kept["observations"] > 0
        assert {"registry-1.docker.io", "ghcr.io"} <= set(counted.activity)
        assert "zz.tail.example.net" not in counted.activity
    if limit == 5:
        assert counted.not_kept["redirect edges"] > 0
