"""A committed version gets its change-log entry before the commit is acknowledged,
through transient store failures; past ``publish_patience`` the commit is still
answered as committed, verify reports the missing entry and the backfill adds it."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from mintstore.adapters import ObjectInfo, PutMode
from mintstore.adapters.base import PutData
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import StoreUnavailable
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.store.config import utc_now

from ..store.helpers import mint_study, unique_uid

ACTOR = Actor("tester", None)
_names = itertools.count()


class FailingEntries(MemoryStore):
    """Fails the next ``failures`` creates of change-log entries (nothing written)."""

    def __init__(self) -> None:
        super().__init__(f"entries-{next(_names)}")
        self.failures = 0

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        if key.startswith("changes/seq/") and self.failures > 0:
            self.failures -= 1
            raise StoreUnavailable("injected", key=key)
        return super().put(key, data, mode=mode)


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


def _create(store: StudyStore) -> str:
    uid = unique_uid()
    study, items = mint_study(uid, unique_uid(), [unique_uid()])
    with store.begin_ingest() as session:
        session.add_mint(study, items)
        [result] = session.commit(ACTOR)
    assert result.changed
    return uid


def _logged(store: StudyStore) -> list[tuple[str, int]]:
    page = store.system_changes(limit=1000)
    return [(change.study_uid, change.version) for change in page.changes]


def test_transient_failures_are_retried_before_the_commit_is_answered() -> None:
    objects = FailingEntries()
    store = StudyStore(objects, StoreConfig(publish_patience=timedelta(seconds=10)))
    objects.failures = 3
    uid = _create(store)
    assert objects.failures == 0
    assert _logged(store) == [(uid, 0)]


def test_past_the_patience_the_commit_stands_and_verify_repairs_the_log() -> None:
    objects = FailingEntries()
    clock = Clock()
    config = StoreConfig(publish_patience=timedelta(milliseconds=200), clock=clock)
    store = StudyStore(objects, config)
    objects.failures = 10**6
    uid = _create(store)  # answered as committed, which it is
    objects.failures = 0
    assert store.study_info(uid).version == 0
    assert _logged(store) == []
    young = store.verify()
    assert (young.ok, young.pending_changes, young.backfilled_changes) == (True, 1, 0)
    clock.offset = config.seq_backfill_after + timedelta(seconds=1)
    repaired = StudyStore(objects, config).verify()
    assert (repaired.pending_changes, repaired.backfilled_changes) == (0, 1)
    assert _logged(StudyStore(objects, config)) == [(uid, 0)]
