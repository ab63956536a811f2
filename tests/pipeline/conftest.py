"""The Dask tests' cluster: two worker processes on 127.0.0.1, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from auditor.pipeline.dask_engine import local_cluster

    cluster = local_cluster(2)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address
        assert all(address.startswith("tcp://127.0.0.1:") for address in cluster.scheduler_info["workers"])
    finally:
        cluster.close()
