"""Requests the partitioned index makes: pinned continuation pages and read-ahead.

Counted through a wrapper that records the key of every read, so each test
asserts what an object store is asked (the figure that costs money and round
trips on S3), and that the answers stay exactly those of the fold.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from mintstore.adapters.memory import MemoryStore
from mintstore.errors import IntegrityError, InvalidInput
from mintstore.store import SearchQuery, StoreConfig, StudyStore, manifest, partitions
from mintstore.store.index import BasePart, SearchIndex
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import PARTITION_PREFIX, SEQ_PREFIX, partition_key
from mintstore.store.records import IndexRow
from mintstore.store.search import continuation_after, continuation_pin, make_continuation
from tests.scale.rows import publish, synthetic_row

SMALL = StoreConfig(
    compact_every=40,
    index=IndexOptions(
        background=False, partition_rows=300, delta_rows=150, max_deltas=3, merge_partitions=2
    ),
)

pytestmark = pytest.mark.usefixtures("small_row_groups")


class KeyedReads(MemoryStore):
    """A memory store that remembers the key (and range) of every read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reads: list[tuple[str, str]] = []
        self._reads_lock = threading.Lock()

    def _note(self, operation: str, key: str) -> None:
        with self._reads_lock:
            self.reads.append((operation, key))

    def get(self, key: str) -> Any:
        self._note("get", key)
        return super().get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        self._note("get_range", key)
        return super().get_range(key, start, end)

    def take(self) -> list[tuple[str, str]]:
        with self._reads_lock:
            taken, self.reads = self.reads, []
        return taken


@pytest.fixture
def objects() -> Iterator[KeyedReads]:
    store = KeyedReads(f"idxreq-{random.randrange(10**9)}")
    with store:
        yield store


def _load(store: StudyStore, count: int, seed: int) -> dict[str, IndexRow]:
    rng = random.Random(seed)
    rows = [synthetic_row(i, rng) for i in range(count)]
    store.index_maintenance.replace([(f"k{i}", row) for i, row in enumerate(rows)], 0)
    return {row.study_uid: row for row in rows}


def _log_reads(reads: list[tuple[str, str]]) -> int:
    return sum(1 for _, key in reads if key.startswith(SEQ_PREFIX))


def test_tokens_round_trip_and_old_tokens_still_work() -> None:
    token = make_continuation("1.2.3", 41)
    assert continuation_after(token) == "1.2.3"
    assert continuation_pin(token) == 41
    old = make_continuation("1.2.3")
    assert continuation_after(old) == "1.2.3" and continuation_pin(old) is None
    for text in ("uid2.x.1.2", "uid2.12", "uid2..1.2", "uid3.1.2"):
        bad = base64.urlsafe_b64encode(text.encode()).decode()
        with pytest.raises(InvalidInput):
            continuation_pin(bad)
        with pytest.raises(InvalidInput):
            continuation_after(bad)


def test_continued_pages_skip_the_tail_check_when_folded(objects: KeyedReads) -> None:
    store = StudyStore(objects, SMALL)
    truth = _load(store, 400, 3)
    for index in range(5):  # a tail after the manifest
        row = synthetic_row(1000 + index, random.Random(index))
        publish(store, row)
        truth[row.study_uid] = row
    reader = StudyStore(objects, SMALL)
    objects.take()
    page = reader.search(SearchQuery(limit=25))
    assert _log_reads(objects.take()) >= 1, "the first page checks the change log's tail"
    seen = [hit.study_uid for hit in page.results]
    pages = 0
    while page.continuation:
        page = reader.search(SearchQuery(limit=25, continuation=page.continuation))
        seen.extend(hit.study_uid for hit in page.results)
        assert _log_reads(objects.take()) == 0, "a pinned page read the change log"
        pages += 1
    assert pages >= 10
    assert seen == sorted(truth)


@pytest.mark.parametrize("window", [timedelta(0), timedelta(hours=1)])
def test_a_process_behind_the_token_folds_up_to_it(objects: KeyedReads, window: timedelta) -> None:
    store = StudyStore(objects, SMALL)
    truth = _load(store, 200, 4)
    # Even with a freshness window (index_refresh) a page sees what its token pins.
    behind = StudyStore(objects, replace(SMALL, index_refresh=window))
    first = behind.search(SearchQuery(limit=10))  # loaded now, then not refreshed
    assert first.continuation
    ahead = StudyStore(objects, SMALL)
    late = replace(synthetic_row(5000, random.Random(9)), study_uid="9.9.9.late")
    publish(ahead, late)
    token = ahead.search(SearchQuery(limit=10)).continuation  # pins the late entry
    assert continuation_pin(token) is not None
    objects.take()
    rest: list[str] = []
    page = behind.search(SearchQuery(limit=500, continuation=token))
    rest.extend(hit.study_uid for hit in page.results)
    assert _log_reads(objects.take()) >= 1, "behind the token: the tail must be read"
    assert "9.9.9.late" in rest, "the page saw less than the page that made its token"
    assert rest == sorted(set(truth) | {"9.9.9.late"})[10:]


