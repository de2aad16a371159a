"""What maintenance work outside the engine may ask of it, and nothing more.

The sharded bulk jobs (``mintstore.bulk``: verify, gc and reindex on Dask;
the resumable import), the benchmarks and the scale tests need a few of the
engine's operations that no front-end should call: fold the index now,
replace it wholesale, give a committed version its change-log entry, list
what a study references. :class:`StudyStore` hands out these two small
objects instead of its engine, so the engine's parts stay private and each
caller's reach is spelled out here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from .engine import Engine
from .layout import study_key
from .maintenance import verify
from .manifest import Manifest
from .records import CommitRecord, IndexRow
from .types import VerifyReport


class IndexMaintenance:
    """Compaction and wholesale rebuilds of the search index."""

    def __init__(self, engine: Engine) -> None:
        self._index = engine.index

    def compact_now(self, *, force: bool = False) -> Manifest | None:
        """One compaction step now, in this thread (if due, or always with ``force``);
        the new manifest, or None when nothing was due or another process holds it."""
        return self._index.compact_now(force=force)

    def replace(self, rows: Iterable[tuple[str, IndexRow]], upto: int) -> Manifest:
        """A new index generation of exactly ``rows`` (study key, row), covering the
        change log up to entry ``upto`` (later entries are folded by readers)."""
        return self._index.replace(rows, upto)

    def replace_table(self, table: pa.Table, upto: int) -> Manifest:
        """:meth:`replace` from an Arrow table of rows (bulk rebuilds of millions)."""
        return self._index.replace_table(table, upto)

    def wait_background(self, timeout: float = 60.0) -> None:
        """Wait for this process's background index work (short-lived commands, tests)."""
        self._index.wait_background(timeout)


class ArchiveJobs:
    """The change-log and reference operations of verify, gc, reindex and import jobs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def change_log_tail(self) -> int:
        """The number of the newest system change-log entry (0 = empty log).

        A rebuilt index covers the log up to a tail read *before* its rows:
        a commit during the rebuild is then in a row or after the tail."""
        return self._engine.changes.tail()

    def backfill_changes(self, skey: str, newest: int) -> int:
        """Give every version up to ``newest`` that has no change-log entry one
        (only versions older than ``seq_backfill_after``); how many were added."""
        engine = self._engine
        added = 0
        for version in range(newest + 1):
            added += engine.changes.backfill(skey, engine.log.record(skey, version))
        return added

    def head_row(self, skey: str, version: int) -> IndexRow:
        """The index row version ``version`` of the study committed."""
        return self._engine.log.record(skey, version).index

    def references_of(self, skey: str, newest: int) -> set[str]:
        """Digests every version up to ``newest`` of a live study references
        (none for a deleted study: its content is gc's to take)."""
        engine = self._engine
        records = [engine.log.record(skey, version) for version in range(newest + 1)]
        if records[-1].operation == "DELETE":
            return set()
        found: set[str] = set()
        for record in records:
            found.update(record.referenced_digests())
            found.update(digest for digest, _ in engine.item_table(record).values())
        return found

    def verify_studies(self, skeys: set[str], *, deep: bool = True) -> VerifyReport:
        """Verify every version of the studies with these keys (no orphan scan)."""
        return verify(self._engine, deep=deep, only=skeys)

    def ensure_logged(self, study_uid: str) -> int | None:
        """Give the study's head version its change-log entry and index row if a
        killed writer left none; the head version (None: no such study).

        One GET of the version's marker when all is well. A duplicate entry
        from a writer still alive is void: the marker arbitrates.
        """
        engine = self._engine
        skey = study_key(study_uid)
        head = engine.log.head(skey)
        if head is None:
            return None
        if engine.changes.marker(skey, head.version) is None:
            engine.after_commit(skey, head)
        return head.version

    def publish_change(self, record: CommitRecord) -> int:
        """The change-log entry and index row of a commit record written elsewhere
        (loaders that write records themselves); the valid entry's number."""
        skey = study_key(record.study_uid)
        number = self._engine.changes.publish(skey, record)
        self._engine.index.note(number, skey, record.index)
        return number
