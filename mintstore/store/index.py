"""Search: an in-process index folded from the change log, checkpointed in
the bucket as manifests.

Every change-log entry carries its version's index row, so the index is a
fold of the log: for each study keep the row with the highest version
(deletions are rows too, flagged ``deleted``). Replaying an entry twice, or
a void duplicate, changes nothing. A manifest
``index/manifest/<upto>.jsonl.gz`` is that fold up to entry ``upto``, one
JSON row per study, created once; loading = newest manifest + the entries
after it.
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists, InvalidInput, NotFound

from .changelog import ChangeLog
from .config import StoreConfig
from .layout import MANIFEST_PREFIX, manifest_key, upto_of_manifest_key
from .records import IndexRow, SeqEntry, dumps
from .search import continuation_after, make_continuation, matcher, parse_date_time
from .types import SearchHit, SearchPage, SearchQuery


def encode_manifest(rows: Iterable[tuple[str, IndexRow]]) -> bytes:
    """gzip JSON Lines, one row per study sorted by study key (deterministic bytes)."""
    lines = []
    for skey, row in sorted(rows, key=lambda pair: pair[0]):
        doc = row.to_json()
        doc["study_key"] = skey
        lines.append(dumps(doc) + b"\n")
    return gzip.compress(b"".join(lines), mtime=0)


def decode_manifest(data: bytes) -> list[tuple[str, IndexRow]]:
    """Parse a manifest (one JSON parse for all lines: loading 100,000 rows is hot)."""
    text = gzip.decompress(data).strip()
    if not text:
        return []
    docs = json.loads(b"[" + text.replace(b"\n", b",") + b"]")
    return [(str(doc.pop("study_key")), IndexRow.from_json(doc)) for doc in docs]


class SearchIndex:
    """The fold of the change log, kept in memory, with lookup maps for search."""

    def __init__(self, objects: ObjectStore, changes: ChangeLog, config: StoreConfig) -> None:
        self.objects = objects
        self.changes = changes
        self.config = config
        self._lock = threading.RLock()
        self._rows: dict[str, IndexRow] = {}  # by study UID
        self._keys: dict[str, str] = {}  # study UID -> study key
        self._order: list[str] = []  # study UIDs, sorted
        self._dates: list[tuple[str, str]] = []  # (StudyDate, UID), sorted
        self._by_patient: dict[str, set[str]] = {}
        self._by_accession: dict[str, set[str]] = {}
        self._by_modality: dict[str, set[str]] = {}
        self._applied = 0
        self._manifest_upto = 0
        self._loaded = False
        self._last_check = 0.0

    # --- folding -------------------------------------------------------------------

    def _clear(self) -> None:
        self._rows.clear()
        self._keys.clear()
        self._order.clear()
        self._dates.clear()
        self._by_patient.clear()
        self._by_accession.clear()
        self._by_modality.clear()

    def _link(self, row: IndexRow) -> None:
        uid = row.study_uid
        if row.patient_id:
            self._by_patient.setdefault(row.patient_id, set()).add(uid)
        if row.accession_number:
            self._by_accession.setdefault(row.accession_number, set()).add(uid)
        for modality in row.modalities:
            self._by_modality.setdefault(modality.upper(), set()).add(uid)

    def _unlink(self, row: IndexRow) -> None:
        uid = row.study_uid
        for mapping, values in (
            (self._by_patient, [row.patient_id]),
            (self._by_accession, [row.accession_number]),
            (self._by_modality, [m.upper() for m in row.modalities]),
        ):
            for value in values:
                if value and value in mapping:
                    mapping[value].discard(uid)
        if row.study_date:
            position = bisect.bisect_left(self._dates, (row.study_date, uid))
            if position < len(self._dates) and self._dates[position] == (row.study_date, uid):
                del self._dates[position]

    def _apply(self, skey: str, row: IndexRow) -> None:
        uid = row.study_uid
        old = self._rows.get(uid)
        if old is not None and old.version > row.version:
            return
        if old is None:
            bisect.insort(self._order, uid)
            self._keys[uid] = skey
        else:
            self._unlink(old)
        self._rows[uid] = row
        self._link(row)
        if row.study_date:
            bisect.insort(self._dates, (row.study_date, uid))

    def _bulk(self, rows: Iterable[tuple[str, IndexRow]]) -> None:
        """Load many rows at once (sorting once instead of inserting one by one)."""
        self._clear()
        for skey, row in rows:
            old = self._rows.get(row.study_uid)
            if old is None or old.version <= row.version:
                self._rows[row.study_uid] = row
                self._keys[row.study_uid] = skey
        self._order = sorted(self._rows)
        self._dates = sorted((r.study_date, u) for u, r in self._rows.items() if r.study_date)
        for row in self._rows.values():
            self._link(row)

    def note(self, number: int, skey: str, row: IndexRow) -> None:
        """Apply our own fresh commit at once (its entry will be replayed harmlessly)."""
        with self._lock:
            if not self._loaded:
                return
            self._apply(skey, row)

    def load(self) -> None:
        """Newest manifest, then the entries after it."""
        newest = None
        for info in self.objects.list(MANIFEST_PREFIX):
            upto = upto_of_manifest_key(info.key)
            if upto is not None and (newest is None or upto > newest):
                newest = upto
        rows = decode_manifest(self.objects.get_bytes(manifest_key(newest))) if newest else []
        with self._lock:
            self._bulk(rows)
            self._applied = self._manifest_upto = newest or 0
            self._loaded = True
        self._follow(force=True)

    def _follow(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_check < self.config.index_refresh.total_seconds():
            return
        self._last_check = now
        with self._lock:
            after = self._applied
        if not force:
            # The cheap tail check: one GET of the next entry (a listing costs
            # more, and on some stores scans far more than this prefix).
            try:
                first = self.changes.entry(after + 1)
            except NotFound:
                return
            self._fold(first)
            after = first.sequence
        for entry in self.changes.entries_after(after):
            self._fold(entry)
        self._maybe_compact()

    def _fold(self, entry: SeqEntry) -> None:
        with self._lock:
            self._apply(entry.study_key, entry.record.index)
            self._applied = max(self._applied, entry.sequence)

    def refresh(self) -> None:
        with self._lock:
            loaded = self._loaded
        if not loaded:
            self.load()
        else:
            self._follow()

    def _maybe_compact(self) -> None:
        with self._lock:
            due = self._applied - self._manifest_upto >= self.config.compact_every
        if due:
            self.write_manifest()

    def write_manifest(self) -> int:
        """Checkpoint the fold as a manifest (create-once); returns its number."""
        with self._lock:
            upto = self._applied
            data = encode_manifest((self._keys[uid], row) for uid, row in self._rows.items())
        if upto == 0:
            return 0
        with contextlib.suppress(AlreadyExists):
            self.objects.put(manifest_key(upto), data, mode=PutMode.CREATE)
        with self._lock:
            self._manifest_upto = max(self._manifest_upto, upto)
        return upto

    def replace_all(self, rows: Iterable[tuple[str, IndexRow]], upto: int) -> None:
        """Start over from rows built elsewhere (reindex)."""
        with self._lock:
            self._bulk(rows)
            self._applied = upto
            self._loaded = True

    def rows(self) -> dict[str, IndexRow]:
        self.refresh()
        with self._lock:
            return dict(self._rows)

    # --- searching ----------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        if query.limit < 1 or query.offset < 0:
            raise InvalidInput("limit must be >= 1 and offset >= 0")
        accept = matcher(query)
        self.refresh()
        after = continuation_after(query.continuation)
        wanted = query.offset + query.limit + 1
        found: list[IndexRow] = []
        with self._lock:
            for uid in self._candidates(query, after):
                row = self._rows[uid]
                if not row.deleted and accept(row):
                    found.append(row)
                    if len(found) >= wanted:
                        break
        page = found[query.offset : query.offset + query.limit]
        more = len(found) > query.offset + query.limit
        hits = [
            SearchHit(
                study_uid=row.study_uid,
                version=row.version,
                last_modified=datetime.fromisoformat(row.last_modified),
                patient_id=row.patient_id,
                accession_number=row.accession_number,
                study_date=row.study_date,
                modalities=row.modalities,
            )
            for row in page
        ]
        token = make_continuation(page[-1].study_uid) if more and page else None
        return SearchPage(hits, token)

    def _candidates(self, query: SearchQuery, after: str | None) -> Iterable[str]:
        """The smallest set of UIDs that can match, in UID order, after ``after``."""
        if query.study_instance_uid:
            found = query.study_instance_uid in self._rows
            return (
                [query.study_instance_uid]
                if found and _after(query.study_instance_uid, after)
                else []
            )
        options: list[tuple[int, Callable[[], Iterable[str]]]] = []
        if query.patient_id:
            chosen = self._by_patient.get(query.patient_id, set())
            options.append((len(chosen), lambda: chosen))
        if query.accession_number:
            acc = self._by_accession.get(query.accession_number, set())
            options.append((len(acc), lambda: acc))
        modalities = {m.strip().upper() for m in query.modalities_in_study if m.strip()}
        if modalities:
            sets = [self._by_modality.get(m, set()) for m in modalities]
            options.append((sum(len(x) for x in sets), lambda: set().union(*sets)))
        low, high = _date_bounds(query)
        if low or high:
            start = bisect.bisect_left(self._dates, (low or "",))
            stop = bisect.bisect_right(self._dates, (high or "99999999", "\uffff"))
            options.append((max(0, stop - start), lambda: [u for _, u in self._dates[start:stop]]))
        if not options:
            first = bisect.bisect_right(self._order, after) if after is not None else 0
            return self._order[first:]
        _, produce = min(options, key=lambda option: option[0])
        return sorted(uid for uid in produce() if _after(uid, after))


def _after(uid: str, after: str | None) -> bool:
    return after is None or uid > after


def _date_bounds(query: SearchQuery) -> tuple[str | None, str | None]:
    """StudyDate bounds implied by the date and date-time parameters (yyyyMMdd)."""
    lows = [query.min_study_date or ""]
    highs = [query.max_study_date or "99999999"]
    for text, bucket in ((query.min_study_date_time, lows), (query.max_study_date_time, highs)):
        if text:
            bucket.append(parse_date_time(text).strftime("%Y%m%d"))
    low, high = max(lows), min(highs)
    return (low or None), (None if high == "99999999" else high)
