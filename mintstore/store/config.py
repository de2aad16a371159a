"""How a study store is configured: every engine tunable, and the chosen collaborators.

The engine's ports (metadata codec, DICOM converter) are Protocols in
:mod:`.ports`; the default implementations are wired in :mod:`.wiring`.
Both are passed in through :class:`StoreConfig` rather than imported deep
inside, so the engine can be tested and benchmarked on its own and the
choice is made once at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mintstore.adapters.settled import Settle
from mintstore.errors import ConfigurationError

from .index_options import IndexOptions
from .ports import Converter, MetadataCodec, StudyBuilderLike
from .wiring import default_codec, default_converter

__all__ = ["Converter", "MetadataCodec", "StoreConfig", "StudyBuilderLike", "utc_now"]

#: What ``StoreConfig.duplicates`` may be.
DUPLICATE_POLICIES = ("reject", "replace")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StoreConfig:
    """Tunables of one study store; every time-dependent decision uses ``clock``.

    * ``lock_ttl``: how long an update lease lives unless renewed.
    * ``lock_margin``: an update refuses a lease that expires within this
      margin, so a commit never lands after its lease expired.
    * ``gc_grace``: gc never deletes a blob younger than this (it may belong
      to a commit in flight); ingest refreshes a re-used blob older than half
      of it, so content a new commit references is always "young".
    * ``seq_backfill_after``: a committed version without a system change-log
      entry is only backfilled by someone else once its commit is this old
      (its own writer normally adds the entry within milliseconds).
    * ``create_settle``: on Swift (whose create-if-absent can be overtaken),
      how long a small create waits before it reads itself back and trusts its
      win (a floor, and a multiple of the create's own duration). Applied by
      the registry's wrapper (``mintstore.adapters.settled``) when the store is
      opened with ``open_study_store``; ignored on every other backend.
    * ``upload_workers``: parallel blob uploads per process (one pool shared
      by every ingest session, docs/bulk.md "Upload threads").
    * ``compact_every``: compact the search index (fold the change log's tail
      into a partition) once this many entries follow its manifest.
    * ``index``: partitioning, compaction and caching of the search index.
    * ``index_refresh``: minimum time between two tail checks of the change
      log by the in-process search index (0 = check on every query).
    * ``freshness``: how stale this process's idea of a study's latest
      version may be when another process commits (0 = strict: every read
      of the latest version lists the study's log, one LIST; W > 0: the
      system change log is followed at most once per W for the whole store
      and warm reads list nothing). Own commits are always seen at once.
    * ``cache_bytes``: memory bound of the decoded documents and item
      tables cached by digest (both immutable, so never invalidated); a
      further sixteenth of it holds the checksums that reads check after a
      blob's first SHA-256-checked read.
    * ``publish_patience``: how long a committer retries its change-log entry
      through transient store failures before it answers anyway (the commit
      is durable; the entry is then backfilled by the study's next commit,
      verify or reindex).
    * ``job_retention``: RI job records (jobs/<id>.json) older than this are
      removed by gc.
    * ``duplicates``: an instance whose SOP Instance UID is stored with
      different content is refused with the reason ("reject") or committed
      in a new version, the old one kept in history ("replace"); identical
      content is always a no-op success.
    """

    lock_ttl: timedelta = timedelta(minutes=10)
    lock_margin: timedelta = timedelta(seconds=5)
    gc_grace: timedelta = timedelta(hours=24)
    seq_backfill_after: timedelta = timedelta(seconds=60)
    create_settle: Settle = field(default_factory=Settle)
    upload_workers: int = 8
    compact_every: int = 256
    index: IndexOptions = field(default_factory=IndexOptions)
    index_refresh: timedelta = timedelta(0)
    freshness: timedelta = timedelta(0)
    cache_bytes: int = 256 * 1024**2
    clock: Callable[[], datetime] = utc_now
    codec: MetadataCodec = field(default_factory=default_codec)
    converter: Converter = field(default_factory=default_converter)
    publish_patience: timedelta = timedelta(seconds=30)
    job_retention: timedelta = timedelta(days=7)
    duplicates: str = field(default="reject", metadata={"choices": DUPLICATE_POLICIES})

    def __post_init__(self) -> None:
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ConfigurationError(
                f"duplicates must be 'reject' or 'replace', not {self.duplicates!r}"
            )
