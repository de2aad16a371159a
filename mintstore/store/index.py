"""Search: Parquet partitions in the bucket, plus the recent rows in memory.

The index is a fold of the change log (every entry carries its version's
index row; per study the highest version wins, deletions are rows too). It
is kept in the bucket as the partitions the newest manifest names (see
:mod:`.manifest`, :mod:`.partitions`), and in each process as:

* the manifest and, lazily, each partition's footer (min/max per row group,
  a Bloom filter of patient IDs and accession numbers): a few KB a partition;
* an :class:`~.overlay.Overlay` of the delta partitions' rows and of the log
  entries after the manifest's ``upto`` (bounded by compaction);
* a bounded cache of decoded row groups.

So memory and start-up time do not grow with the archive. A search merges
two UID-ordered streams, the base partitions' matching rows (read through
the lookup files) and the overlay's, keeps the newest version of each study,
and stops after ``offset + limit + 1`` hits: a page costs O(page), not O(N).

Compaction (:mod:`.compaction`) runs in a background thread of whichever
process sees it is due and claims it; a search or a commit never waits for
it. A newer manifest is swapped in (also in the background) once built.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import pyarrow as pa

from mintstore.adapters import ObjectStore
from mintstore.adapters.thread_pool import FixedThreadPool, shared_pool
from mintstore.errors import InvalidInput, NotFound, StoreError

from . import manifest as manifests
from . import partitions
from .changelog import ChangeLog
from .compaction import Compactor, read_delta_rows
from .config import StoreConfig
from .layout import partition_key
from .manifest import Manifest, PartitionRef
from .overlay import Overlay
from .partitions import SEPARATOR, LookupFile, PartitionFile, RowGroupCache
from .records import IndexRow
from .search import (
    continuation_after,
    continuation_pin,
    date_bounds,
    make_continuation,
    matcher,
)
from .types import SearchHit, SearchPage, SearchQuery

_log = logging.getLogger(__name__)
_CHUNK = 128


class BasePart:
    """A base partition; its two files are opened (footer read) on first use."""

    def __init__(
        self, objects: ObjectStore, ref: PartitionRef, cache: RowGroupCache, ahead: int = 1
    ) -> None:
        self.ref = ref
        #: Row groups fetched per request by scans that go on (continued pages).
        self.ahead = ahead
        self._objects = objects
        self._cache = cache
        self._lock = threading.Lock()
        self._main: PartitionFile | None = None
        self._keys: LookupFile | None = None
        self._fetched = False
        self._main_end: tuple[int, bytes] | None = None
        self._keys_end: tuple[int, bytes] | None = None

    def _footers(self) -> None:
        """Both files' ends, read once with one GET (partitions written since run 6).

        Each end is held only until its file is open (a search by patient
        never opens the main file: its footer, tens of KB, is all that stays).
        Called with ``_lock`` held.
        """
        if self.ref.footers is None or self._fetched:
            return
        key = partition_key(self.ref.footers)
        self._fetched = True
        try:
            ends = partitions.decode_footers(self._objects.get_bytes(key), key)
        except NotFound:
            # Only an accelerator: a version of mintstore that predates it
            # cleans it up as unreferenced. Each file's own end serves.
            _log.info("%s is gone; opening the partition by its own footers", key)
            return
        if self._main is None:
            self._main_end = (ends.main_size, ends.main_footer)
        if self._keys is None:
            self._keys_end = (ends.keys_size, ends.keys_tail)

    def main(self) -> PartitionFile:
        with self._lock:
            if self._main is None:
                self._footers()
                self._main = PartitionFile(
                    self._objects, self.ref.name, "study_uid", self._cache, self._main_end
                )
                self._main_end = None
            return self._main

    def needs_opening(self) -> bool:
        return self._keys is None

    def keys(self) -> LookupFile:
        with self._lock:
            if self._keys is None:
                name = self.ref.keys or self.ref.name + ".keys"
                self._footers()
                self._keys = LookupFile(self._objects, name, self._cache, self._keys_end)
                self._keys_end = None
            return self._keys


@dataclass
class Snapshot:
    """One manifest's view, plus everything folded since."""

    manifest: Manifest
    base: list[BasePart]
    overlay: Overlay
    applied: int  # every log entry up to this one is folded in
    lows: list[str] = field(default_factory=list)

    def part_of(self, uid: str) -> BasePart | None:
        if not self.base:
            return None
        return self.base[max(0, bisect.bisect_right(self.lows, uid) - 1)]


