"""Create, read, update, delete and the change logs, on every backend."""

from __future__ import annotations

import pytest

from mintstore.errors import (
    InvalidInput,
    ItemNotFound,
    StudyGone,
    StudyNotFound,
    VersionConflict,
)
from mintstore.model import Attribute, Instance, Series, Study
from mintstore.store import Actor, SearchQuery, StudyStore

from .helpers import item_bytes, mint_study, unique_uid

ALICE = Actor("alice", "127.0.0.1")


def create(
    store: StudyStore, n: int = 3, *, patient_id: str = "PAT1", modality: str = "CT"
) -> tuple[str, str, list[str]]:
    uid, series = unique_uid(), unique_uid()
    sops = [unique_uid() for _ in range(n)]
    study, items = mint_study(uid, series, sops, patient_id=patient_id, modality=modality)
    with store.begin_ingest() as session:
        session.add_mint(study, items)
        [result] = session.commit(ALICE)
    assert (result.study_uid, result.version, result.created, result.changed) == (
        uid,
        0,
        True,
        True,
    )
    return uid, series, sops


def test_create_and_read_back(store: StudyStore) -> None:
    uid, series, sops = create(store)
    info = store.study_info(uid)
    assert info.version == 0 and info.types == ["DICOM"]
    study = store.metadata(uid)
    assert set(study.series[series].instances) == set(sops)
    for bid, sop in enumerate(sops):
        with store.open_item(uid, bid) as reader:
            assert reader.read() == item_bytes(sop)
        assert store.item_size(uid, bid) == 1000
        assert store.read_item_range(uid, bid, 10, 20) == item_bytes(sop)[10:20]
    assert [bid for bid, _, _ in store.iter_items(uid)] == [0, 1, 2]
    with pytest.raises(ItemNotFound):
        store.open_item(uid, 99)
    with pytest.raises(StudyNotFound):
        store.metadata(unique_uid())


def test_bad_mint_upload_changes_nothing(store: StudyStore) -> None:
    uid, series, sops = unique_uid(), unique_uid(), [unique_uid()]
    study, items = mint_study(uid, series, sops)
    del items[0]
    with store.begin_ingest() as session, pytest.raises(InvalidInput):
        session.add_mint(study, items)
    with pytest.raises(StudyNotFound):
        store.study_info(uid)


def test_update_delta_and_history(store: StudyStore) -> None:
    uid, series_uid, sops = create(store)
    delta = Study(uid)
    delta.attributes[0x00100020] = Attribute(0x00100020, "LO", "PAT2")
    delta.attributes[0x00080050] = Attribute(0x00080050, "SH", "", exclude=True)
    series = Series(series_uid)
    series.instances[sops[0]] = Instance(sops[0], exclude=True)
    new_sop = unique_uid()
    content = item_bytes("new", 3000)
    series.instances[new_sop] = Instance(
        new_sop, "1.2.840.10008.1.2.1", {0x7FE00010: Attribute(0x7FE00010, "OW", bid=0, bsize=3000)}
    )
    delta.series[series_uid] = series
    import io

    result = store.update(uid, delta, {0: lambda: io.BytesIO(content)}, old_version=0, actor=ALICE)
    assert result.version == 1 and result.changed
    study = store.metadata(uid)
    assert study.attributes[0x00100020].val == "PAT2"
    assert 0x00080050 not in study.attributes
    assert set(study.series[series_uid].instances) == {sops[1], sops[2], new_sop}
    # new bid above every earlier bid (0..2), item 0 is gone with its instance
    assert store.item_ids(uid) == [1, 2, 3]
    with store.open_item(uid, 3) as reader:
        assert reader.read() == content
    assert store.metadata(uid, version=0).attributes[0x00100020].val == "PAT1"
    changes = store.study_changes(uid)
    assert [(c.number, c.operation, c.user) for c in changes] == [
        (0, "CREATE", "alice"),
        (1, "UPDATE", "alice"),
    ]
    payload = store.change_payload(uid, 1)
    assert payload.attributes[0x00100020].val == "PAT2"
    with pytest.raises(VersionConflict):
        store.update(uid, delta, {}, old_version=0, actor=ALICE)


def test_delete_hides_study(store: StudyStore) -> None:
    uid, _, _ = create(store, patient_id="GONE")
    assert [h.study_uid for h in store.search(SearchQuery(patient_id="GONE")).results] == [uid]
    result = store.delete(uid, ALICE)
    assert result.version == 1
    with pytest.raises(StudyGone):
        store.metadata(uid)
    with pytest.raises(StudyGone):
        store.open_item(uid, 0)
    assert store.search(SearchQuery(patient_id="GONE")).results == []


def test_system_changes_and_search(store: StudyStore) -> None:
    uids = [create(store, 1, patient_id=f"P{i}", modality="MR" if i else "CT")[0] for i in range(3)]
    page = store.system_changes(limit=2)
    assert [c.study_uid for c in page.changes] == uids[:2]
    rest = store.system_changes(continuation=page.continuation)
    assert [c.study_uid for c in rest.changes] == uids[2:]
    empty = store.system_changes(continuation=rest.continuation)
    assert empty.changes == []
    assert {
        h.study_uid for h in store.search(SearchQuery(modalities_in_study=("MR",))).results
    } == set(uids[1:])
    assert store.search(SearchQuery(min_study_date="20020712")).results == []
    found = store.search(SearchQuery(max_study_date_time="2002-07-11T14:41:14"))
    assert {h.study_uid for h in found.results} == set(uids)
    first = store.search(SearchQuery(limit=2))
    second = store.search(SearchQuery(limit=2, continuation=first.continuation))
    assert second.continuation is None
    assert len({h.study_uid for h in first.results + second.results}) == 3
