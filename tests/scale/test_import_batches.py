"""Import tasks of several studies: how studies are batched, and one ingest session
committing each study of a batch on its own (in-process, no cluster)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from mintstore.adapters.filesystem import FileStore
from mintstore.bulk.importer import IMPORT_BATCH, study_batches
from mintstore.bulk.sources import FileRef, list_source
from mintstore.bulk.tasks import import_studies, scan_batch
from mintstore.store import StoreConfig, StudyStore
from mintstore.store.modelops import instance_uids
from mintstore.testing.archive import make_archive


def test_batches_keep_the_order_hold_whole_studies_and_leave_work_for_every_thread() -> None:
    sizes = {"big": 3 * IMPORT_BATCH, **{f"s{n}": 10 for n in range(100)}}
    studies = {uid: ["file"] * size for uid, size in sizes.items()}
    order = list(studies)
    batches = study_batches(order, studies, threads=2)
    assert [uid for batch in batches for uid in batch] == order  # each once, in order
    assert batches[0] == ["big"]  # a study larger than a batch is a task alone
    assert all(sum(sizes[uid] for uid in batch) <= IMPORT_BATCH for batch in batches[1:])
    assert len(batches) > 10  # 1,300 files: ~100 per task
    # Few files: at least TASKS_PER_THREAD tasks per thread where studies allow it.
    few = {f"s{n}": ["file"] * 2 for n in range(16)}
    assert len(study_batches(list(few), few, threads=4)) == 16


def test_one_task_commits_each_study_of_its_batch_and_a_rerun_sends_nothing(
    tmp_path: Path,
) -> None:
    archive = make_archive(tmp_path / "tree", studies=3, instances=4, truncated=2, seed=7)
    url = f"file://{tmp_path / 'store'}"
    scanned = scan_batch(list(list_source(str(archive.root), {})), {})
    studies: dict[str, list[tuple[FileRef, str]]] = defaultdict(list)
    for item in scanned:
        assert item.study_uid is not None and item.sop_uid is not None
        studies[item.study_uid].append((item.ref, item.sop_uid))
    batch = list(studies.items())
    outcomes = import_studies(url, {}, StoreConfig(), batch, "test")
    assert [o.study_uid for o in outcomes] == list(studies)
    assert all(o.version == 0 for o in outcomes)  # one commit per study
    assert sum(o.added for o in outcomes) == archive.dicom_files
    store = StudyStore(FileStore(tmp_path / "store"))
    for uid, sops in archive.studies.items():
        assert {sop for _, sop in instance_uids(store.metadata(uid))} == set(sops)
    again = import_studies(url, {}, StoreConfig(), batch, "test")
    assert sum(o.added for o in again) == 0 and sum(o.bytes_sent for o in again) == 0
    assert [o.version for o in again] == [0, 0, 0]  # nothing new committed