class SearchIndex:
    """The search index of one store, as one process sees it."""

    def __init__(self, objects: ObjectStore, changes: ChangeLog, config: StoreConfig) -> None:
        self.objects = objects
        self.changes = changes
        self.config = config
        self.options = config.index
        self.compactor = Compactor(objects, changes, config)
        self._cache = RowGroupCache(self.options.cache_bytes)
        self._snapshot: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._follow_lock = threading.Lock()
        self._noted: dict[int, tuple[str, IndexRow]] = {}
        self._noted_lock = threading.Lock()
        self._known_upto: int | None = None
        self._background: threading.Thread | None = None
        self._background_lock = threading.Lock()
        self._last_check = 0.0
        self._last_manifest_check = time.monotonic()
        self._last_attempt = 0.0
        changes.floor = self._floor

    # --- loading and following ----------------------------------------------------

    def _floor(self) -> int:
        """Where the change log's tail search starts: the manifest's ``upto``."""
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot.applied
        if self._known_upto is None:
            self._known_upto = manifests.newest(self.objects).upto
        return self._known_upto

    def _build(self, manifest: Manifest) -> Snapshot:
        overlay = Overlay()
        overlay.apply_all(read_delta_rows(self.objects, manifest.deltas).values())
        ahead = self.options.read_ahead_groups
        base = [BasePart(self.objects, ref, self._cache, ahead) for ref in manifest.base]
        snapshot = Snapshot(manifest, base, overlay, manifest.upto, [r.low for r in manifest.base])
        # Entries after upto: bounded by compaction, read many at a time.
        while True:
            entries = self.changes.fetch_after(snapshot.applied, self.options.tail_batch)
            for entry in entries:
                overlay.apply(entry.study_key, entry.record.index)
                snapshot.applied = entry.sequence
            if len(entries) < self.options.tail_batch:
                break
        return snapshot

    def _install(self, snapshot: Snapshot) -> None:
        with self._noted_lock:
            for number, (skey, row) in list(self._noted.items()):
                if number <= snapshot.manifest.upto:
                    del self._noted[number]
                else:
                    snapshot.overlay.apply(skey, row)
            current = self._snapshot
            if current is not None and current.manifest.generation > snapshot.manifest.generation:
                return  # a newer one was installed meanwhile
            self._snapshot = snapshot
            self._known_upto = snapshot.manifest.upto

    def _ensure(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._load_lock:  # concurrent first searches load once
            if self._snapshot is None:
                self._install(self._build(manifests.newest(self.objects)))
        assert self._snapshot is not None
        return self._snapshot

    def load(self) -> None:
        """Load (or reload) the newest manifest now, waiting for it."""
        with self._load_lock:
            self._install(self._build(manifests.newest(self.objects)))

    def _follow(self, snapshot: Snapshot) -> None:
        """Fold the entries that appeared since (one GET when there are none).

        One entry at a time for the first two (the usual case: a few new
        entries, no wasted requests); past that, many at a time
        (``fetch_after``): after a burst of commits elsewhere, hundreds of
        sequential GETs took 9-15 s on moto server, in a search.
        """
        with self._follow_lock:
            read = 0
            for entry in self.changes.entries_after(snapshot.applied, 2):
                snapshot.overlay.apply(entry.study_key, entry.record.index)
                snapshot.applied = entry.sequence
                read += 1
            while read >= 2:
                entries = self.changes.fetch_after(snapshot.applied, self.options.tail_batch)
                for entry in entries:
                    snapshot.overlay.apply(entry.study_key, entry.record.index)
                    snapshot.applied = entry.sequence
                if len(entries) < self.options.tail_batch:
                    break

    def refresh(self, pinned: int | None = None) -> None:
        """Fold what is new before a search (and look for a newer manifest now and then).

        ``pinned``: the change-log position a continuation token names. A
        continuation page must see at least what its first page saw (not
        the newest tail), so when this process has folded that far already
        the tail check (one GET, a round trip per page on an object store)
        is skipped.
        """
        snapshot = self._ensure()
        now = time.monotonic()
        if pinned is not None and snapshot.applied >= pinned:
            pass  # what the token pins is folded: nothing to read
        elif (
            pinned is not None
            or now - self._last_check >= self.config.index_refresh.total_seconds()
        ):
            # (Behind the token: folded now whatever ``index_refresh`` says,
            # so a page never sees less than the page before it.)
            self._last_check = now
            self._follow(snapshot)
        behind = snapshot.applied - snapshot.manifest.upto >= self.config.compact_every
        interval = self.options.manifest_check.total_seconds() / (10 if behind else 1)
        if now - self._last_manifest_check >= interval:
            self._last_manifest_check = now
            newer = manifests.following(self.objects, snapshot.manifest)
            if newer is not None:
                self._in_background(lambda: self._switch(newer))
            elif behind:
                self._in_background(self._compact_step)

    def note(self, number: int, skey: str, row: IndexRow) -> None:
        """Our own fresh commit: visible to our searches at once; compact when due."""
        with self._noted_lock:
            self._noted[number] = (skey, row)
            snapshot = self._snapshot
            if snapshot is not None:
                snapshot.overlay.apply(skey, row)
        upto = self._known_upto
        now = time.monotonic()
        retry = self.options.manifest_check.total_seconds() / 10
        if (
            upto is not None
            and number - upto >= self.config.compact_every
            and now - self._last_attempt >= retry
        ):
            self._last_attempt = now
            self._in_background(self._compact_step)

    # --- compaction -----------------------------------------------------------------

    def _in_background(self, work: Callable[[], None]) -> None:
        if not self.options.background:
            return
        with self._background_lock:
            if self._background is not None and self._background.is_alive():
                return
            self._background = threading.Thread(
                target=self._guarded, args=(work,), name="mintstore-index", daemon=True
            )
            self._background.start()

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except (StoreError, OSError, ValueError):
            _log.warning("background index work failed (it is retried later)", exc_info=True)

    def _switch(self, manifest: Manifest) -> None:
        self._install(self._build(manifest))

    def _compact_step(self) -> None:
        self.compact_now()

    def compact_now(self, *, force: bool = False) -> Manifest | None:
        """Run one compaction step now (if due, or always with ``force``)."""
        current = manifests.newest(self.objects)
        self._known_upto = current.upto
        made = self.compactor.step(current, force=force)
        if made is not None:
            self._known_upto = made.upto
            if self._snapshot is not None:  # a process that only commits needs no view
                self._switch(made)
        return made

    def wait_background(self, timeout: float = 60.0) -> None:
        """Wait for background index work of this process (tests, short-lived commands)."""
        thread = self._background
        if thread is not None:
            thread.join(timeout)

    def replace(self, rows: Iterable[tuple[str, IndexRow]], upto: int) -> Manifest:
        """Start over from rows built elsewhere (reindex): a new generation of them alone."""
        made = self.compactor.replace(rows, upto)
        self._switch(made)
        return made

    def replace_table(self, table: pa.Table, upto: int) -> Manifest:
        """:meth:`replace` from an Arrow table (bulk loads of millions of rows)."""
        made = self.compactor.replace_table(table, upto)
        self._switch(made)
        return made

    # --- searching ----------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        if query.limit < 1 or query.offset < 0:
            raise InvalidInput("limit must be >= 1 and offset >= 0")
        accept = matcher(query)
        after = continuation_after(query.continuation)
        self.refresh(continuation_pin(query.continuation))
        for _ in range(3):
            snapshot = self._ensure()
            try:
                return self._search(snapshot, query, accept, after)
            except NotFound:
                # A partition was deleted under us: this process fell more
                # than the retire grace behind. Reload and answer from the new one.
                _log.info("index partition gone; reloading the newest manifest")
                self.load()
        raise StoreError("the search index kept changing under this search")

    def _search(
        self,
        snapshot: Snapshot,
        query: SearchQuery,
        accept: Callable[[IndexRow], bool],
        after: str | None,
    ) -> SearchPage:
        wanted = query.offset + query.limit + 1
        applied = snapshot.applied  # what this page sees at least (its token pins it)
        overlay = snapshot.overlay
        found: list[IndexRow] = []
        base_stream = ((row.study_uid, 0, row) for row in self._base_rows(snapshot, query, after))
        over_stream = (
            (uid, 1, row)
            for uid in overlay.candidates(query, after)
            if (row := overlay.get(uid)) is not None
        )
        for uid, source, row in heapq.merge(base_stream, over_stream, key=lambda t: t[:2]):
            if row.deleted:
                continue
            if source == 0:
                newer = overlay.get(uid)
                if newer is not None and newer.version >= row.version:
                    continue
            elif row.version > 0:
                older = self._base_row(snapshot, uid)
                if older is not None and older.version > row.version:
                    continue
            if accept(row):
                found.append(row)
                if len(found) >= wanted:
                    break
        page = found[query.offset : query.offset + query.limit]
        more = len(found) > query.offset + query.limit
        token = make_continuation(page[-1].study_uid, applied) if more and page else None
        return SearchPage([_hit(row) for row in page], token)

    # --- the base partitions ------------------------------------------------------------

    def _base_row(self, snapshot: Snapshot, uid: str) -> IndexRow | None:
        part = snapshot.part_of(uid)
        if part is None:
            return None
        for piece in part.main().scan(uid, uid + "\x00"):
            for _, row in piece.rows():
                return row
        return None

    def _base_rows(
        self, snapshot: Snapshot, query: SearchQuery, after: str | None
    ) -> Iterator[IndexRow]:
        """Base rows that may match, in UID order, after ``after``."""
        if query.study_instance_uid:
            uid = query.study_instance_uid
            row = self._base_row(snapshot, uid) if after is None or uid > after else None
            if row is not None:
                yield row
            return
        start = max(0, bisect.bisect_right(snapshot.lows, after) - 1) if after else 0
        produce = self._driver(snapshot, query)
        exact = query.accession_number and "A" + query.accession_number
        exact = exact or (query.patient_id and "P" + query.patient_id)
        if exact:
            self._fetch_together(snapshot.base[start:], exact, after)
        for part in snapshot.base[start:]:
            yield from produce(part, after)

    def _fetch_together(self, parts: list[BasePart], value: str, after: str | None) -> None:
        """Read the row group each partition may hold ``value`` in, all at once.

        A patient's studies are spread over partitions (by UID), so a search
        by patient reads one small group in each partition whose Bloom
        filter says yes: the same requests as one after another, but in
        parallel they cost one round trip instead of several (~4 at 3M).
        """
        low = value + SEPARATOR + (after or "")
        wanted: list[tuple[LookupFile, int]] = []
        for part in parts:
            keys = part.keys()
            if not keys.may_contain(value):
                continue
            number = keys.first_group_reaching(low)
            inside = number < keys.row_groups and keys.lows[number] < value + "\x01"
            if inside and not self._cache.has((keys.key, number)):
                wanted.append((keys, number))
        if len(wanted) < 2:
            return
        # Only the requests run in the pool; decoding stays on this thread.
        # Decoding in the pool cost memory: RSS after the first search at 1M
        # (file store) 122 MiB, against 109 like this and 107-108 sequentially.
        _run_all(shared_pool("index-read", 4), [partial(keys.fetch, n) for keys, n in wanted])

    def _driver(
        self, snapshot: Snapshot, query: SearchQuery
    ) -> Callable[[BasePart, str | None], Iterator[IndexRow]]:
        """How to find candidates in one partition: the most selective lookup."""
        if any(p.needs_opening() for p in snapshot.base):
            # Every partition's lookup index is consulted (Bloom filter, group
            # bounds): open them in parallel, not one round trip after another.
            _run_all(shared_pool("index-open", 16), [part.keys for part in snapshot.base])
        if query.accession_number:
            value = "A" + query.accession_number
            return lambda part, after: _exact(part, value, after)
        if query.patient_id:
            value = "P" + query.patient_id
            return lambda part, after: _exact(part, value, after)
        modalities = sorted({m.strip().upper() for m in query.modalities_in_study if m.strip()})
        low, high = date_bounds(query)
        options: list[tuple[int, Callable[[BasePart, str | None], Iterator[IndexRow]]]] = []
        if modalities:
            keys = ["M" + m for m in modalities]
            cost = sum(
                part.keys().count_groups(k + SEPARATOR, k + "\x01")
                for part in snapshot.base
                for k in keys
            )
            options.append((cost, lambda part, after: _union(part, keys, after)))
        if low or high:
            first, last = "D" + (low or ""), "D" + (high or "99999999") + "\x01"
            cost = sum(part.keys().count_groups(first, last) for part in snapshot.base)
            options.append((cost, lambda part, after: _by_range(part, first, last, after)))
        if options:
            return min(options, key=lambda option: option[0])[1]
        return _scan_main


def _run_all(pool: FixedThreadPool, calls: list[Callable[[], object]]) -> None:
    """Run ``calls`` on the process's pool (started once, remade after a fork:
    adapters/thread_pool.py) and wait for all of them; the first failure is raised."""
    futures = [pool.submit(call) for call in calls]
    for future in futures:
        future.result()


def _chunked(pieces: Iterable[partitions.Slice]) -> Iterator[IndexRow]:
    """Rows of row-group slices, decoded a few at a time (a page rarely needs more)."""
    for piece in pieces:
        for start in range(piece.first, piece.last, _CHUNK):
            part = partitions.Slice(piece.group, start, min(piece.last, start + _CHUNK))
            for _, row in part.rows():
                yield row


def _exact(part: BasePart, value: str, after: str | None) -> Iterator[IndexRow]:
    keys = part.keys()
    if value[0] in "PA" and not keys.may_contain(value):
        return
    low = value + SEPARATOR + (after or "")
    # A continued modality page reads on: fetch its groups several at a time.
    ahead = part.ahead if after is not None and value[0] == "M" else 1
    yield from _chunked(keys.scan(low, value + "\x01", inclusive_low=after is None, ahead=ahead))


def _union(part: BasePart, values: list[str], after: str | None) -> Iterator[IndexRow]:
    streams = [((row.study_uid, row) for row in _exact(part, v, after)) for v in values]
    last = None
    for uid, row in heapq.merge(*streams, key=lambda pair: pair[0]):
        if uid != last:
            last = uid
            yield row


def _by_range(part: BasePart, first: str, last: str, after: str | None) -> Iterator[IndexRow]:
    """Every lookup row in [first, last) of the partition, re-sorted by UID."""
    chosen: list[tuple[str, partitions.Slice, int]] = []
    for piece in part.keys().scan(first, last, ahead=part.ahead):  # reads the whole range
        for offset, key in enumerate(piece.keys()):
            uid = key.rpartition(SEPARATOR)[2]
            if after is None or uid > after:
                chosen.append((uid, piece, piece.first + offset))
    chosen.sort(key=lambda item: item[0])
    for start in range(0, len(chosen), _CHUNK):
        batch = chosen[start : start + _CHUNK]
        by_group: dict[int, tuple[partitions.Slice, list[int]]] = {}
        for _, piece, index in batch:
            by_group.setdefault(id(piece.group), (piece, []))[1].append(index)
        found: dict[str, IndexRow] = {}
        for piece, indexes in by_group.values():
            for _, row in piece.take(indexes):
                found[row.study_uid] = row
        for uid, _, _ in batch:
            if uid in found:
                yield found[uid]


def _scan_main(part: BasePart, after: str | None) -> Iterator[IndexRow]:
    # A continued page (read-all) reads on in UID order: several groups a GET.
    ahead = part.ahead if after is not None else 1
    scan = part.main().scan(after or "", None, inclusive_low=after is None, ahead=ahead)
    yield from _chunked(scan)


def _hit(row: IndexRow) -> SearchHit:
    return SearchHit(
        study_uid=row.study_uid,
        version=row.version,
        last_modified=datetime.fromisoformat(row.last_modified),
        patient_id=row.patient_id,
        accession_number=row.accession_number,
        study_date=row.study_date,
        modalities=row.modalities,
        study_time=row.study_time,
        patient_name=row.patient_name,
        study_description=row.study_description,
        referring_physician_name=row.referring_physician_name,
        study_id=row.study_id,
        series=row.series,
        instances=row.instances,
    )
