"""One Dask local cluster (loopback only) shared by the job tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    import logging

    import distributed

    dask: Any = distributed
    with dask.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as cluster:
        yield str(cluster.scheduler_address)
