"""Upload threads: started once per process, never from inside an ingest.

A stalled ``mintstore import`` showed a task thread stuck in
``ThreadPoolExecutor.submit -> Thread.start`` holding concurrent.futures'
process-wide lock, every other upload of the process waiting behind it
(docs/bulk.md, "Upload threads"). These tests hold the cure in place: a
session only queues onto the process's running pool.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mintstore.adapters.memory import MemoryStore
from mintstore.adapters.thread_pool import FixedThreadPool, shared_pool
from mintstore.store import StoreConfig
from mintstore.store.blobs import BlobStore, ParallelUploader

PROBE = Path(__file__).with_name("upload_threads_probe.py")


def test_sessions_start_no_threads_and_finish_in_time(tmp_path: Path) -> None:
    """Concurrent sessions under a busy gc callback: no thread start, no stall."""
    process = subprocess.Popen(
        [sys.executable, str(PROBE), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("concurrent ingest sessions stalled (no answer in 120 s)")
    assert process.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert result["started"] == 0
    assert result["committed"] == result["studies"]


def test_pool_is_shared_and_its_threads_already_run() -> None:
    pool = shared_pool("blob", 3)
    assert shared_pool("blob", 3) is pool
    names = {t.name for t in threading.enumerate()}
    assert {"blob_0", "blob_1", "blob_2"} <= names


def test_results_and_failures_reach_the_caller() -> None:
    pool = FixedThreadPool(2, name="test-pool")
    try:
        assert pool.submit(lambda: 41 + 1).result(timeout=10) == 42
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 // 0).result(timeout=10)
    finally:
        pool.shutdown()


def test_close_cancels_only_the_sessions_queued_uploads() -> None:
    """A closed session's queued uploads are dropped; another session's still run."""
    pool = FixedThreadPool(1, name="test-close")
    blobs = BlobStore(MemoryStore("upload-close"), StoreConfig())
    gate = threading.Event()
    try:
        blocker = pool.submit(gate.wait)  # holds the one thread
        closing = ParallelUploader(blobs, 4, pool)
        other = ParallelUploader(blobs, 4, pool)
        dropped = closing.submit(b"dropped")
        kept = other.submit(b"kept")
        threading.Timer(0.2, gate.set).start()
        closing.close()
        assert blocker.result(timeout=10)
        assert dropped.cancelled()
        digest, size = kept.result(timeout=10)
        assert size == 4
        assert blobs.read(digest) == b"kept"
        other.close()
    finally:
        gate.set()
        pool.shutdown()
