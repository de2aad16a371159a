"""The engine's parts over one object store, and what every path shares.

:class:`Engine` holds the blob store, the study logs, the system change log,
the locks, the search index and the head tracker of one bucket, with the
two operations everything uses: reading a version (documents and item
tables, cached by digest) and committing a new one (documents first,
commit record last, then its change-log entry and index row). It is
internal to ``mintstore.store``: everyone else holds a ``StudyStore``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from mintstore.adapters import ObjectStore
from mintstore.errors import (
    IntegrityError,
    ItemNotFound,
    NotFound,
    StoreError,
    StudyGone,
    StudyNotFound,
)
from mintstore.model import Study

from .blobs import BlobStore
from .changelog import ChangeLog
from .config import StoreConfig
from .digest_cache import DigestCache
from .heads import HeadTracker
from .index import SearchIndex
from .layout import study_key
from .locks import Locks
from .log import StudyLog
from .records import CommitRecord, ItemTable, decode_item_table, encode_item_table, index_row
from .types import Actor, Operation

_log = logging.getLogger(__name__)

#: How many just-committed studies are kept for their next writer here.
HANDOVER_LIMIT = 8


@dataclass
class Head:
    """A committed version, loaded: its record, metadata and item table."""

    record: CommitRecord
    study: Study
    table: ItemTable


class Engine:
    """The engine's parts wired together over one object store."""

    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.config = config
        self.blobs = BlobStore(objects, config)
        self.log = StudyLog(objects)
        self.changes = ChangeLog(objects, config)
        self.locks = Locks(objects, config)
        self.index = SearchIndex(objects, self.changes, config)
        self.heads = HeadTracker(self.log, self.changes, config.freshness.total_seconds())
        # Decoded documents weigh several times their gzipped blob; item table
        # rows about a hundred bytes each. Half the bound each.
        self._studies: DigestCache[Study] = DigestCache(config.cache_bytes // 2)
        self._tables: DigestCache[ItemTable] = DigestCache(config.cache_bytes // 2)
        # The study a commit of this process just wrote, by metadata digest:
        # the next writer of that study here takes it over instead of
        # decoding the document again (each is handed over once).
        self._handover: dict[str, Study] = {}
        self._handover_lock = threading.Lock()

    # --- reading ------------------------------------------------------------------

    def live_record(self, study_uid: str, version: int | None = None) -> CommitRecord:
        """The record of a readable version (StudyNotFound / StudyGone / ItemNotFound).

        The latest version costs what :class:`HeadTracker` says (one LIST when
        strict, nothing within a freshness window); an explicit version costs
        no LIST at all, only a check that the study was not deleted since.
        """
        skey = study_key(study_uid)
        if version is None:
            latest = self.heads.latest(skey)
            if latest is None:
                raise StudyNotFound(f"no study {study_uid}")
            head = self.log.record(skey, latest)
            if head.operation == "DELETE":
                raise StudyGone(f"study {study_uid} was deleted")
            return head
        if version < 0:
            raise ItemNotFound(f"study {study_uid} has no version {version}")
        try:
            record = self.log.record(skey, version)
        except NotFound:
            current = self.log.head(skey)
            if current is None:
                raise StudyNotFound(f"no study {study_uid}") from None
            if current.operation == "DELETE":
                raise StudyGone(f"study {study_uid} was deleted") from None
            raise ItemNotFound(f"study {study_uid} has no version {version}") from None
        newest = self.heads.newest_at_least(skey, version)
        head = record if newest == version else self.log.record(skey, newest)
        if head.operation == "DELETE":
            raise StudyGone(f"study {study_uid} was deleted")
        if record.operation == "DELETE" or record.metadata is None:
            raise ItemNotFound(f"version {version} of study {study_uid} is a deletion")
        return record

    def read_study(self, record: CommitRecord, digest: str | None = None) -> Study:
        """A freshly decoded document, the caller's to modify (writers)."""
        wanted = digest if digest is not None else record.metadata
        if wanted is None:
            raise StudyGone(f"study {record.study_uid} was deleted")
        return self.config.codec.decode(self.blobs.read(wanted))

    def shared_study(self, record: CommitRecord) -> Study:
        """The decoded document, cached by digest and shared: readers must not modify it."""
        return self.shared_study_of(record, record.metadata)

    def shared_study_of(self, record: CommitRecord, digest: str | None) -> Study:
        """A decoded document of ``record`` (metadata or payload), cached by digest."""
        if digest is None:
            raise StudyGone(f"study {record.study_uid} was deleted")

        def load() -> tuple[Study, int]:
            data = self.blobs.read(digest)
            return self.config.codec.decode(data), 10 * len(data)

        return self._studies.get_or_load(digest, load)

    def item_table(self, record: CommitRecord) -> ItemTable:
        """The version's item table (cached by digest; shared, do not modify)."""
        digest = record.items
        if digest is None:
            return {}

        def load() -> tuple[ItemTable, int]:
            table = decode_item_table(self.blobs.read(digest))
            return table, 100 * len(table) + 100

        return self._tables.get_or_load(digest, load)

    def load_head(self, skey: str, record: CommitRecord | None) -> Head | None:
        """Load a head record's documents for a writer, who may modify them
        (None for a new or deleted study)."""
        if record is None or record.operation == "DELETE":
            return None
        study = None
        if record.metadata is not None:
            with self._handover_lock:
                study = self._handover.pop(record.metadata, None)
        if study is None:
            study = self.read_study(record)
        return Head(record, study, dict(self.item_table(record)))

    def hand_over(self, record: CommitRecord, study: Study) -> None:
        """``study`` is exactly what ``record`` committed and nobody else holds it."""
        if record.metadata is None:
            return
        with self._handover_lock:
            self._handover[record.metadata] = study
            while len(self._handover) > HANDOVER_LIMIT:
                self._handover.pop(next(iter(self._handover)))

    # --- writing ------------------------------------------------------------------

    def prepare(
        self,
        study: Study,
        table: ItemTable,
        payload: Study | None,
        *,
        version: int,
        operation: Operation,
        next_bid: int,
        actor: Actor,
    ) -> CommitRecord:
        """Store a version's documents and return its (not yet written) commit record."""
        codec = self.config.codec
        study.version = version
        # One durability barrier for the version's documents (the file store
        # syncs their new directories together), all before the record exists.
        with self.objects.create_batch() as batch:
            metadata_digest, _ = self.blobs.put_in(batch, codec.encode(study))
            items_digest, _ = self.blobs.put_in(batch, encode_item_table(table))
            payload_digest = metadata_digest
            if payload is not None:
                payload.version = version
                payload_digest, _ = self.blobs.put_in(batch, codec.encode(payload))
            batch.finish()
        now = self.config.clock()
        return CommitRecord(
            study_uid=study.study_instance_uid,
            version=version,
            previous=version - 1 if version > 0 else None,
            operation=operation,
            time=now,
            user=actor.user,
            host=actor.host,
            protocol=actor.protocol,
            type=study.type,
            codec=codec.name,
            metadata=metadata_digest,
            items=items_digest,
            payload=payload_digest,
            next_bid=next_bid,
            index=index_row(study, version, now),
        )

    def try_commit(self, record: CommitRecord) -> bool:
        """Create the commit record; on success publish it. False = lost the race."""
        skey = study_key(record.study_uid)
        if not self.log.try_commit(skey, record):
            return False
        self.after_commit(skey, record)
        return True

    def after_commit(self, skey: str, record: CommitRecord) -> None:
        """Change-log entry and index row of a fresh commit; backfill the previous one.

        The commit has happened whatever fails here, so failures are never
        raised to the committer (it must not be told "failed" for a committed
        version). The entry is retried through transient store failures for
        ``publish_patience``, so a follower of the change log finds it before
        the commit is acknowledged; only past that is it left to a backfill
        (next commit of the study, verify, reindex). A retry after an attempt
        whose outcome is unknown may add a second entry for the version: the
        version's marker keeps exactly one of them valid (see changelog).
        """
        self.heads.note(skey, record.version)
        number = self._publish_patiently(skey, record)
        try:
            if number is not None:
                self.index.note(number, skey, record.index)
            if record.previous is not None:
                self.changes.backfill(skey, self.log.record(skey, record.previous))
        except (StoreError, IntegrityError):
            _log.warning("backfill before %s v%d deferred", skey, record.version, exc_info=True)

    def _publish_patiently(self, skey: str, record: CommitRecord) -> int | None:
        """The version's valid entry number, retrying transient failures; None if deferred."""
        deadline = time.monotonic() + self.config.publish_patience.total_seconds()
        pause = 0.05
        retry = False
        while True:
            try:
                # A retry first asks whether the failed attempt got as far as the marker.
                decided = self.changes.marker(skey, record.version) if retry else None
                return decided if decided is not None else self.changes.publish(skey, record)
            except (StoreError, IntegrityError):
                if time.monotonic() + pause > deadline:
                    _log.error(
                        "change-log entry of %s v%d deferred to backfill",
                        skey,
                        record.version,
                        exc_info=True,
                    )
                    return None
            retry = True
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
