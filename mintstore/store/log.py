"""Each study's commit log: ``studies/<key>/log/<version>.json``.

A version exists exactly when its commit record does; creating the record
with create-if-absent is the commit point (confirmed after a settle on
Swift, by the wrapper the registry applies: ``mintstore.adapters.settled``), so versions are
gap-free and two writers can never both commit the same version. Records are immutable, so
they are cached forever; only "which version is the latest" needs the
bucket, and is answered by listing after the newest version already known.
"""

from __future__ import annotations

import threading

from mintstore.adapters import ObjectStore
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import AlreadyExists, NotFound

from .layout import log_key, log_prefix, version_of_log_key
from .records import CommitRecord


class StudyLog:
    """Reads and appends commit records, caching what cannot change."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._lock = threading.Lock()
        self._records: dict[tuple[str, int], CommitRecord] = {}
        self._latest: dict[str, int] = {}

    def latest_version(self, skey: str) -> int | None:
        """The newest committed version (None if the study was never committed)."""
        with self._lock:
            known = self._latest.get(skey)
        start_after = log_key(skey, known) if known is not None else None
        newest = known
        for info in self.objects.list(log_prefix(skey), start_after=start_after):
            version = version_of_log_key(info.key)
            if version is not None and (newest is None or version > newest):
                newest = version
        if newest is not None:
            self._remember_latest(skey, newest)
        return newest

    def known_latest(self, skey: str) -> int | None:
        """The newest version seen so far, without asking the bucket."""
        with self._lock:
            return self._latest.get(skey)

    def _remember_latest(self, skey: str, version: int) -> None:
        with self._lock:
            if version > self._latest.get(skey, -1):
                self._latest[skey] = version

    def head(self, skey: str) -> CommitRecord | None:
        version = self.latest_version(skey)
        return None if version is None else self.record(skey, version)

    def record(self, skey: str, version: int) -> CommitRecord:
        """One commit record (NotFound if that version was never committed)."""
        with self._lock:
            cached = self._records.get((skey, version))
        if cached is not None:
            return cached
        record = CommitRecord.from_bytes(self.objects.get_bytes(log_key(skey, version)))
        with self._lock:
            self._records[(skey, version)] = record
        return record

    def records(self, skey: str) -> list[CommitRecord]:
        """Every version of the study, oldest first."""
        newest = self.latest_version(skey)
        if newest is None:
            return []
        return [self.record(skey, version) for version in range(newest + 1)]

    def try_commit(self, skey: str, record: CommitRecord) -> bool:
        """Create the record; False if that version was committed by someone else."""
        try:
            create_unique(self.objects, log_key(skey, record.version), record.to_bytes())
        except AlreadyExists:
            return False
        with self._lock:
            self._records[(skey, record.version)] = record
        self._remember_latest(skey, record.version)
        return True

    def exists(self, skey: str, version: int) -> bool:
        try:
            self.record(skey, version)
        except NotFound:
            return False
        return True