def test_pinned_paging_never_skips_or_repeats_across_commits_and_compaction(
    objects: KeyedReads,
) -> None:
    rng = random.Random(21)
    writer = StudyStore(objects, SMALL)
    truth = _load(writer, 600, 5)
    present_throughout = set(truth)
    reader = StudyStore(objects, SMALL)
    seen: list[str] = []
    page = reader.search(SearchQuery(limit=17))
    seen.extend(hit.study_uid for hit in page.results)
    step = 0
    while page.continuation:
        # Elsewhere: new studies, updates that change searchable values,
        # deletions, and compactions (which fold and rewrite partitions).
        for _ in range(7):
            row = synthetic_row(10_000 + step, rng)
            publish(writer, row)
            step += 1
        victim = rng.choice(sorted(present_throughout))
        old = truth[victim]
        publish(writer, replace(old, version=old.version + 1, modalities=("XA",)))
        truth[victim] = replace(old, version=old.version + 1)
        if step % 3 == 0:
            doomed = rng.choice(sorted(present_throughout - {victim}))
            gone = IndexRow(doomed, truth[doomed].version + 1, old.last_modified, deleted=True)
            publish(writer, gone)
            present_throughout.discard(doomed)
        if step % 5 == 0:
            writer.index_maintenance.compact_now(force=True)
            _search_index(reader).load()  # the reader switches manifests mid-paging
        page = reader.search(SearchQuery(limit=17, continuation=page.continuation))
        seen.extend(hit.study_uid for hit in page.results)
    assert len(seen) == len(set(seen)), "a study was repeated"
    assert seen == sorted(seen), "pages went back in UID order"
    missing = present_throughout - set(seen)
    assert not missing, f"skipped {len(missing)} studies present throughout"


def test_read_all_fetches_adjacent_row_groups_together(objects: KeyedReads) -> None:
    plain = StoreConfig(compact_every=40, index=replace(SMALL.index, read_ahead_groups=1))
    store = StudyStore(objects, SMALL)
    truth = _load(store, 900, 6)

    def read_all(config: StoreConfig) -> tuple[list[str], int]:
        reader = StudyStore(objects, config)
        reader.search(SearchQuery(patient_id="nobody"))  # opened: footers, lookups
        objects.take()
        seen: list[str] = []
        page = reader.search(SearchQuery(limit=20))
        seen.extend(hit.study_uid for hit in page.results)
        while page.continuation:
            page = reader.search(SearchQuery(limit=20, continuation=page.continuation))
            seen.extend(hit.study_uid for hit in page.results)
        reads = objects.take()
        ranged = [key for op, key in reads if op == "get_range" and key.endswith(".parquet")]
        return seen, len(ranged)

    together, fewer = read_all(SMALL)
    alone, one_each = read_all(plain)
    assert together == alone == sorted(truth)
    assert one_each >= 900 // 32  # one GET per 32-row group
    assert fewer * 4 <= one_each, (fewer, one_each)


