"""Concurrent writers: nothing lost, versions gap-free, every change logged once.

Threads run on every backend. Processes need a store that another process
can reach, so they run on file, moto-server, azurite and swift (memory and
in-process moto live inside one process by construction).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import VersionConflict
from mintstore.model import Attribute, Study
from mintstore.store import Actor, SearchQuery, StudyStore
from mintstore.store.layout import log_prefix, study_key
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.backends import BackendPool, StoreSpec

from .workload import append_files, process_main

SHARED_PER_WORKER = 2
PROCESS_BACKENDS = ["file", "moto-server", "azurite", "swift"]


def _series(tmp_path: Path, name: str, slices: int) -> SyntheticSeries:
    return write_ct_series(tmp_path / name, slices, rows=8, columns=8)


def _plan(tmp_path: Path, workers: int) -> tuple[SyntheticSeries, list[SyntheticSeries]]:
    shared = _series(tmp_path, "shared", workers * SHARED_PER_WORKER)
    own = [_series(tmp_path, f"own{i}", 1) for i in range(workers)]
    return shared, own


def _worker_paths(shared: SyntheticSeries, own: SyntheticSeries, i: int) -> list[str]:
    mine = shared.paths[i * SHARED_PER_WORKER : (i + 1) * SHARED_PER_WORKER]
    return [str(mine[0]), str(own.paths[0]), *(str(p) for p in mine[1:])]


def _check(objects: ObjectStore, shared: SyntheticSeries, own: list[SyntheticSeries]) -> None:
    store = StudyStore(objects)
    all_series = [shared, *own]
    expected_versions: set[tuple[str, int]] = set()
    for series in all_series:
        uid = series.study_instance_uid
        study = store.metadata(uid)
        present = {sop for s in study.series.values() for sop in s.instances}
        assert present == set(series.sop_instance_uids)
        versions = [
            int(info.key.rsplit("/", 1)[1][:-5])
            for info in objects.list(log_prefix(study_key(uid)))
        ]
        assert versions == list(range(len(series.paths)))  # one commit per file, no gaps
        expected_versions.update((uid, v) for v in versions)
    logged: list[tuple[str, int]] = []
    page = store.system_changes(limit=7)
    while page.changes:
        logged.extend((c.study_uid, c.version) for c in page.changes)
        page = store.system_changes(continuation=page.continuation, limit=7)
    assert len(logged) == len(set(logged))
    assert set(logged) == expected_versions
    fresh = StudyStore(objects)  # a reader that loads the index from the bucket
    for series in all_series:
        hits = fresh.search(SearchQuery(study_instance_uid=series.study_instance_uid)).results
        assert [(h.study_uid, h.version) for h in hits] == [
            (series.study_instance_uid, len(series.paths) - 1)
        ]
    assert store.verify(deep=False).ok


def test_eight_threads(object_store: ObjectStore, tmp_path: Path) -> None:
    workers = 8
    shared, own = _plan(tmp_path, workers)
    with ThreadPoolExecutor(workers) as pool:
        futures = [
            pool.submit(append_files, object_store, _worker_paths(shared, own[i], i), f"w{i}")
            for i in range(workers)
        ]
        for future in futures:
            future.result()
    _check(object_store, shared, own)


@pytest.mark.parametrize("backend_name", PROCESS_BACKENDS)
def test_four_processes(backend_pool: BackendPool, backend_name: str, tmp_path: Path) -> None:
    spec = backend_pool.get(backend_name).fresh()
    with spec.open() as objects:
        _four_processes(objects, spec, tmp_path)


def _four_processes(
    object_store: ObjectStore, object_store_spec: StoreSpec, tmp_path: Path
) -> None:
    workers = 4
    shared, own = _plan(tmp_path, workers)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=process_main,
            args=(
                object_store_spec.url,
                dict(object_store_spec.environ),
                _worker_paths(shared, own[i], i),
                f"p{i}",
            ),
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    _check(object_store, shared, own)


def test_same_old_version_exactly_one_wins(object_store: ObjectStore, tmp_path: Path) -> None:
    series = _series(tmp_path, "s", 1)
    append_files(object_store, [str(series.paths[0])], "setup")
    uid = series.study_instance_uid

    def update(value: str) -> str:
        store = StudyStore(object_store)
        delta = Study(uid)
        delta.attributes[0x00081030] = Attribute(0x00081030, "LO", value)
        try:
            store.update(uid, delta, {}, old_version=0, actor=Actor(value, None))
        except VersionConflict:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(update, ["A", "B"]))
    assert outcomes == ["conflict", "ok"]
    assert StudyStore(object_store).study_info(uid).version == 1
