"""The study storage engine: the bucket itself is the archive.

See docs/storage.md for the layout and the protocols.
"""

from .config import Converter, MetadataCodec, StoreConfig
from .facade import StudyStore
from .ingest import IngestSession
from .jobs import JobRecord, new_job_id
from .migration import MigrationReport
from .opening import migrate_study_store, open_study_store
from .types import (
    Actor,
    Change,
    ChangePage,
    CommitResult,
    CopyReport,
    GcReport,
    Lease,
    SearchHit,
    SearchPage,
    SearchQuery,
    StudyInfo,
    SystemChange,
    VerifyProblem,
    VerifyReport,
)
from .upkeep import ArchiveJobs, IndexMaintenance
from .version import StudyVersion, version_etag

__all__ = [
    "Actor",
    "ArchiveJobs",
    "Change",
    "ChangePage",
    "CommitResult",
    "Converter",
    "CopyReport",
    "GcReport",
    "IndexMaintenance",
    "IngestSession",
    "JobRecord",
    "Lease",
    "MetadataCodec",
    "MigrationReport",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "StoreConfig",
    "StudyInfo",
    "StudyStore",
    "StudyVersion",
    "SystemChange",
    "VerifyProblem",
    "VerifyReport",
    "migrate_study_store",
    "new_job_id",
    "open_study_store",
    "version_etag",
]
