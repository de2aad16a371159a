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
from collections.abc import Iterable
from datetime import datetime

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists, InvalidInput

from .changelog import ChangeLog
from .config import StoreConfig
from .layout import MANIFEST_PREFIX, manifest_key, upto_of_manifest_key
from .records import IndexRow, dumps
from .search import continuation_after, make_continuation, matcher
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
    rows = []
    for line in gzip.decompress(data).splitlines():
        if line.strip():
            doc = json.loads(line)
            rows.append((str(doc["study_key"]), IndexRow.from_json(doc)))
    return rows


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
        self._by_patient: dict[str, set[str]] = {}
        self._by_accession: dict[str, set[str]] = {}
        self._applied = 0
        self._manifest_upto = 0
        self._loaded = False
        self._last_check = 0.0

    # --- folding -------------------------------------------------------------------

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
        if row.patient_id:
            self._by_patient.setdefault(row.patient_id, set()).add(uid)
        if row.accession_number:
            self._by_accession.setdefault(row.accession_number, set()).add(uid)

    def _unlink(self, row: IndexRow) -> None:
        for mapping, value in (
            (self._by_patient, row.patient_id),
            (self._by_accession, row.accession_number),
        ):
            if value and value in mapping:
                mapping[value].discard(row.study_uid)

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
            for skey, row in rows:
                self._apply(skey, row)
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
        for entry in self.changes.entries_after(after):
            with self._lock:
                self._apply(entry.study_key, entry.record.index)
                self._applied = max(self._applied, entry.sequence)
        self._maybe_compact()

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
            self._rows.clear()
            self._keys.clear()
            self._order.clear()
            self._by_patient.clear()
            self._by_accession.clear()
            for skey, row in rows:
                self._apply(skey, row)
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
        if query.study_instance_uid:
            uids: Iterable[str] = (
                [query.study_instance_uid] if query.study_instance_uid in self._rows else []
            )
        elif query.patient_id:
            uids = sorted(self._by_patient.get(query.patient_id, ()))
        elif query.accession_number:
            uids = sorted(self._by_accession.get(query.accession_number, ()))
        else:
            start = bisect.bisect_right(self._order, after) if after is not None else 0
            return self._order[start:]
        return [uid for uid in uids if after is None or uid > after]
