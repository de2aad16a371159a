"""The spool and its committer, in process: what is spooled gets committed and
removed, leftovers are adopted, and an instance the engine refuses at commit time
is kept aside with its reason (never dropped)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from pydicom import dcmread

from mintstore.adapters.registry import open_store
from mintstore.dimse.spool import REJECTED_PREFIX, SPOOL_PREFIX, BatchCommitter, Spool
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series


def _store(tmp_path: Path) -> StudyStore:
    (tmp_path / "store").mkdir()
    return StudyStore(open_store((tmp_path / "store").as_uri(), {}), StoreConfig())


def _keys(store: StudyStore, prefix: str) -> list[str]:
    return [info.key for info in store.objects.list(prefix)]


def test_spooled_instances_are_committed_in_one_batch_and_removed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    series = write_ct_series(tmp_path / "ct", 6, rows=8, columns=8)
    spool = Spool(store.objects)
    committer = BatchCommitter(store, spool, max_instances=100, max_delay=30)
    try:
        for path, sop in zip(series.paths, series.sop_instance_uids, strict=True):
            committer.submit(spool.put(path.read_bytes(), Actor("CT01", "10.1.2.3")), sop)
        assert len(_keys(store, SPOOL_PREFIX)) == 6  # durable, not committed yet
        assert committer.flush()
    finally:
        committer.close()
    assert _keys(store, SPOOL_PREFIX) == []
    changes = store.study_changes(series.study_instance_uid)
    assert [(c.user, c.host) for c in changes] == [("CT01", "10.1.2.3")]  # one commit
    assert (
        len(store.metadata(series.study_instance_uid).series[series.series_instance_uid].instances)
        == 6
    )


def test_leftovers_are_adopted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    series = write_ct_series(tmp_path / "ct", 3, rows=8, columns=8)
    spool = Spool(store.objects)
    for path in series.paths:  # spooled by a process that died before committing
        spool.put(path.read_bytes(), Actor("DEAD", None))
    committer = BatchCommitter(store, spool, max_delay=0.01)
    try:
        assert committer.recover(older_than=timedelta(hours=1)) == 0  # too young to adopt
        assert committer.recover(older_than=timedelta(0)) == 3
        assert committer.flush()
    finally:
        committer.close()
    assert _keys(store, SPOOL_PREFIX) == []
    assert store.study_info(series.study_instance_uid).version == 0


def test_refused_at_commit_time_is_kept_aside(tmp_path: Path) -> None:
    store = _store(tmp_path)
    series = write_ct_series(tmp_path / "ct", 1, rows=8, columns=8)
    with store.begin_ingest() as session:
        session.add_part10(io.BytesIO(series.paths[0].read_bytes()))
        session.commit(Actor("FIRST", None))
    other = dcmread(series.paths[0])
    other.PatientComments = "other content, same SOP Instance UID"
    buffer = io.BytesIO()
    other.save_as(buffer)
    spool = Spool(store.objects)
    committer = BatchCommitter(store, spool, max_delay=0.01)
    try:
        committer.submit(spool.put(buffer.getvalue(), Actor("LATE", None)), "x")
        assert committer.flush()
    finally:
        committer.close()
    assert _keys(store, SPOOL_PREFIX) == []
    [kept] = _keys(store, REJECTED_PREFIX)
    assert b"different content" in store.objects.get_bytes(kept).split(b"\n", 1)[0]
    assert [c.user for c in store.study_changes(series.study_instance_uid)] == ["FIRST"]
