"""verify, gc and reindex: walking the whole bucket.

All three start from the commit records (the truth) and treat everything
else as derived: blobs no record references are orphans, and the search
manifest can be rebuilt from the records alone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from mintstore.errors import IntegrityError, NotFound

from .engine import Engine
from .layout import BLOB_PREFIX, JOBS_PREFIX, STUDIES_PREFIX, digest_of_blob_key
from .records import CommitRecord, IndexRow
from .types import GcReport, VerifyProblem, VerifyReport


def study_versions(engine: Engine) -> dict[str, int]:
    """Every study key with its newest version, from one listing of studies/."""
    newest: dict[str, int] = defaultdict(lambda: -1)
    for info in engine.objects.list(STUDIES_PREFIX):
        parts = info.key.split("/")
        if len(parts) == 4 and parts[2] == "log" and parts[3].endswith(".json"):
            stem = parts[3][:-5]
            if stem.isdigit():
                newest[parts[1]] = max(newest[parts[1]], int(stem))
    return dict(newest)


def _records(engine: Engine, skey: str, newest: int) -> list[CommitRecord]:
    return [engine.log.record(skey, version) for version in range(newest + 1)]


def verify(
    engine: Engine,
    *,
    deep: bool = True,
    backfill_now: datetime | None = None,
    only: set[str] | None = None,
) -> VerifyReport:
    """Check every committed reference; report orphans; backfill missing change entries.

    ``only`` (study keys) limits the check to some studies and skips the
    orphan scan (which needs every study's references).
    """
    report = VerifyReport()
    checked: dict[str, str | None] = {}
    referenced: set[str] = set()

    def check(record: CommitRecord, digest: str, size: int | None) -> None:
        referenced.add(digest)
        if digest not in checked:
            checked[digest] = engine.blobs.check(digest, size, deep=deep)
            report.blobs_checked += 1
        problem = checked[digest]
        if problem is not None:
            report.problems.append(VerifyProblem(record.study_uid, record.version, digest, problem))

    if only is not None:
        studies = {skey: v for skey in only if (v := engine.log.latest_version(skey)) is not None}
    else:
        studies = study_versions(engine)
    for skey, newest in sorted(studies.items()):
        report.studies += 1
        # A deleted study's content is gc's to take: only live studies are checked.
        deleted = engine.log.record(skey, newest).operation == "DELETE"
        for version in range(newest + 1):
            try:
                record = engine.log.record(skey, version)
            except NotFound:
                report.problems.append(VerifyProblem(skey, version, "", "version missing"))
                continue
            except IntegrityError as exc:
                report.problems.append(VerifyProblem(skey, version, "", str(exc)))
                continue
            report.versions += 1
            if engine.changes.backfill(skey, record, now=backfill_now):
                report.backfilled_changes += 1
            elif engine.changes.marker(skey, record.version) is None:
                report.pending_changes += 1
            if deleted:
                continue
            for digest in record.referenced_digests():
                check(record, digest, None)
            if record.items is not None and checked.get(record.items) is None:
                for digest, size in engine.item_table(record).values():
                    check(record, digest, size)
    if only is None:
        for info in engine.objects.list(BLOB_PREFIX):
            name = digest_of_blob_key(info.key)
            if name is not None and name not in referenced:
                report.orphans.append(name)
    return report


def gc(engine: Engine, grace: timedelta) -> GcReport:
    """Delete blobs no version of a live study references, once older than ``grace``.

    A blob younger than the grace may belong to a commit in flight; ingest
    refreshes any re-used blob older than half the configured grace, so a
    blob a new commit references is never this old.
    """
    report = GcReport()
    referenced: set[str] = set()
    for skey, newest in study_versions(engine).items():
        records = _records(engine, skey, newest)
        if records[-1].operation == "DELETE":
            continue
        for record in records:
            referenced.update(record.referenced_digests())
            referenced.update(digest for digest, _ in engine.item_table(record).values())
    cutoff = engine.config.clock() - grace
    for info in engine.objects.list(BLOB_PREFIX):
        digest = digest_of_blob_key(info.key)
        if digest is None or digest in referenced:
            continue
        if info.last_modified is None or info.last_modified > cutoff:
            report.kept_young += 1
            continue
        # Look again right before deleting: a writer may have refreshed the blob
        # (re-put it to reference it) since the listing.
        try:
            info = engine.objects.head(info.key)
        except NotFound:
            continue
        if info.last_modified is None or info.last_modified > cutoff:
            report.kept_young += 1
            continue
        engine.objects.delete(info.key)
        report.deleted.append(digest)
        report.bytes_freed += info.size
    report.jobs_deleted = expire_jobs(engine)
    return report


def expire_jobs(engine: Engine) -> int:
    """Delete RI job records older than ``job_retention``; returns how many.

    A job record only tells a client how its (long finished) request ended,
    refused requests included, so keeping it for the retention is enough.
    Deleting is idempotent, so a retried or concurrent gc is harmless.
    """
    cutoff = engine.config.clock() - engine.config.job_retention
    deleted = 0
    for info in engine.objects.list(JOBS_PREFIX):
        if info.last_modified is not None and info.last_modified < cutoff:
            engine.objects.delete(info.key)
            deleted += 1
    return deleted


def reindex(engine: Engine, *, backfill_now: datetime | None = None) -> int:
    """Rebuild the index from the commit records: a new manifest generation of them alone."""
    rows: list[tuple[str, IndexRow]] = []
    for skey, newest in study_versions(engine).items():
        for version in range(newest + 1):
            engine.changes.backfill(skey, engine.log.record(skey, version), now=backfill_now)
    upto = engine.changes.tail()
    for skey, newest in study_versions(engine).items():
        rows.append((skey, engine.log.record(skey, newest).index))
    engine.index.replace(rows, upto)
    return upto
