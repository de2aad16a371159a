"""How a study store is configured, and the two seams to its collaborators.

The engine depends on a metadata codec (how a Study becomes bytes in a blob)
and on a DICOM converter (Part-10 <-> Study). Both are passed in through
:class:`StoreConfig` rather than imported deep inside, so the engine can be
tested and benchmarked on its own and the choice is made once at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Protocol

from mintstore.errors import ConfigurationError
from mintstore.model import Study

from .exclusive import Settle
from .index_options import IndexOptions

#: What ``StoreConfig.duplicates`` may be.
DUPLICATE_POLICIES = ("reject", "replace")


def utc_now() -> datetime:
    return datetime.now(UTC)


class MetadataCodec(Protocol):
    """Turns a whole Study (or a delta) into the bytes stored in a blob and back."""

    #: Short name recorded in every commit record ("gpb.gz"), so a reader
    #: knows how to decode the documents a commit references.
    name: str

    def encode(self, study: Study) -> bytes: ...

    def decode(self, data: bytes) -> Study: ...


class StudyBuilderLike(Protocol):
    """What the engine needs from ``mintstore.convert.StudyBuilder``."""

    def add_dataset(self, dataset: Any) -> list[tuple[int, bytes | memoryview]]:
        """Add one instance; raises DuplicateInstance if its SOP UID is already there."""
        ...

    @property
    def study(self) -> Study: ...

    @property
    def next_bid(self) -> int: ...


class Converter(Protocol):
    """What the engine needs from ``mintstore.convert`` (Part-10 <-> Study)."""

    def read_part10(self, stream: BinaryIO) -> Any:
        """Parse one Part-10 instance eagerly (InvalidDicom on anything malformed)."""
        ...

    def new_builder(self, existing: Study | None, next_bid: int) -> StudyBuilderLike: ...

    def instance_to_dataset(
        self, study: Study, series_uid: str, sop_uid: str, read_item: Callable[[int], bytes]
    ) -> Any: ...

    def write_part10(self, dataset: Any, out: BinaryIO) -> None: ...

    def check_values(self, study: Study) -> None:
        """Raise InvalidInput unless every value of an uploaded study encodes as DICOM."""
        ...


def _default_codec() -> MetadataCodec:
    from mintstore.store.codecs import default_codec

    return default_codec()


def _default_converter() -> Converter:
    from mintstore.store.codecs import default_converter

    return default_converter()


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
    * ``create_settle``: on stores whose create-if-absent is not atomic
      (Swift), how long a writer waits before confirming that its commit
      record, change-log entry or lease was not replaced by a competitor
      (a floor, and a multiple of the create's own duration; see
      :mod:`mintstore.store.exclusive`). Ignored on atomic stores.
    * ``upload_workers``: parallel blob uploads per ingest.
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
      tables cached by digest (both immutable, so never invalidated).
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
    codec: MetadataCodec = field(default_factory=_default_codec)
    converter: Converter = field(default_factory=_default_converter)
    publish_patience: timedelta = timedelta(seconds=30)
    job_retention: timedelta = timedelta(days=7)
    duplicates: str = field(default="reject", metadata={"choices": DUPLICATE_POLICIES})

    def __post_init__(self) -> None:
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ConfigurationError(
                f"duplicates must be 'reject' or 'replace', not {self.duplicates!r}"
            )
