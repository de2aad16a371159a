"""Run by test_upload_threads.py in its own process (so a stall is a timeout).

Ingests studies (into a file store under the directory given as argument)
from 4 threads, one session per study as ``mintstore import`` makes one per
task batch, with a generation-2 gc callback like Dask's
(reads the process's RSS, logs) and a low gc threshold so it fires often.
Prints JSON: how many upload or file-store publish threads were started
after the first session, and the studies committed.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from mintstore.adapters import open_store
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series

THREADS, SESSIONS, SLICES = 4, 6, 2


def main() -> None:
    root = Path(sys.argv[1])
    store = StudyStore(open_store(f"file://{root / 'store'}", {}), StoreConfig())
    studies = [
        [
            path.read_bytes()
            for path in write_ct_series(root / f"s{i}", SLICES, rows=8, columns=8).paths
        ]
        for i in range(THREADS * SESSIONS + 1)
    ]
    actor = Actor("probe", None)
    committed: list[str] = []

    def ingest(study: list[bytes]) -> None:
        with store.begin_ingest() as session:
            for blob in study:
                session.add_part10(io.BytesIO(blob))
            committed.extend(r.study_uid for r in session.commit(actor) if r.created)

    def ingest_all(chunk: list[list[bytes]]) -> None:
        for study in chunk:
            ingest(study)

    ingest(studies[0])  # the first session may start the process's upload threads
    started = 0
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        nonlocal started
        if thread.name.startswith(("blob", "publish")):
            started += 1
        real_start(thread)

    statm = Path("/proc/self/statm")  # what psutil's memory_info reads on Linux
    log = logging.getLogger("probe.gc")

    def gc_callback(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] == 2:
            log.debug("%s rss pages %s", phase, statm.read_text().split()[1])

    gc.callbacks.append(gc_callback)
    gc.set_threshold(100, 2, 2)
    setattr(threading.Thread, "start", counting_start)  # noqa: B010 (mypy refuses =)
    workers = [
        threading.Thread(
            target=ingest_all,
            args=(studies[1 + n * SESSIONS : 1 + (n + 1) * SESSIONS],),
        )
        for n in range(THREADS)
    ]
    for worker in workers:
        real_start(worker)
    for worker in workers:
        worker.join()
    setattr(threading.Thread, "start", real_start)  # noqa: B010
    readable = sum(1 for uid in set(committed) if store.open_version(uid).study_uid == uid)
    json.dump({"started": started, "committed": readable, "studies": len(studies)}, sys.stdout)


if __name__ == "__main__":
    main()
