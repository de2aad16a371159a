"""Search: every MINT-SPEC section 5 parameter, manifests, reindex."""

from __future__ import annotations

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import InvalidInput
from mintstore.model import Attribute, Item
from mintstore.store import Actor, SearchQuery, StoreConfig, StudyStore, manifest
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import MANIFEST_PREFIX, PARTITION_PREFIX

from .helpers import mint_study, unique_uid

ACTOR = Actor("idx", None)


def _add(
    store: StudyStore,
    *,
    patient: str,
    issuer: str | None = None,
    accession_issuer: str | None = None,
    modality: str = "CT",
    date: str = "20020711",
    time: str = "144114.000",
) -> str:
    uid = unique_uid()
    study, items = mint_study(
        uid, unique_uid(), [unique_uid()], patient_id=patient, modality=modality, study_date=date
    )
    study.attributes[0x00080030] = Attribute(0x00080030, "TM", time)
    if issuer:
        study.attributes[0x00100021] = Attribute(0x00100021, "LO", issuer)
    if accession_issuer:
        study.attributes[0x00080051] = Attribute(
            0x00080051,
            "SQ",
            items=[Item({0x00400031: Attribute(0x00400031, "UT", accession_issuer)})],
        )
    with store.begin_ingest() as session:
        session.add_mint(study, items)
        session.commit(ACTOR)
    return uid


def _uids(store: StudyStore, **query: object) -> set[str]:
    return {hit.study_uid for hit in store.search(SearchQuery(**query)).results}  # type: ignore[arg-type]


def test_every_parameter(object_store: ObjectStore) -> None:
    store = StudyStore(object_store)
    a = _add(store, patient="P1", issuer="HOSP-A", accession_issuer="RIS-A", modality="CT")
    b = _add(store, patient="P1", issuer="HOSP-B", modality="MR", date="20100101", time="0930")
    c = _add(store, patient="P2", modality="US", date="20200229", time="235959.5")
    assert _uids(store) == {a, b, c}
    assert _uids(store, study_instance_uid=b) == {b}
    assert _uids(store, patient_id="P1") == {a, b}
    assert _uids(store, patient_id="P1", patient_id_issuer="HOSP-B") == {b}
    assert _uids(store, patient_id_issuer="HOSP-A") == {a}
    assert _uids(store, accession_number="ACC-P2") == {c}
    assert _uids(store, accession_number_issuer="RIS-A") == {a}
    assert _uids(store, modalities_in_study=("MR", "US")) == {b, c}
    assert _uids(store, min_study_date="20100101") == {b, c}
    assert _uids(store, max_study_date="20100101") == {a, b}
    assert _uids(store, min_study_date="20100102", max_study_date="20200229") == {c}
    assert _uids(store, min_study_date_time="20100101T093000") == {b, c}
    assert _uids(store, min_study_date_time="2010-01-01T09:30:01") == {c}
    assert _uids(store, max_study_date_time="2020-02-29T23:59:59Z") == {a, b}
    assert _uids(store, max_study_date_time="20200229T235959.5") == {a, b, c}
    ordered = sorted([a, b, c])
    assert [h.study_uid for h in store.search(SearchQuery(offset=1, limit=1)).results] == [
        ordered[1]
    ]
    with pytest.raises(InvalidInput):
        store.search(SearchQuery(min_study_date="2010-01-01"))
    with pytest.raises(InvalidInput):
        store.search(SearchQuery(continuation="garbage!"))
    store.delete(b, ACTOR)
    assert _uids(store, patient_id="P1") == {a}


def test_manifest_compaction_and_reload(object_store: ObjectStore) -> None:
    config = StoreConfig(compact_every=3, index=IndexOptions(background=False))
    writer = StudyStore(object_store, config)
    uids = [_add(writer, patient=f"P{i}") for i in range(7)]
    assert writer.index_maintenance.compact_now() is not None  # 7 entries waiting >= 3
    manifests = [info.key for info in object_store.list(MANIFEST_PREFIX)]
    assert manifests, "no manifest written"
    writer.delete(uids[0], ACTOR)
    reader = StudyStore(object_store, config)
    assert _uids(reader) == set(uids[1:])
    assert _uids(reader, patient_id="P3") == {uids[3]}
    assert writer.index_maintenance.compact_now(force=True) is not None  # merged into the base
    again = StudyStore(object_store, config)
    assert _uids(again) == set(uids[1:])
    assert _uids(again, patient_id="P0") == set()
    assert _uids(again, patient_id="P3") == {uids[3]}


def test_reindex_from_studies_alone(object_store: ObjectStore) -> None:
    store = StudyStore(object_store)
    uids = [_add(store, patient=f"R{i}") for i in range(3)]
    store.delete(uids[1], ACTOR)
    for prefix in (MANIFEST_PREFIX, PARTITION_PREFIX):
        for info in list(object_store.list(prefix)):
            object_store.delete(info.key)
    upto = store.reindex()
    assert upto == 4
    newest = manifest.newest(object_store)
    assert newest.upto == upto and not newest.deltas and len(newest.base) == 1
    assert _uids(StudyStore(object_store)) == {uids[0], uids[2]}
