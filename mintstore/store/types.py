"""The values the study store hands in and out (its public vocabulary).

Plain frozen dataclasses so callers (the HTTP layer, the CLI, tests) never
depend on how the engine keeps things in the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Operation = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the change logs record it (remoteUser/remoteHost)."""

    user: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class CommitResult:
    """Outcome of one study's commit.

    ``changed`` is False when nothing new was sent (idempotent re-ingest); the
    version is then the existing one and no commit record was written.
    """

    study_uid: str
    version: int
    created: bool
    changed: bool


@dataclass(frozen=True)
class StudyInfo:
    study_uid: str
    version: int
    last_update: datetime
    types: list[str]


@dataclass(frozen=True)
class Lease:
    """An update lock: present ``token`` with the update before ``expires``."""

    token: str
    expires: datetime


@dataclass(frozen=True)
class Change:
    """One entry of a study's change log (= one commit record)."""

    number: int
    type: str
    time: datetime
    operation: Operation
    user: str | None
    host: str | None


@dataclass(frozen=True)
class SystemChange:
    """One entry of the system change log."""

    sequence: int
    study_uid: str
    version: int
    type: str
    time: datetime
    operation: Operation
    user: str | None
    host: str | None


@dataclass(frozen=True)
class ChangePage:
    """A page of the system change log; pass ``continuation`` back for the next."""

    changes: list[SystemChange]
    continuation: str


@dataclass(frozen=True)
class SearchQuery:
    """Every MINT-SPEC section 5 search parameter (None = no constraint)."""

    study_instance_uid: str | None = None
    patient_id: str | None = None
    patient_id_issuer: str | None = None
    accession_number: str | None = None
    accession_number_issuer: str | None = None
    modalities_in_study: tuple[str, ...] = ()
    min_study_date: str | None = None
    max_study_date: str | None = None
    min_study_date_time: str | None = None
    max_study_date_time: str | None = None
    limit: int = 100
    offset: int = 0
    continuation: str | None = None


@dataclass(frozen=True)
class SearchHit:
    study_uid: str
    version: int
    last_modified: datetime
    patient_id: str | None = None
    accession_number: str | None = None
    study_date: str | None = None
    modalities: tuple[str, ...] = ()
    study_time: str | None = None
    patient_name: str | None = None
    study_description: str | None = None
    referring_physician_name: str | None = None
    study_id: str | None = None
    series: int = 0
    instances: int = 0


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchHit]
    continuation: str | None


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: only blobs missing at the target are sent."""

    study_uid: str
    versions_copied: int
    blobs_sent: int
    blobs_skipped: int
    bytes_sent: int
    bytes_skipped: int


@dataclass(frozen=True)
class VerifyProblem:
    study_uid: str
    version: int
    digest: str
    problem: str


@dataclass
class VerifyReport:
    studies: int = 0
    versions: int = 0
    blobs_checked: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    backfilled_changes: int = 0
    #: Committed versions still without a valid change-log entry (younger than
    #: ``seq_backfill_after``, so their own writer may still add it).
    pending_changes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept_young: int = 0
    #: RI job records removed because they were older than ``job_retention``.
    jobs_deleted: int = 0
