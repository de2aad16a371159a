"""The partitioned index: search agrees with a plain fold of the change log,
across base partitions, deltas and the tail, through compactions and paging."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow.compute as pc
import pytest

from mintstore.adapters import ObjectStore
from mintstore.adapters.filesystem import FileStore
from mintstore.adapters.memory import MemoryStore
from mintstore.store import SearchQuery, StoreConfig, StudyStore, manifest, partitions
from mintstore.store.changelog import ChangeLog
from mintstore.store.index import SearchIndex
from mintstore.store.index_options import IndexOptions
from mintstore.store.records import IndexRow
from mintstore.store.search import matcher

from .rows import MODALITIES, publish, synthetic_row

SMALL = StoreConfig(
    compact_every=40,
    index=IndexOptions(
        background=False, partition_rows=300, delta_rows=150, max_deltas=3, merge_partitions=2
    ),
)

pytestmark = pytest.mark.usefixtures("small_row_groups")


@pytest.fixture(params=["memory", "file"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "memory":
        store: ObjectStore = MemoryStore(f"idx-{random.randrange(10**9)}")
    else:
        store = FileStore(tmp_path / "store")
    with store:
        yield store


def all_pages(store: StudyStore, query: SearchQuery) -> list[str]:
    seen: list[str] = []
    page = store.search(query)
    seen.extend(hit.study_uid for hit in page.results)
    while page.continuation:
        page = store.search(replace(query, continuation=page.continuation))
        seen.extend(hit.study_uid for hit in page.results)
    return seen


def expected(truth: dict[str, IndexRow], query: SearchQuery) -> list[str]:
    accept = matcher(query)
    return sorted(uid for uid, row in truth.items() if not row.deleted and accept(row))


def queries(truth: dict[str, IndexRow], rng: random.Random) -> list[SearchQuery]:
    rows = list(truth.values())
    chosen = [SearchQuery(limit=53)]
    for row in rng.sample(rows, 8):
        chosen += [
            SearchQuery(patient_id=row.patient_id, limit=2),
            SearchQuery(accession_number=row.accession_number),
            SearchQuery(study_instance_uid=row.study_uid),
            SearchQuery(patient_id=row.patient_id, patient_id_issuer="HOSP-A"),
        ]
    for modality in rng.sample(MODALITIES, 3):
        chosen.append(SearchQuery(modalities_in_study=(modality,), limit=41))
    chosen.append(SearchQuery(modalities_in_study=("mr", "US"), limit=67))
    chosen.append(SearchQuery(min_study_date="20010301", max_study_date="20010331", limit=9))
    chosen.append(
        SearchQuery(
            modalities_in_study=("CT",),
            min_study_date="20020101",
            max_study_date="20021231",
            limit=17,
        )
    )
    chosen.append(SearchQuery(min_study_date_time="20030615T120000", limit=100))
    chosen.append(SearchQuery(patient_id_issuer="HOSP-B", limit=100))
    return chosen


def test_search_agrees_with_the_fold_through_compactions(objects: ObjectStore) -> None:
    rng = random.Random(7)
    store = StudyStore(objects, SMALL)
    truth: dict[str, IndexRow] = {}
    for index in range(930):
        row = synthetic_row(index, rng)
        publish(store, row)
        truth[row.study_uid] = row
        if index % 7 == 3:  # an update changing searchable values
            old = truth[rng.choice(list(truth))]
            if not old.deleted:
                new = replace(
                    old,
                    version=old.version + 1,
                    modalities=(rng.choice(MODALITIES),),
                    patient_id=f"UPD{index}",
                )
                publish(store, new)
                truth[new.study_uid] = new
        if index % 13 == 5:  # a deletion
            old = truth[rng.choice(list(truth))]
            if not old.deleted:
                gone = IndexRow(old.study_uid, old.version + 1, old.last_modified, deleted=True)
                publish(store, gone)
                truth[gone.study_uid] = gone
        if index % 60 == 59:
            store.index_maintenance.compact_now()
    newest = manifest.newest(objects)
    assert len(newest.base) > 2, "the base should have been split into several partitions"
    tail = store.archive_jobs.change_log_tail()
    assert newest.upto < tail, "a tail should remain after the manifest"
    fresh = StudyStore(objects, SMALL)
    for query in queries(truth, rng):
        want = expected(truth, query)
        for reader in (store, fresh):
            got = all_pages(reader, query)
            assert got == want, query
    # offset counts within the page stream, and never skips or repeats
    paged = all_pages(fresh, SearchQuery(limit=10, offset=3))
    assert len(paged) == len(set(paged))
    store.index_maintenance.compact_now(force=True)
    after = StudyStore(objects, SMALL)
    assert all_pages(after, SearchQuery(limit=500)) == expected(truth, SearchQuery())
    assert not manifest.newest(objects).deltas


def test_a_page_reads_a_bounded_number_of_row_groups(objects: ObjectStore) -> None:
    rng = random.Random(11)
    store = StudyStore(objects, SMALL)
    rows = [synthetic_row(i, rng) for i in range(1200)]
    store.index_maintenance.replace([(f"k{i}", row) for i, row in enumerate(rows)], 0)
    reader = SearchIndex(objects, ChangeLog(objects, SMALL), SMALL)  # white-box: its cache
    reader.search(SearchQuery(limit=1))
    cache = reader._cache
    pages = 0
    page = reader.search(SearchQuery(limit=20))
    while page.continuation and pages < 30:
        before = len(cache._groups)
        page = reader.search(SearchQuery(limit=20, continuation=page.continuation))
        assert len(cache._groups) - before <= 2
        pages += 1
    assert pages == 30


def test_packed_lookup_rows_round_trip_any_text() -> None:
    """The exact-match groups' JSON rows (built with Arrow compute) read back exactly."""
    rows = [synthetic_row(n, random.Random(n)) for n in range(6)]
    odd = ['a"b\\c', "\x01\n\x1f\u00e9\u4e2d", "", None, "plain", "tab\there"]
    rows = [
        replace(row, patient_name=name, study_description=name, modalities=mods)
        for row, name, mods in zip(
            rows, odd, [("CT",), (), ('q"', "MR"), (), ("US",), ("X",)], strict=True
        )
    ]
    table = partitions.lookup_table(partitions.rows_table((f"k{n}", r) for n, r in enumerate(rows)))
    exact = table.filter(pc.match_substring_regex(table["lookup"], "^[AP]"))
    back = dict(partitions.table_rows(partitions.packed(exact)))
    columnar = dict(partitions.table_rows(exact))
    assert back == columnar and {r.patient_name for r in back.values()} >= {odd[0], odd[1]}
