"""Synthetic index rows published through the real change log (no study content).

The index folds change-log entries; it never reads the studies behind them,
so tests of partitioning, paging and compaction can publish thousands of
rows in seconds instead of ingesting thousands of studies.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from mintstore.store import StudyStore
from mintstore.store.records import CommitRecord, IndexRow

MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM"]
WHEN = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def synthetic_row(index: int, rng: random.Random, *, version: int = 0) -> IndexRow:
    uid = f"1.2.826.0.1.3680043.8.498.{rng.randrange(10**9)}.{index}"
    return IndexRow(
        study_uid=uid,
        version=version,
        last_modified=WHEN.isoformat(),
        patient_id=f"PAT{rng.randrange(max(1, index // 3 + 1)):06d}",
        patient_id_issuer=rng.choice(["HOSP-A", "HOSP-B", None]),
        accession_number=f"ACC{index:08d}",
        modalities=tuple(sorted(set(rng.sample(MODALITIES, rng.choice([1, 1, 2]))))),
        study_date=f"{rng.randrange(2000, 2004)}{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}",
        study_time=f"{rng.randrange(24):02d}{rng.randrange(60):02d}00",
        instances=rng.randrange(1, 50),
        patient_name=f"DOE^{index}",
    )


def record_of(row: IndexRow) -> CommitRecord:
    return CommitRecord(
        study_uid=row.study_uid,
        version=row.version,
        previous=row.version - 1 if row.version else None,
        operation="DELETE" if row.deleted else ("UPDATE" if row.version else "CREATE"),
        time=WHEN,
        user="test",
        host=None,
        codec="gpb.gz",
        metadata=None,
        items=None,
        payload=None,
        next_bid=0,
        index=row,
    )


def publish(store: StudyStore, row: IndexRow) -> int:
    """Give a row its change-log entry, as a commit does after its commit record."""
    return store.archive_jobs.publish_change(record_of(row))
