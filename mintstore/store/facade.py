"""``StudyStore``: the one object the rest of mintstore talks to.

It only wires the engine's modules together and checks arguments; each
protocol lives in its own module (ingest, update, locks, changelog, index,
copy, maintenance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import BinaryIO

from mintstore.adapters import ObjectReader, ObjectStore
from mintstore.errors import (
    InvalidInput,
    ItemNotFound,
    NotFound,
    StudyGone,
    StudyNotFound,
    VersionConflict,
)
from mintstore.model import Study

from . import copying, maintenance
from .config import StoreConfig
from .descriptor import ensure_descriptor
from .engine import Engine
from .ingest import IngestSession
from .jobs import JobRecord, load_job, save_job
from .layout import study_key
from .migration import refuse_old_layout
from .types import (
    Actor,
    Change,
    ChangePage,
    CommitResult,
    CopyReport,
    GcReport,
    Lease,
    SearchPage,
    SearchQuery,
    StudyInfo,
    VerifyReport,
)
from .uids import check_study_uids, check_uid
from .update import delete_study, update_study
from .upkeep import ArchiveJobs, IndexMaintenance
from .version import ItemOpener, StudyVersion


class StudyStore:
    """Studies, versions, history and search, all kept in one object store."""

    def __init__(self, objects: ObjectStore, config: StoreConfig | None = None) -> None:
        self.objects = objects
        self.config = config if config is not None else StoreConfig()
        ensure_descriptor(objects)
        refuse_old_layout(objects)
        self._engine = Engine(objects, self.config)
        self.index_maintenance = IndexMaintenance(self._engine)
        """Compaction and wholesale index rebuilds (maintenance jobs, benchmarks)."""
        self.archive_jobs = ArchiveJobs(self._engine)
        """Change-log backfills and reference lists for the sharded jobs and imports."""

    # --- writing -------------------------------------------------------------------

    def begin_ingest(self) -> IngestSession:
        return IngestSession(self._engine)

    def update(
        self,
        study_uid: str,
        delta: Study,
        items: Mapping[int, Callable[[], BinaryIO]],
        *,
        old_version: int | None = None,
        lock_token: str | None = None,
        actor: Actor,
    ) -> CommitResult:
        check_uid(study_uid)
        if delta.study_instance_uid != study_uid:
            raise InvalidInput("the delta names another study")
        check_study_uids(delta)
        self._engine.config.converter.check_values(delta)
        return update_study(
            self._engine,
            study_uid,
            delta,
            items,
            old_version=old_version,
            lock_token=lock_token,
            actor=actor,
        )

    def merge_full_study(
        self,
        study: Study,
        items: Mapping[int, Callable[[], BinaryIO]],
        *,
        old_version: int | None = None,
        actor: Actor,
    ) -> CommitResult:
        """RI DICOM2MINT update: the full study with new instances, merged in."""
        if old_version is not None:
            current = self.study_info(study.study_instance_uid).version
            if current != old_version:
                raise VersionConflict(f"study is at version {current}, not {old_version}")
        with self.begin_ingest() as session:
            session.add_mint(study, items)
            return session.commit(actor)[0]

    def delete(self, study_uid: str, actor: Actor) -> CommitResult:
        check_uid(study_uid)
        return delete_study(self._engine, study_uid, actor)

    # --- reading -------------------------------------------------------------------

    def open_version(self, study_uid: str, version: int | None = None) -> StudyVersion:
        """Pin one version (the latest when ``version`` is None) for a whole request.

        Raises StudyNotFound, StudyGone (deleted), or ItemNotFound (no such
        version, or that version is the deletion). Every read through the
        handle comes from this version, whatever is committed meanwhile.
        """
        check_uid(study_uid)
        record = self._engine.live_record(study_uid, version)
        return StudyVersion(self._engine, record, pinned=version is not None)

    def study_info(self, study_uid: str) -> StudyInfo:
        return self.open_version(study_uid).info()

    def metadata(self, study_uid: str, version: int | None = None) -> Study:
        """The decoded document (shared and cached by digest: do not modify it)."""
        return self.open_version(study_uid, version).metadata()

    def open_item(self, study_uid: str, bid: int, version: int | None = None) -> ObjectReader:
        return self.open_version(study_uid, version).open_item(bid)

    def item_size(self, study_uid: str, bid: int, version: int | None = None) -> int:
        return self.open_version(study_uid, version).item_size(bid)

    def read_item_range(self, study_uid: str, bid: int, start: int, end: int) -> bytes:
        return self.open_version(study_uid).read_item_range(bid, start, end)

    def item_ids(self, study_uid: str, version: int | None = None) -> list[int]:
        return self.open_version(study_uid, version).item_ids()

    def iter_items(
        self, study_uid: str, bids: list[int] | None = None, version: int | None = None
    ) -> Iterator[tuple[int, int, ItemOpener]]:
        """(bid, size, opener) for each item; one consistent version throughout."""
        return self.open_version(study_uid, version).iter_items(bids)

    def instance_part10(self, study_uid: str, series_uid: str, sop_uid: str, out: BinaryIO) -> None:
        self.open_version(study_uid).instance_part10(series_uid, sop_uid, out)

    # --- locks ----------------------------------------------------------------------

    def acquire_lock(self, study_uid: str, owner: str, ttl: timedelta | None = None) -> Lease:
        check_uid(study_uid)
        self._engine.live_record(study_uid)
        return self._engine.locks.acquire(study_key(study_uid), owner, ttl)

    def release_lock(self, study_uid: str, token: str) -> None:
        check_uid(study_uid)
        self._engine.locks.release(study_key(study_uid), token)

    # --- change logs -------------------------------------------------------------------

    def study_changes(self, study_uid: str) -> list[Change]:
        """Every commit of the study up to its latest version (one resolution)."""
        head = self.open_version(study_uid)
        skey = study_key(study_uid)
        records = [self._engine.log.record(skey, n) for n in range(head.version + 1)]
        return [
            Change(r.version, r.type, r.time, r.operation, r.user, r.host, r.protocol)
            for r in records
        ]

    def change_payload(self, study_uid: str, number: int) -> Study:
        head = self.open_version(study_uid)
        if number < 0 or number > head.version:
            raise ItemNotFound(f"study {study_uid} has no change {number}")
        try:
            record = self._engine.log.record(study_key(study_uid), number)
        except NotFound:
            raise ItemNotFound(f"study {study_uid} has no change {number}") from None
        if record.payload is None:
            raise ItemNotFound(f"change {number} of study {study_uid} uploaded nothing")
        return self._engine.shared_study_of(record, record.payload)

    def system_changes(
        self,
        *,
        since: datetime | None = None,
        continuation: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> ChangePage:
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since needs a time zone (e.g. ...Z)")
        return self._engine.changes.page(
            since=since, continuation=continuation, limit=limit, offset=offset
        )

    # --- search ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        return self._engine.index.search(query)

    # --- copy / move ----------------------------------------------------------------

    def copy_study(self, study_uid: str, target: StudyStore) -> CopyReport:
        check_uid(study_uid)
        return copying.copy_study(self._engine, target._engine, study_uid)

    def move_study(self, study_uid: str, target: StudyStore, actor: Actor) -> CopyReport:
        """Copy, verified at the target, then delete (tombstone) the source."""
        report = self.copy_study(study_uid, target)
        self.delete(study_uid, actor)
        return report

    # --- job records ------------------------------------------------------------------

    def save_job(self, job: JobRecord) -> None:
        """Store a job's current state (the RI job API)."""
        save_job(self.objects, job)

    def load_job(self, job_id: str) -> JobRecord:
        return load_job(self.objects, job_id)

    # --- maintenance ------------------------------------------------------------------

    def verify(self, *, deep: bool = True) -> VerifyReport:
        """Check every version of every study; report orphan blobs."""
        return maintenance.verify(self._engine, deep=deep)

    def verify_study(self, study_uid: str, *, deep: bool = True) -> VerifyReport:
        """Check every version of one study (no orphan scan)."""
        check_uid(study_uid)
        return maintenance.verify(self._engine, deep=deep, only={study_key(study_uid)})

    def gc(self, grace: timedelta | None = None) -> GcReport:
        return maintenance.gc(self._engine, grace if grace is not None else self.config.gc_grace)

    def expire_jobs(self) -> int:
        """Delete RI job records older than ``job_retention`` (gc does this too)."""
        return maintenance.expire_jobs(self._engine)

    def reindex(self) -> int:
        """Rebuild the search manifest from the studies alone; returns its number."""
        return maintenance.reindex(self._engine)

    def close(self) -> None:
        self.objects.close()


__all__ = ["StudyGone", "StudyNotFound", "StudyStore", "StudyVersion"]
