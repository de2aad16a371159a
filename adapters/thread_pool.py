"""Fixed pools of threads, started once per process and shared by every caller.

Used for blob uploads (every ingest session of a process) and for the file
store's batch publish (every commit). Why not a ``ThreadPoolExecutor`` per
session or per commit: such a pool starts its
threads lazily, one per ``submit``, and ``ThreadPoolExecutor.submit`` holds
a lock shared by every executor of the process (``_global_shutdown_lock``)
while ``Thread.start`` waits for the new thread to run. An import creates a
session per Dask task batch, so a worker process started threads from inside
its task threads all the time, and one start that did not complete stalled
every upload of the process: a stalled import's py-spy dump showed one task
thread in ``_adjust_thread_count -> Thread.start``, the other task threads
waiting in ``submit`` for that lock, and no trace of the thread being started
(docs/bulk.md, "Upload threads"); a second stall, reproduced, had the same
shape with the file store's per-commit publish pool. Here the threads are
started when the pool is made, the first time it is asked for, and
``submit`` only puts on a queue.

A pool is per process and name: callers bound their own backlog
(``ParallelUploader``), the pool bounds the process's concurrent calls.
After a fork the child makes its own pools (threads are not inherited).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[[], Any]]


class FixedThreadPool:
    """``workers`` daemon threads, all started here, running submitted calls in order.

    Daemon threads: the pool lives as long as the process and must not hold
    up its exit; a session waits for its own uploads before it commits, so
    nothing a commit depends on is running when the process ends.
    """

    def __init__(self, workers: int, name: str) -> None:
        self.workers = max(1, workers)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}_{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn``; never starts a thread or takes a process-wide lock."""
        future: Future[T] = Future()
        self._jobs.put((future, fn))
        return future

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued (its session closed)
            try:
                result = fn()
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)
            del job, future, fn

    def shutdown(self) -> None:
        """Let the threads finish what is queued, then stop them (tests, forks)."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()


_lock = threading.Lock()
_pools: dict[tuple[str, int], FixedThreadPool] = {}


def shared_pool(name: str, workers: int) -> FixedThreadPool:
    """This process's pool ``name`` of ``workers`` threads, made on first use."""
    key = (name, max(1, workers))
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = FixedThreadPool(key[1], name)
        return pool


def _forget_pools_in_child() -> None:
    """A forked child has none of the parent's threads: it starts its own pools."""
    global _lock
    _lock = threading.Lock()
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)
