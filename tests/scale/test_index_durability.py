"""The index under concurrency and crashes, and rebuilt from the studies alone."""

from __future__ import annotations

import multiprocessing
import os
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from mintstore.adapters import ObjectStore
from mintstore.adapters.filesystem import FileStore
from mintstore.store import Actor, SearchQuery, StoreConfig, StudyStore, manifest, partitions
from mintstore.store.changelog import ChangeLog
from mintstore.store.compaction import Compactor
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import INDEX_PREFIX, PARTITION_PREFIX, partition_key

from ..store.helpers import mint_study, unique_uid
from .rows import publish, synthetic_row
from .test_partitioned_index import all_pages

CONFIG = StoreConfig(
    compact_every=15,
    index=IndexOptions(
        background=False, partition_rows=120, delta_rows=60, max_deltas=3, merge_partitions=1
    ),
)


def compactor(objects: ObjectStore, config: StoreConfig) -> Compactor:
    """The compactor a process with ``config`` would run (white-box: claims, cleaning)."""
    StudyStore(objects, config)  # descriptor
    return Compactor(objects, ChangeLog(objects, config), config)


#: Crashed compactors leave claims; these expire at once so the next one may run.
NO_CLAIM_WAIT = replace(CONFIG, index=replace(CONFIG.index, claim_ttl=timedelta(0)))


def _writer(root: str, seed: int, count: int, barrier: Any, found: Any) -> None:
    """One process: commit rows, compacting as it goes, then search for everything."""
    rng = random.Random(seed)
    store = StudyStore(FileStore(root), CONFIG)
    for index in range(count):
        publish(store, synthetic_row(seed * 100_000 + index, rng))
        if index % 10 == 9:
            store.index_maintenance.compact_now()
    barrier.wait()
    found.put((seed, sorted(all_pages(store, SearchQuery(limit=200)))))


def test_two_processes_committing_and_compacting_lose_no_row(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    StudyStore(FileStore(root))  # descriptor
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    found = context.Queue()
    count = 150
    workers = [
        context.Process(target=_writer, args=(root, seed, count, barrier, found)) for seed in (1, 2)
    ]
    for worker in workers:
        worker.start()
    results = dict(found.get(timeout=240) for _ in workers)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    expected: set[str] = set()
    for seed in (1, 2):
        rng = random.Random(seed)
        expected.update(synthetic_row(seed * 100_000 + i, rng).study_uid for i in range(count))
    for seed in (1, 2):
        assert set(results[seed]) == expected, f"process {seed} misses rows"
    fresh = StudyStore(FileStore(root), CONFIG)
    assert set(all_pages(fresh, SearchQuery(limit=200))) == expected
    newest = manifest.newest(fresh.objects)
    assert newest.generation > 3 and newest.base, "both processes should have compacted"


def _crash_during_compaction(root: str, die_after: int) -> None:
    """Start a compaction and kill the process (no clean-up) at write number ``die_after``."""
    store = StudyStore(FileStore(root), NO_CLAIM_WAIT)
    calls = {"n": 0}
    real_write = partitions.write

    def write(objects: ObjectStore, name: str, table: Any) -> int:
        if calls["n"] == die_after:
            os._exit(9)
        calls["n"] += 1
        return real_write(objects, name, table)

    def create(objects: ObjectStore, made: Any, settle: Any) -> None:
        os._exit(9)  # every partition written, the manifest not yet

    setattr(partitions, "write", write)  # noqa: B010 - patched in this child process only
    setattr(manifest, "create", create)  # noqa: B010
    store.index_maintenance.compact_now(force=True)
    os._exit(0)


def test_a_crash_during_compaction_leaves_a_readable_index(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    store = StudyStore(FileStore(root), NO_CLAIM_WAIT)
    rng = random.Random(5)
    truth = set()
    for index in range(200):
        row = synthetic_row(index, rng)
        publish(store, row)
        truth.add(row.study_uid)
    store.index_maintenance.compact_now(force=True)
    for index in range(200, 260):
        row = synthetic_row(index, rng)
        publish(store, row)
        truth.add(row.study_uid)
    context = multiprocessing.get_context("spawn")
    for die_after in (0, 1, 3, 99):  # 99: only the manifest create is cut short
        child = context.Process(target=_crash_during_compaction, args=(root, die_after))
        child.start()
        child.join(120)
        assert child.exitcode == 9
        reader = StudyStore(FileStore(root), CONFIG)
        assert set(all_pages(reader, SearchQuery(limit=100))) == truth
    leftovers = {info.key for info in store.objects.list(PARTITION_PREFIX)}
    # The survivors compact normally; once past the grace the crashed
    # compactions' partitions are collected.
    assert store.index_maintenance.compact_now(force=True) is not None
    later = store.config.clock() + timedelta(hours=1)
    future = compactor(store.objects, replace(NO_CLAIM_WAIT, clock=lambda: later))
    future.clean(manifest.newest(store.objects))
    remaining = {info.key for info in store.objects.list(PARTITION_PREFIX)}
    live = {partition_key(n) for n in manifest.newest(store.objects).live_files()}
    assert remaining == live
    assert leftovers - remaining, "orphans of the crashed compactions should be gone"
    assert set(all_pages(StudyStore(FileStore(root), CONFIG), SearchQuery(limit=100))) == truth


def test_reindex_from_the_studies_reproduces_the_same_rows(tmp_path: Path) -> None:
    objects = FileStore(tmp_path / "store")
    store = StudyStore(objects, CONFIG)
    actor = Actor("reindex", None)
    uids = []
    for index in range(6):
        uid = unique_uid()
        study, items = mint_study(
            uid, unique_uid(), [unique_uid(), unique_uid()], patient_id=f"RX{index % 3}"
        )
        with store.begin_ingest() as session:
            session.add_mint(study, items)
            session.commit(actor)
        uids.append(uid)
    store.delete(uids[4], actor)
    store.index_maintenance.compact_now(force=True)

    def rows() -> dict[str, Any]:
        found = {}
        for ref in manifest.newest(objects).base:
            for skey, row in partitions.table_rows(partitions.read_whole(objects, ref.name)):
                found[row.study_uid] = (skey, row)
        return found

    before = rows()
    assert len(before) == 6 and before[uids[4]][1].deleted
    assert before[uids[2]][1].series == 1 and before[uids[2]][1].instances == 2
    for info in list(objects.list(INDEX_PREFIX)):
        objects.delete(info.key)
    store.reindex()
    assert rows() == before
    fresh = StudyStore(objects, CONFIG)
    assert set(all_pages(fresh, SearchQuery())) == set(uids) - {uids[4]}
    assert {h.study_uid for h in fresh.search(SearchQuery(patient_id="RX1")).results} == {uids[1]}


def test_a_live_claim_keeps_other_compactors_out_until_it_expires(tmp_path: Path) -> None:
    objects = FileStore(tmp_path / "store")
    first = compactor(objects, CONFIG)
    second = compactor(objects, CONFIG)
    assert first.claim(1)
    assert not second.claim(1)
    later = CONFIG.clock() + CONFIG.index.claim_ttl + timedelta(seconds=1)
    patient = compactor(objects, replace(CONFIG, clock=lambda: later))
    assert patient.claim(1)
    assert not second.claim(1)
