"""Ingest: instances in, one commit per study out.

Binary items go to blobs as each instance is parsed (on a bounded pool), so
a study is never held in memory; only the metadata model is. The commit of
each study touched happens in ``commit``: documents first, then the commit
record. Losing the race for a version means another writer appended first:
our new instances are re-added on top of its version (their items are
already stored, so only metadata work is repeated) and we try again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, Self

from mintstore.errors import DuplicateInstance, InvalidDicom, InvalidInput, InvalidUID
from mintstore.file_range import FileRange, content_sha256
from mintstore.model import Study, instance_attributes

from . import duplicates
from .blobs import ParallelUploader
from .engine import Engine, Head
from .layout import study_key
from .modelops import (
    check_items,
    instance_uids,
    max_bid,
    renumber_bids,
    subset,
)
from .ports import StudyBuilderLike
from .records import CommitRecord, ItemTable
from .types import Actor, CommitResult
from .uids import check_study_uids, check_uid


@dataclass
class _Work:
    """One study being ingested in this session."""

    uid: str
    skey: str
    head: CommitRecord | None
    base: Head | None
    next_bid: int
    builder: StudyBuilderLike | None = None
    study: Study | None = None
    table: ItemTable = field(default_factory=dict)
    pending: dict[int, Future[tuple[str, int]]] = field(default_factory=dict)
    new_sops: set[str] = field(default_factory=set)


class IngestSession:
    """Collects instances of any number of studies; ``commit`` makes them visible."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._uploader = ParallelUploader(engine.blobs, engine.config.upload_workers)
        self._works: dict[str, _Work] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the upload pool; anything uncommitted stays invisible."""
        self._uploader.close()

    # --- adding ---------------------------------------------------------------------

    def _work(self, uid: str) -> _Work:
        work = self._works.get(uid)
        if work is None:
            check_uid(uid)
            skey = study_key(uid)
            head = self._engine.log.head(skey)
            base = self._engine.load_head(skey, head)
            next_bid = head.next_bid if head is not None else 0
            work = _Work(uid, skey, head, base, next_bid)
            if base is not None:
                work.study = base.study
                work.table = dict(base.table)
            self._works[uid] = work
        return work

    def add_part10(self, stream: BinaryIO) -> str:
        """Parse one Part-10 instance and store its binary items; returns its study UID.

        Large values of a file-backed ``stream`` stay in it (file ranges) and
        are written to blobs before this returns, so the caller may close
        ``stream`` at once; the rest upload in the background as before.
        """
        return self.add_dataset(self.read_part10(stream))

    def read_part10(self, stream: BinaryIO) -> Any:
        """Parse one Part-10 instance without adding it (a caller that checks
        its UIDs first, as STOW-RS does, then hands it to ``add_dataset``).
        A dataset read from a file-backed ``stream`` is usable while it is open."""
        return self._engine.config.converter.read_part10(stream)

    def add_dataset(self, dataset: Any) -> str:
        """Add a dataset from ``read_part10`` (its stream still open); returns its study UID."""
        uid = _dataset_uid(dataset, "StudyInstanceUID")
        self._add_dataset(self._work(uid), dataset)
        return uid

    def _add_dataset(self, work: _Work, dataset: Any) -> None:
        sop_uid = _dataset_uid(dataset, "SOPInstanceUID")
        _dataset_uid(dataset, "SeriesInstanceUID")  # it is a URL segment too
        if work.builder is None:
            work.builder = self._engine.config.converter.new_builder(work.study, work.next_bid)
        try:
            items = work.builder.add_dataset(dataset)
        except DuplicateInstance as duplicate:
            if self._already_stored(work, duplicate):
                return
            if self._engine.config.duplicates != "replace":
                raise duplicates.refuse(sop_uid, _reason(duplicate)) from duplicate
            # "replace": the new content takes the UID's place in the next version.
            remaining = duplicates.without_instance(work.builder.study, sop_uid)
            converter = self._engine.config.converter
            work.builder = converter.new_builder(remaining, work.builder.next_bid)
            items = work.builder.add_dataset(dataset)
        work.study = work.builder.study
        in_file = []
        for bid, content in items:
            work.pending[bid] = self._uploader.submit(content)
            if isinstance(content, FileRange):
                in_file.append(work.pending[bid])
        for future in in_file:  # they read the caller's file: done before it closes
            future.result()
        work.new_sops.add(sop_uid)

    def _digest(self, work: _Work, bid: int) -> str | None:
        if bid in work.pending:
            return work.pending[bid].result()[0]
        row = work.table.get(bid)
        return row[0] if row else None

    def _already_stored(self, work: _Work, duplicate: DuplicateInstance) -> bool:
        """Same metadata and same binary contents as stored: an idempotent re-send."""
        if not duplicate.identical_metadata:
            return False
        return all(
            content_sha256(content) == self._digest(work, bid) for bid, content in duplicate.items
        )

    def add_mint(self, metadata: Study, items: Mapping[int, Callable[[], BinaryIO]]) -> None:
        """A MINT upload (metadata + binaryN parts): create the study as sent, or
        merge its instances into the stored study (RI DICOM2MINT update semantics:
        the full study with new instances). Instances already stored and sent
        unchanged are kept as they are (matched by SOP Instance UID), so only the
        new instances' binary items need to be sent; a stored UID sent with
        different content follows ``StoreConfig.duplicates`` (see duplicates)."""
        check_study_uids(metadata)
        self._engine.config.converter.check_values(metadata)
        work = self._work(metadata.study_instance_uid)
        uploaded: ItemTable = {}
        futures = {}
        for bid, opener in sorted(items.items()):
            with opener() as stream:
                futures[bid] = self._uploader.submit_stream(stream)
        for bid, future in futures.items():
            uploaded[bid] = future.result()
        if work.study is None:
            check_items(metadata, uploaded)
            study = copy.deepcopy(metadata)
            work.study = study
            work.table.update(uploaded)
            work.new_sops = {sop for _, sop in instance_uids(study)}
            work.next_bid = max(work.next_bid, max_bid(study) + 1)
            return
        stored = {sop for _, sop in instance_uids(work.study)}
        new = {sop for _, sop in instance_uids(metadata) if sop not in stored}
        for sop in sorted({sop for _, sop in instance_uids(metadata)} & stored):
            reason = duplicates.difference(work.study, work.table, metadata, uploaded, sop)
            if reason is None:
                continue  # the stored instance sent again (maybe without its items)
            if self._engine.config.duplicates != "replace":
                raise duplicates.refuse(sop, reason)
            new.add(sop)  # re-added below; _add_dataset replaces the stored one
        check_items(subset(metadata, new), uploaded)
        self._merge_instances(work, metadata, uploaded, new)

    def _merge_instances(
        self, work: _Work, source: Study, table: ItemTable, only: set[str] | None
    ) -> None:
        """Re-add instances of ``source`` (items already stored) on top of ``work.study``.

        Model to model: each instance's attributes (every level merged) go to
        the builder with their bids renumbered above every bid in use, and the
        table rows follow. No DICOM conversion and no item is read back, so a
        lost commit race (or a merged MINT upload) costs metadata work only.
        """
        converter = self._engine.config.converter
        for series_uid, sop_uid in instance_uids(source):
            if only is not None and sop_uid not in only:
                continue
            series = source.series[series_uid]
            instance = series.instances[sop_uid]
            attributes = copy.deepcopy(instance_attributes(source, series, instance))
            if work.builder is None:
                work.builder = converter.new_builder(work.study, work.next_bid)
            moves = renumber_bids(attributes, work.builder.next_bid)
            tokens = [(new, table[old][0].encode("ascii")) for old, new in moves]
            try:
                work.builder.add_mint_instance(
                    attributes, instance.transfer_syntax_uid, instance.preamble, tokens
                )
            except DuplicateInstance as duplicate:
                # Stored meanwhile by someone else: the same instance is no conflict.
                if duplicate.identical_metadata and all(
                    token == (self._digest(work, bid) or "").encode("ascii")
                    for bid, token in duplicate.items
                ):
                    continue
                if self._engine.config.duplicates != "replace":
                    raise duplicates.refuse(sop_uid, _reason(duplicate)) from duplicate
                # "replace": the new content takes the UID's place in the next version.
                remaining = duplicates.without_instance(work.builder.study, sop_uid)
                work.builder = converter.new_builder(remaining, work.builder.next_bid)
                attributes = copy.deepcopy(instance_attributes(source, series, instance))
                moves = renumber_bids(attributes, work.builder.next_bid)
                tokens = [(new, table[old][0].encode("ascii")) for old, new in moves]
                work.builder.add_mint_instance(
                    attributes, instance.transfer_syntax_uid, instance.preamble, tokens
                )
            work.study = work.builder.study
            for old, new in moves:
                work.table[new] = table[old]
            work.new_sops.add(sop_uid)

    # --- committing -----------------------------------------------------------------

    def commit(self, actor: Actor) -> list[CommitResult]:
        """Commit every study touched; one result per study."""
        self._uploader.wait()
        works, self._works = self._works, {}
        return [self._commit_one(work, actor) for work in works.values()]

    def _commit_one(self, work: _Work, actor: Actor) -> CommitResult:
        while True:
            for bid, future in list(work.pending.items()):
                work.table[bid] = future.result()
            work.pending.clear()
            if not work.new_sops or work.study is None:
                version = work.head.version if work.head is not None else -1
                return CommitResult(work.uid, version, created=False, changed=False)
            record = self._prepare(work, actor)
            if self._engine.try_commit(record):
                self._engine.hand_over(record, work.study)
                return CommitResult(
                    work.uid, record.version, created=work.base is None, changed=True
                )
            self._rebase(work)

    def _prepare(self, work: _Work, actor: Actor) -> CommitRecord:
        assert work.study is not None
        study = work.study
        wanted = study.referenced_bids()  # one walk of the study for all three uses
        table = {bid: row for bid, row in work.table.items() if bid in wanted}
        check_items(study, table)
        head = work.head
        next_bid = max(
            work.builder.next_bid if work.builder is not None else 0,
            work.next_bid,
            max(wanted, default=-1) + 1,
            head.next_bid if head is not None else 0,
        )
        payload = subset(study, work.new_sops) if work.base is not None else None
        return self._engine.prepare(
            study,
            table,
            payload,
            version=head.version + 1 if head is not None else 0,
            operation="CREATE" if work.base is None else "UPDATE",
            next_bid=next_bid,
            actor=actor,
        )

    def _rebase(self, work: _Work) -> None:
        """Someone committed first: redo our instances on top of the new head."""
        assert work.study is not None
        source, table, sops = work.study, dict(work.table), set(work.new_sops)
        head = self._engine.log.head(work.skey)
        base = self._engine.load_head(work.skey, head)
        work.head, work.base = head, base
        work.builder = None
        work.next_bid = head.next_bid if head is not None else 0
        work.study = base.study if base else None
        work.table = dict(base.table) if base else {}
        work.new_sops = set()
        self._merge_instances(work, source, table, sops)


def _reason(duplicate: DuplicateInstance) -> str:
    """What differs, for the client (the builder compared the two instances)."""
    if duplicate.identical_metadata:
        return "different content: its binary items differ from the stored instance's"
    return "different content: its attributes differ from the stored instance's"


def _dataset_uid(dataset: Any, keyword: str) -> str:
    value = dataset.get(keyword) if hasattr(dataset, "get") else None
    if not value:
        raise InvalidDicom(f"the instance has no {keyword}")
    uid = str(value)
    try:
        check_uid(uid)
    except InvalidUID:
        raise InvalidUID(f"the instance's {keyword} {uid[:80]!r} is not a DICOM UID") from None
    return uid


def check_not_empty(results: list[CommitResult]) -> None:
    if not results:
        raise InvalidInput("nothing was uploaded")
