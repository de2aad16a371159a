"""Concurrent-writer workload shared by the thread and process tests.

Kept importable at module level so ``multiprocessing`` (spawn) can run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mintstore.adapters import ObjectStore
from mintstore.adapters.registry import open_store
from mintstore.store import Actor, StoreConfig, StudyStore


def append_files(objects: ObjectStore, paths: list[str], worker: str) -> list[tuple[str, int]]:
    """Ingest each file in its own session (one commit each); return (uid, version)."""
    store = StudyStore(objects, StoreConfig(upload_workers=2))
    done = []
    for path in paths:
        with store.begin_ingest() as session, Path(path).open("rb") as stream:
            session.add_part10(stream)
            for result in session.commit(Actor(worker, None)):
                done.append((result.study_uid, result.version))
    return done


def process_main(url: str, environ: Mapping[str, str], paths: list[str], worker: str) -> None:
    with open_store(url, environ) as objects:
        append_files(objects, paths, worker)
