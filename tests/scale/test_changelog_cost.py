"""The change log costs O(1) requests to append and to read the tail, and O(page)
to page, however long the history (counted, not timed)."""

from __future__ import annotations

import random
from pathlib import Path

from mintstore.adapters.counting import CountingStore
from mintstore.adapters.filesystem import FileStore
from mintstore.store import StoreConfig, StudyStore
from mintstore.store.changelog import encode_token
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import SEQ_FOLDER_SIZE, SEQ_PREFIX

from .rows import publish, synthetic_row

CONFIG = StoreConfig(compact_every=500, index=IndexOptions(background=False))


def _costs(objects: CountingStore, store: StudyStore, rng: random.Random) -> dict[str, int]:
    """Requests of: one append, one empty tail read, a fresh process's first append,
    and a page of 20 changes."""
    costs = {}
    objects.reset()
    publish(store, synthetic_row(rng.randrange(10**6), rng))
    costs["append"] = objects.total
    token = encode_token(store.archive_jobs.change_log_tail())
    objects.reset()
    assert store.system_changes(continuation=token).changes == []
    costs["tail read"] = objects.total
    objects.reset()
    fresh = StudyStore(objects, CONFIG)
    publish(fresh, synthetic_row(rng.randrange(10**6), rng))
    costs["fresh append"] = objects.total
    objects.reset()
    page = store.system_changes(limit=20)
    assert len(page.changes) == 20
    objects.reset()
    page = store.system_changes(continuation=page.continuation, limit=20)
    costs["page of 20"] = objects.total
    return costs


def test_append_tail_and_page_costs_do_not_grow_with_history(tmp_path: Path) -> None:
    objects = CountingStore(FileStore(tmp_path / "store"))
    store = StudyStore(objects, CONFIG)
    rng = random.Random(1)
    for index in range(60):
        publish(store, synthetic_row(index, rng))
    store.index_maintenance.compact_now(force=True)
    short = _costs(objects, store, rng)
    for index in range(SEQ_FOLDER_SIZE // 20):
        publish(store, synthetic_row(1000 + index, rng))
        if index % 250 == 249:
            store.index_maintenance.compact_now()
    long = _costs(objects, store, rng)
    # A fresh process finds the tail from the manifest's upto: O(log of the
    # distance), and compaction bounds the distance (compact_every = 500).
    for costs in (short, long):
        assert costs.pop("fresh append") <= 3 + 2 * 10 + 2, costs
    assert long == short, (short, long)
    assert short["append"] <= 2  # the entry and its validity marker
    assert short["tail read"] == 1
    assert short["page of 20"] <= 2 * 20 + 2
    objects.reset()
    publish(store, synthetic_row(99, rng))
    assert objects.counts["list"] == 0, "an append must not list anything"


def test_entries_are_kept_in_bounded_folders(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = StudyStore(FileStore(root), CONFIG)
    rng = random.Random(2)
    for index in range(5):
        publish(store, synthetic_row(index, rng))
    folders = sorted(p.name for p in (root / SEQ_PREFIX).iterdir())
    assert folders == ["000000000000"]
    assert len(list((root / SEQ_PREFIX / folders[0]).iterdir())) == 5
