"""The system change log: a gap-free sequence of create-once entries.

Entry ``changes/seq/<n // 10000>/<n>.json`` names one commit (study key +
version, with the commit record and so the index row inside). Entry n+1 is
only ever created by a writer that saw entry n exist, so the numbers have no
gaps: entry n exists exactly when n <= the tail. That is what keeps every
operation O(1) in the length of the history, on every backend, without a
listing: "what follows n" is a GET of n+1, and the tail is found by probing
forward from a recent hint (the process's own, or the index manifest's
``upto``) in O(log distance) HEADs.

A commit gets its entry after its commit record exists, so a crash in
between leaves a committed version without an entry; whoever notices
(the study's next writer, verify, reindex) adds one later. Two entries for
one version are then possible, so the *valid* one is decided once, by
create-if-absent of ``studies/<key>/seq/<version>`` holding the entry's
number: whoever first creates that marker (the writer, a backfiller, or a
reader meeting an unmarked entry) decides, and every other entry for that
version is void and skipped. See docs/storage.md for the full argument.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from mintstore.adapters import ObjectStore, PutMode
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import AlreadyExists, InvalidInput, NotFound

from .config import StoreConfig
from .layout import seq_key, seq_marker_key
from .records import CommitRecord, SeqEntry
from .types import ChangePage, SystemChange

TOKEN_PREFIX = "seq1."


def encode_token(number: int) -> str:
    return base64.urlsafe_b64encode(f"{TOKEN_PREFIX}{number}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        if not text.startswith(TOKEN_PREFIX):
            raise ValueError(text)
        number = int(text[len(TOKEN_PREFIX) :])
        if number < 0:
            raise ValueError(text)
        return number
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"invalid continuation token {token!r}") from exc


class ChangeLog:
    """Claims, arbitrates and reads system change-log entries."""

    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.config = config
        self._lock = threading.Lock()
        self._tail_hint = 0
        self._markers: dict[tuple[str, int], int] = {}
        #: Where a fresh process starts looking for the tail (every entry up
        #: to it exists); the search index points it at its manifest's upto.
        self.floor: Callable[[], int] = lambda: 0

    # --- writing ---------------------------------------------------------------

    def tail(self) -> int:
        """The highest entry number that exists (0 = empty log).

        Probes forward from the best number already known (this process's
        hint, else ``floor()``, the index manifest's ``upto``): HEADs at
        doubling distances until one is missing, then a binary search between
        the last present and the first missing number. Gap-free numbering
        makes "exists" monotone, so this is exact.
        """
        with self._lock:
            known = self._tail_hint
        if known == 0:
            known = max(0, self.floor())
        if known and not self.objects.exists(seq_key(known)):
            known = 0  # a hint from elsewhere that is ahead of this log: start over
        present, step = known, 1
        while self.objects.exists(seq_key(present + step)):
            present += step
            step *= 2
        missing = present + step
        while missing - present > 1:
            middle = (present + missing) // 2
            if self.objects.exists(seq_key(middle)):
                present = middle
            else:
                missing = middle
        self._note_tail(present)
        return present

    def _note_tail(self, number: int) -> None:
        with self._lock:
            self._tail_hint = max(self._tail_hint, number)

    def publish(self, skey: str, record: CommitRecord) -> int:
        """Give a committed version its entry; returns the valid entry's number."""
        with self._lock:
            number = self._tail_hint + 1
        if number == 1:
            number = self.tail() + 1
        while True:
            entry_bytes = SeqEntry(number, skey, record).to_bytes()
            try:
                create_unique(self.objects, seq_key(number), entry_bytes)
                break
            except AlreadyExists:
                # Entry ``number`` exists: claim the one after the real tail
                # (so entry n+1 is only created by whoever saw n: gap-free).
                self._note_tail(number)
                number = self.tail() + 1
        self._note_tail(number)
        return self.arbitrate(skey, record.version, number)

    def arbitrate(self, skey: str, version: int, number: int) -> int:
        """Decide (once, forever) which entry is the valid one for a version."""
        with self._lock:
            known = self._markers.get((skey, version))
        if known is not None:
            return known
        key = seq_marker_key(skey, version)
        try:
            self.objects.put(key, str(number).encode(), mode=PutMode.CREATE)
            decided = number
        except AlreadyExists:
            decided = int(self.objects.get_bytes(key).decode())
        with self._lock:
            self._markers[(skey, version)] = decided
        return decided

    def marker(self, skey: str, version: int) -> int | None:
        """The valid entry number of a version, if decided."""
        with self._lock:
            known = self._markers.get((skey, version))
        if known is not None:
            return known
        try:
            decided = int(self.objects.get_bytes(seq_marker_key(skey, version)).decode())
        except NotFound:
            return None
        with self._lock:
            self._markers[(skey, version)] = decided
        return decided

    def backfill(self, skey: str, record: CommitRecord, *, now: datetime | None = None) -> bool:
        """Publish a committed version that has no entry; True if one was added.

        Only once the commit is older than ``seq_backfill_after`` (its own
        writer is then either done or dead), unless ``now`` says otherwise.
        """
        if self.marker(skey, record.version) is not None:
            return False
        moment = now if now is not None else self.config.clock()
        if moment - record.time < self.config.seq_backfill_after:
            return False
        self.publish(skey, record)
        return True

    # --- reading ---------------------------------------------------------------

    def exists(self, number: int) -> bool:
        """Whether entry ``number`` exists (one HEAD; numbers are gap-free)."""
        return number <= self._tail_hint or self.objects.exists(seq_key(number))

    def entry(self, number: int) -> SeqEntry:
        """Read entry ``number`` (NotFound if it does not exist yet)."""
        return SeqEntry.from_bytes(self.objects.get_bytes(seq_key(number)))

    def entries_after(self, after: int, limit: int | None = None) -> Iterator[SeqEntry]:
        """Entries after ``after`` in order, up to ``limit``, stopping at the tail.

        One GET per entry and one (missing) GET at the end: O(entries read)
        whatever the history length; with no new entry it costs one request.
        """
        number = after + 1
        while limit is None or number <= after + limit:
            try:
                entry = self.entry(number)
            except NotFound:
                return
            self._note_tail(number)
            yield entry
            number += 1

    def fetch_after(self, after: int, limit: int, workers: int = 16) -> list[SeqEntry]:
        """Like :meth:`entries_after` but reading ``workers`` entries at a time.

        For loading a tail of hundreds of entries from a store with real
        request latency (a fresh search index): same result, a fraction of
        the wall time.
        """
        found: list[SeqEntry] = []
        number = after + 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while number <= after + limit:
                batch = range(number, min(number + workers, after + limit + 1))
                for entry in pool.map(self._entry_or_none, batch):
                    if entry is None:
                        return found
                    found.append(entry)
                    self._note_tail(entry.sequence)
                number = batch.stop
        return found

    def _entry_or_none(self, number: int) -> SeqEntry | None:
        try:
            return self.entry(number)
        except NotFound:
            return None

    def is_valid(self, entry: SeqEntry) -> bool:
        """True for the one entry that counts for its version (arbitrating if needed).

        Reads the marker first: only an unmarked entry costs a create.
        """
        decided = self.marker(entry.study_key, entry.record.version)
        if decided is None:
            decided = self.arbitrate(entry.study_key, entry.record.version, entry.sequence)
        return decided == entry.sequence

    def page(
        self,
        *,
        since: datetime | None,
        continuation: str | None,
        limit: int,
        offset: int,
    ) -> ChangePage:
        """A page of valid changes; the token names the last entry consumed."""
        if limit < 1 or offset < 0:
            raise InvalidInput("limit must be >= 1 and offset >= 0")
        position = decode_token(continuation) if continuation else 0
        changes: list[SystemChange] = []
        skipped = 0
        last = position
        for entry in self.entries_after(position):
            if len(changes) >= limit:
                break
            last = entry.sequence
            if not self.is_valid(entry):
                continue
            record = entry.record
            if since is not None and record.time < since:
                continue
            if skipped < offset:
                skipped += 1
                continue
            changes.append(
                SystemChange(
                    sequence=entry.sequence,
                    study_uid=record.study_uid,
                    version=record.version,
                    type=record.type,
                    time=record.time,
                    operation=record.operation,
                    user=record.user,
                    host=record.host,
                )
            )
        return ChangePage(changes, encode_token(last))
