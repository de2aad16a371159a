"""What every write path shares: reading a study's head state and committing
a new version (documents first, commit record last, then its change-log
entry and index row).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from mintstore.adapters import ObjectStore
from mintstore.errors import IntegrityError, ItemNotFound, StoreError, StudyGone, StudyNotFound
from mintstore.model import Study

from .blobs import BlobStore
from .changelog import ChangeLog
from .config import StoreConfig
from .index import SearchIndex
from .layout import study_key
from .locks import Locks
from .log import StudyLog
from .records import CommitRecord, ItemTable, decode_item_table, encode_item_table, index_row
from .types import Actor, Operation

_log = logging.getLogger(__name__)


@dataclass
class Head:
    """A committed version, loaded: its record, metadata and item table."""

    record: CommitRecord
    study: Study
    table: ItemTable


class Core:
    """The engine's parts wired together over one object store."""

    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.config = config
        self.blobs = BlobStore(objects, config)
        self.log = StudyLog(objects, config.create_settle)
        self.changes = ChangeLog(objects, config)
        self.locks = Locks(objects, config)
        self.index = SearchIndex(objects, self.changes, config)
        self._tables: OrderedDict[str, ItemTable] = OrderedDict()
        self._tables_lock = threading.Lock()

    # --- reading ------------------------------------------------------------------

    def live_record(self, study_uid: str, version: int | None = None) -> CommitRecord:
        """The record of a readable version (StudyNotFound / StudyGone / ItemNotFound)."""
        skey = study_key(study_uid)
        head = self.log.head(skey)
        if head is None:
            raise StudyNotFound(f"no study {study_uid}")
        if head.operation == "DELETE":
            raise StudyGone(f"study {study_uid} was deleted")
        if version is None or version == head.version:
            return head
        if version < 0 or version > head.version:
            raise ItemNotFound(f"study {study_uid} has no version {version}")
        record = self.log.record(skey, version)
        if record.operation == "DELETE" or record.metadata is None:
            raise ItemNotFound(f"version {version} of study {study_uid} is a deletion")
        return record

    def read_study(self, record: CommitRecord, digest: str | None = None) -> Study:
        wanted = digest if digest is not None else record.metadata
        if wanted is None:
            raise StudyGone(f"study {record.study_uid} was deleted")
        return self.config.codec.decode(self.blobs.read(wanted))

    def item_table(self, record: CommitRecord) -> ItemTable:
        if record.items is None:
            return {}
        with self._tables_lock:
            cached = self._tables.get(record.items)
            if cached is not None:
                self._tables.move_to_end(record.items)
                return cached
        table = decode_item_table(self.blobs.read(record.items))
        with self._tables_lock:
            self._tables[record.items] = table
            while len(self._tables) > 64:
                self._tables.popitem(last=False)
        return table

    def load_head(self, skey: str, record: CommitRecord | None) -> Head | None:
        """Load a head record's documents (None for a new or deleted study)."""
        if record is None or record.operation == "DELETE":
            return None
        return Head(record, self.read_study(record), self.item_table(record))

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
        metadata_digest, _ = self.blobs.put(codec.encode(study))
        items_digest, _ = self.blobs.put(encode_item_table(table))
        payload_digest = metadata_digest
        if payload is not None:
            payload.version = version
            payload_digest, _ = self.blobs.put(codec.encode(payload))
        now = self.config.clock()
        return CommitRecord(
            study_uid=study.study_instance_uid,
            version=version,
            previous=version - 1 if version > 0 else None,
            operation=operation,
            time=now,
            user=actor.user,
            host=actor.host,
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