def test_read_ahead_stays_within_its_byte_bound(
    objects: KeyedReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StudyStore(objects, SMALL)
    truth = _load(store, 600, 8)
    sizes: list[int] = []
    inner = objects.get_range

    def measured(key: str, start: int, end: int) -> bytes:
        data = inner(key, start, end)
        footer = end >= objects.head(key).size  # opening a file: not read-ahead
        if key.startswith(PARTITION_PREFIX) and not footer:
            sizes.append(len(data))
        return data

    monkeypatch.setattr(objects, "get_range", measured)
    bound = 3000
    monkeypatch.setattr(partitions, "READ_AHEAD_BYTES", bound)
    reader = StudyStore(objects, SMALL)
    reader.search(SearchQuery(patient_id="nobody"))
    seen: list[str] = []
    page = reader.search(SearchQuery(limit=20))  # opens the main files (footers)
    seen.extend(hit.study_uid for hit in page.results)
    sizes.clear()
    while page.continuation:
        page = reader.search(SearchQuery(limit=20, continuation=page.continuation))
        seen.extend(hit.study_uid for hit in page.results)
    assert seen == sorted(truth)
    group = max(b - a for a, b in _main_spans(reader))
    assert max(sizes) <= max(bound, group), (max(sizes), bound, group)
    assert len(sizes) < len(_main_spans(reader)), "read-ahead should still join groups"


def _search_index(store: StudyStore) -> SearchIndex:
    index: SearchIndex = store.index_maintenance._index  # white-box: the process's view
    return index


def _main_spans(store: StudyStore) -> list[tuple[int, int]]:
    snapshot = _search_index(store)._ensure()
    spans: list[tuple[int, int]] = []
    for part in snapshot.base:
        spans.extend(part.main()._spans)
    return spans


def test_opening_a_partition_is_one_get_of_its_footers(objects: KeyedReads) -> None:
    store = StudyStore(objects, SMALL)
    truth = _load(store, 700, 12)
    newest = manifest.newest(objects)
    assert len(newest.base) >= 2 and all(ref.footers for ref in newest.base)
    heads: list[str] = []
    inner_head = objects.head

    def counted_head(key: str) -> Any:
        heads.append(key)
        return inner_head(key)

    objects.head = counted_head  # type: ignore[method-assign]
    reader = StudyStore(objects, SMALL)
    row = next(iter(truth.values()))
    objects.take()
    found = reader.search(SearchQuery(patient_id=row.patient_id))
    assert row.study_uid in {hit.study_uid for hit in found.results}
    seen = reader.search(SearchQuery(limit=1000)).results  # opens the main files too
    assert [hit.study_uid for hit in seen] == sorted(truth)
    reads = objects.take()
    opened = [key for op, key in reads if key.endswith(".footers")]
    assert sorted(opened) == sorted(partition_key(ref.footers or "") for ref in newest.base)
    assert not [key for key in heads if key.startswith(PARTITION_PREFIX)], "a HEAD to open"
    # The same view as opening each file by its own footer (the layout before run 6).
    snapshot = _search_index(reader)._ensure()
    cache = partitions.RowGroupCache(1 << 20)
    for part, ref in zip(snapshot.base, newest.base, strict=True):
        old = BasePart(objects, replace(ref, footers=None), cache)
        assert (old.keys().lows, old.keys().highs) == (part.keys().lows, part.keys().highs)
        assert old.keys().bloom == part.keys().bloom
        assert old.main()._spans == part.main()._spans
        assert old.main().lows == part.main().lows


def test_a_damaged_footers_file_is_refused() -> None:
    main = partitions.encode(partitions.rows_table([("k", synthetic_row(1, random.Random(1)))]))
    keys = partitions.encode_lookup(
        partitions.lookup_table(partitions.rows_table([("k", synthetic_row(1, random.Random(1)))]))
    )
    data = partitions.encode_footers(main, keys)
    decoded = partitions.decode_footers(data, "x")
    assert decoded.main_size == len(main) and main.endswith(decoded.main_footer)
    assert decoded.keys_size == len(keys) and keys.endswith(decoded.keys_tail)
    for bad in (data[:-1], b"XXXX" + data[4:]):
        with pytest.raises(IntegrityError):
            partitions.decode_footers(bad, "x")


def test_a_patient_search_reads_its_partitions_groups_in_parallel(objects: KeyedReads) -> None:
    rng = random.Random(13)
    store = StudyStore(objects, SMALL)
    rows = [synthetic_row(i, rng) for i in range(900)]
    rows = [replace(r, patient_id="SHARED") if i % 97 == 0 else r for i, r in enumerate(rows)]
    store.index_maintenance.replace([(f"k{i}", row) for i, row in enumerate(rows)], 0)
    assert len(manifest.newest(objects).base) >= 3
    threads: list[str] = []
    inner = objects.get_range

    def noted(key: str, start: int, end: int) -> bytes:
        if key.endswith(".keys"):
            threads.append(threading.current_thread().name)
        return inner(key, start, end)

    objects.get_range = noted  # type: ignore[method-assign]
    reader = StudyStore(objects, SMALL)
    found = reader.search(SearchQuery(patient_id="SHARED"))
    want = sorted(r.study_uid for r in rows if r.patient_id == "SHARED")
    assert [hit.study_uid for hit in found.results] == want
    assert sum(name.startswith("index-read") for name in threads) >= 2, threads
    threads.clear()
    again = reader.search(SearchQuery(patient_id="SHARED"))  # cached now: no reads
    assert [hit.study_uid for hit in again.results] == want and not threads


def test_fetched_ahead_bytes_count_in_the_cache_budget() -> None:
    table = partitions.rows_table(
        [(f"k{i}", synthetic_row(i, random.Random(i))) for i in range(40)]
    )
    cache = partitions.RowGroupCache(200_000)
    group_size = 0
    for number in range(20):
        group = partitions._Group(table, table["study_uid"].to_pylist())
        group_size = group.size
        cache.put(("main", number), group)
        cache.put_raw(("raw", number), b"x" * 20_000)
        held = cache._bytes + cache._raw_bytes
        assert held <= 200_000 or len(cache._groups) == 1, held
        assert cache._raw_bytes <= 50_000
    assert group_size > 0 and len(cache._groups) >= 1
    assert cache.take_raw(("raw", 19)) == b"x" * 20_000
    assert cache.take_raw(("raw", 19)) is None  # taken: decoded next, not kept twice


def test_a_missing_footers_file_falls_back_to_each_files_own_end(objects: KeyedReads) -> None:
    store = StudyStore(objects, SMALL)
    truth = _load(store, 500, 14)
    for ref in manifest.newest(objects).base:  # as an older version's clean-up would
        objects.delete(partition_key(ref.footers or ""))
    reader = StudyStore(objects, SMALL)
    row = next(iter(truth.values()))
    found = reader.search(SearchQuery(patient_id=row.patient_id))
    assert row.study_uid in {hit.study_uid for hit in found.results}
    everything = reader.search(SearchQuery(limit=1000)).results
    assert [hit.study_uid for hit in everything] == sorted(truth)
