"""Upgrading a store written before the partitioned change log and index.

Stores written by mintstore up to commit 8776e24 keep their change log as
flat ``changes/seq/<n:016d>.json`` entries and their search index as whole
``index/manifest/<upto>.jsonl.gz`` files. This version reads neither: it
would see an empty change log and an empty index. So a store still holding
old entry 1 (entries are gap-free from 1, so one HEAD tells) is refused with
a message naming ``mintstore migrate`` (:func:`refuse_old_layout`), and
:func:`migrate` converts it:

1. copies every old entry to its partitioned key, byte for byte
   (create-if-absent; an entry already there with the same bytes is done,
   with other bytes it is an integrity error, nothing is overwritten), in
   order, in parallel batches;
2. rebuilds the index from the studies (as ``reindex``), filling the
   columns old index rows lack (patient name, description, series, ...)
   from each study's metadata;
3. records that in ``changes/migrated.json`` (the number of entries), and
   only then deletes the old manifests and the old entries, entry 1 last,
   so the store is refused (and an old mintstore can still read it) until
   the migration is complete.

Every step is idempotent, so an interrupted migration is resumed by running
it again: step 1 restarts one batch before the last partitioned entry; once
the record exists, only the deletion is finished.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists, ConfigurationError, IntegrityError, NotFound

from .changelog import ChangeLog
from .config import StoreConfig
from .engine import Engine
from .layout import MANIFEST_PREFIX, MIGRATION_KEY, legacy_seq_key, seq_key
from .maintenance import study_versions
from .records import IndexRow, dumps, index_row

#: Entries copied concurrently; a resumed copy starts this far before the tail.
BATCH = 64

COMMAND = "mintstore migrate --store URL"


@dataclass
class MigrationReport:
    entries_copied: int = 0
    entries_already_there: int = 0
    studies_indexed: int = 0
    rows_filled_from_metadata: int = 0
    old_keys_deleted: int = 0
    upto: int = 0


def has_old_layout(objects: ObjectStore) -> bool:
    """True while the store holds old-layout change-log entries (one HEAD)."""
    return objects.exists(legacy_seq_key(1))


def refuse_old_layout(objects: ObjectStore) -> None:
    """Raise ConfigurationError, naming the command, for a store not yet migrated.

    Serving such a store would answer every search with nothing and start a
    new change log at entry 1 beside the old one.
    """
    if has_old_layout(objects):
        raise ConfigurationError(
            f"{objects.url} was written by an older mintstore (flat changes/seq/ entries, "
            f"whole-index manifests): this version would see an empty change log and an "
            f"empty search index. Convert it once with `{COMMAND}` (idempotent and "
            f"resumable; the old mintstore can read the store until it completes)."
        )


def migrate(
    objects: ObjectStore,
    config: StoreConfig,
    *,
    progress: Callable[[str], None] = lambda message: None,
) -> MigrationReport:
    """Convert an old-layout store in place (a no-op on a converted one)."""
    report = MigrationReport()
    if not has_old_layout(objects) and not _old_manifests(objects):
        progress("nothing to migrate: the store has no old-layout keys")
        report.upto = ChangeLog(objects, config).tail()
        return report
    try:
        last = int(json.loads(objects.get_bytes(MIGRATION_KEY))["entries"])
        progress(f"entries and index already converted ({last} entries); finishing the cleanup")
    except NotFound:
        last = _copy_entries(objects, config, report, progress)
        _reindex(Engine(objects, config), report, progress)
        done = dumps({"entries": last, "upto": report.upto, "at": config.clock().isoformat()})
        objects.put(MIGRATION_KEY, done, mode=PutMode.OVERWRITE)
    _delete_old(objects, last, report, progress)
    return report


def _copy_entries(
    objects: ObjectStore, config: StoreConfig, report: MigrationReport, log: Callable[[str], None]
) -> int:
    """Copy old entries 1..N to their partitioned keys; returns N (0: none)."""
    if not has_old_layout(objects):
        return 0
    start = max(1, ChangeLog(objects, config).tail() - BATCH)
    if start > 1:
        log(f"resuming the copy of change-log entries at {start}")
    number = start
    with ThreadPoolExecutor(max_workers=16) as pool:
        while True:
            batch = range(number, number + BATCH)
            results = list(pool.map(lambda n: _copy_one(objects, n), batch))
            for copied in results:
                if copied is None:
                    break
                if copied:
                    report.entries_copied += 1
                else:
                    report.entries_already_there += 1
            if None in results:
                last = number + results.index(None) - 1
                # Entries are gap-free: nothing after the first missing one.
                if any(r is not None for r in results[results.index(None) :]):
                    raise IntegrityError(f"old change log has a gap after entry {last}")
                log(f"change-log entries 1..{last} are in the partitioned layout")
                return last
            number = batch.stop
            if number % 10_000 < BATCH:
                log(f"copied change-log entries up to {number - 1}")


def _copy_one(objects: ObjectStore, number: int) -> bool | None:
    """True: copied; False: already there (same bytes); None: no such old entry."""
    try:
        data = objects.get_bytes(legacy_seq_key(number))
    except NotFound:
        return None
    try:
        objects.put(seq_key(number), data, mode=PutMode.CREATE)
        return True
    except AlreadyExists:
        if objects.get_bytes(seq_key(number)) != data:
            raise IntegrityError(
                f"change-log entry {number} exists in both layouts with different content "
                f"(was this store written by a newer mintstore before migrating?): "
                f"nothing was changed; compare {legacy_seq_key(number)} and {seq_key(number)}"
            ) from None
        return False


_NEW_COLUMNS = ("patient_name", "study_description", "referring_physician_name", "study_id")


def _reindex(engine: Engine, report: MigrationReport, log: Callable[[str], None]) -> None:
    """Rebuild the index from the studies' newest commit records (as ``reindex``).

    Old records' index rows lack the study-level columns added since; a live
    study's row without ``series`` gets them from its metadata document.
    """
    studies = study_versions(engine)
    for skey, newest in studies.items():
        for version in range(newest + 1):
            engine.changes.backfill(skey, engine.log.record(skey, version))
    upto = engine.changes.tail()
    rows: list[tuple[str, IndexRow]] = []
    for skey, newest in studies.items():
        record = engine.log.record(skey, newest)
        row = record.index
        if not row.deleted and row.series == 0 and record.metadata is not None:
            fresh = index_row(engine.read_study(record), record.version, record.time)
            filled = {name: getattr(fresh, name) for name in _NEW_COLUMNS}
            row = dataclasses.replace(row, series=fresh.series, **filled)
            report.rows_filled_from_metadata += 1
        rows.append((skey, row))
    engine.index.replace(rows, upto)
    report.studies_indexed = len(rows)
    report.upto = upto
    log(f"search index rebuilt: {len(rows)} studies, change log up to entry {upto}")


def _old_manifests(objects: ObjectStore) -> list[str]:
    return [info.key for info in objects.list(MANIFEST_PREFIX) if info.key.endswith(".jsonl.gz")]


def _delete_old(
    objects: ObjectStore, last: int, report: MigrationReport, log: Callable[[str], None]
) -> None:
    """The old manifests, then the old entries from the newest down: entry 1 last."""
    for key in _old_manifests(objects):
        objects.delete(key)
        report.old_keys_deleted += 1
    numbers = list(range(last, 0, -1))
    with ThreadPoolExecutor(max_workers=16) as pool:
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start : start + 1000]
            chunk_without_one = [n for n in chunk if n != 1]
            list(pool.map(lambda n: objects.delete(legacy_seq_key(n)), chunk_without_one))
            report.old_keys_deleted += len(chunk_without_one)
    if last >= 1:
        objects.delete(legacy_seq_key(1))
        report.old_keys_deleted += 1
    log(f"deleted {report.old_keys_deleted} old-layout keys; the store is migrated")
