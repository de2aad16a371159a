"""verify, gc and reindex on a Dask local cluster agree with the in-process ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mintstore.adapters import PutMode
from mintstore.adapters.filesystem import FileStore
from mintstore.bulk import sharded
from mintstore.bulk.cluster import ClusterOptions
from mintstore.store import Actor, SearchQuery, StoreConfig, StudyStore
from mintstore.store.layout import INDEX_PREFIX, blob_key

from ..store.helpers import mint_study, unique_uid
from .test_partitioned_index import all_pages

ORPHAN = b"nobody references this"


def test_sharded_verify_reindex_and_gc(tmp_path: Path, dask_scheduler: str) -> None:
    import hashlib

    root = tmp_path / "store"
    url = f"file://{root}"
    store = StudyStore(FileStore(root))
    actor = Actor("jobs", None)
    uids = []
    for index in range(7):
        uid = unique_uid()
        study, items = mint_study(uid, unique_uid(), [unique_uid()], patient_id=f"J{index}")
        with store.begin_ingest() as session:
            session.add_mint(study, items)
            session.commit(actor)
        uids.append(uid)
    store.delete(uids[3], actor)
    orphan = hashlib.sha256(ORPHAN).hexdigest()
    store.objects.put(blob_key(orphan), ORPHAN, mode=PutMode.CREATE)
    cluster = ClusterOptions(scheduler=dask_scheduler)
    config = StoreConfig()

    expected = store.verify()
    report = sharded.run_verify(url, {}, config, cluster)
    assert report.studies == expected.studies == 7
    assert report.versions == expected.versions
    assert report.ok and expected.ok
    assert sorted(report.orphans) == sorted(expected.orphans)
    assert orphan in report.orphans and len(report.orphans) > 1  # + the deleted study's

    for info in list(store.objects.list(INDEX_PREFIX)):
        store.objects.delete(info.key)
    sharded.run_reindex(url, {}, config, cluster)
    live = set(uids) - {uids[3]}
    assert set(all_pages(StudyStore(FileStore(root)), SearchQuery())) == live

    collected = sharded.run_gc(url, {}, config, cluster, timedelta(0))
    assert sorted(collected.deleted) == sorted(expected.orphans)
    after = StudyStore(FileStore(root))
    assert after.verify().ok and not after.verify().orphans
    for uid in live:
        assert after.metadata(uid).study_instance_uid == uid
