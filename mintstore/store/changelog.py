"""The system change log: a gap-free sequence of create-once entries.

Entry ``changes/seq/<n>.json`` names one commit (study key + version, with
the commit record and so the index row inside). Entry n+1 is only ever
created by a writer that saw entry n exist, so the numbers have no gaps and a
reader that has consumed 1..n only ever needs n+1, n+2, ... next.

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
from collections.abc import Iterator
from datetime import datetime

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists, InvalidInput, NotFound

from .config import StoreConfig
from .layout import (
    MANIFEST_PREFIX,
    SEQ_PREFIX,
    number_of_seq_key,
    seq_key,
    seq_marker_key,
    upto_of_manifest_key,
)
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

    # --- writing ---------------------------------------------------------------

    def tail(self) -> int:
        """The highest entry number seen to exist (0 = empty log).

        Starts from the newest manifest's number (everything up to it exists),
        then lists only what follows the best number already known.
        """
        with self._lock:
            known = self._tail_hint
        if known == 0:
            for info in self.objects.list(MANIFEST_PREFIX):
                upto = upto_of_manifest_key(info.key)
                if upto is not None:
                    known = max(known, upto)
        start_after = seq_key(known) if known else None
        for info in self.objects.list(SEQ_PREFIX, start_after=start_after):
            number = number_of_seq_key(info.key)
            if number is not None and number > known:
                known = number
        self._note_tail(known)
        return known

    def _note_tail(self, number: int) -> None:
        with self._lock:
            self._tail_hint = max(self._tail_hint, number)

    def publish(self, skey: str, record: CommitRecord) -> int:
        """Give a committed version its entry; returns the valid entry's number."""
        number = self.tail() + 1
        while True:
            entry_bytes = SeqEntry(number, skey, record).to_bytes()
            try:
                self.objects.put(seq_key(number), entry_bytes, mode=PutMode.CREATE)
                break
            except AlreadyExists:
                number += 1  # entry number-1 exists, so claiming number keeps it gap-free
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

    def entry(self, number: int) -> SeqEntry:
        """Read entry ``number`` (NotFound if it does not exist yet)."""
        return SeqEntry.from_bytes(self.objects.get_bytes(seq_key(number)))

    def entries_after(self, after: int) -> Iterator[SeqEntry]:
        """Entries after ``after`` in order, stopping at the first one not yet visible.

        A listing may lag behind creations; because numbers have no gaps, a
        hole only means "not listed yet", so stopping there never skips.
        """
        expected = after + 1
        for info in self.objects.list(SEQ_PREFIX, start_after=seq_key(after) if after else None):
            number = number_of_seq_key(info.key)
            if number is None:
                continue
            if number != expected:
                return
            yield self.entry(number)
            self._note_tail(number)
            expected += 1

    def is_valid(self, entry: SeqEntry) -> bool:
        """True for the one entry that counts for its version (arbitrating if needed)."""
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
