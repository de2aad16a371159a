"""Copying a study's whole history to another store, of any kind.

Only blobs the target lacks travel (a target blob too old to be safe from
the target's gc is re-sent, which refreshes it). Every blob sent is read
back at the target and hashed before any commit record is written there, so
the target commits only verified content. Then the missing commit records
are created in order, byte for byte the source's, so both stores hold the
same history. If the target's history is not a prefix of ours the stores
have diverged and the copy refuses (VersionConflict).
"""

from __future__ import annotations

from mintstore.errors import IntegrityError, NotFound, StudyGone, StudyNotFound, VersionConflict
from mintstore.model import Study

from .engine import Engine
from .layout import study_key
from .modelops import instance_uids, subset
from .records import CommitRecord
from .types import CopyReport


def _needed_blobs(source: Engine, records: list[CommitRecord]) -> dict[str, int | None]:
    needed: dict[str, int | None] = {}
    for record in records:
        for digest in record.referenced_digests():
            needed.setdefault(digest, None)
        for digest, size in source.item_table(record).values():
            needed[digest] = size
    return needed


def copy_study(source: Engine, target: Engine, study_uid: str) -> CopyReport:
    skey = study_key(study_uid)
    ours = source.log.records(skey)
    if not ours:
        raise StudyNotFound(f"no study {study_uid}")
    if ours[-1].operation == "DELETE":
        raise StudyGone(f"study {study_uid} was deleted")
    theirs = target.log.records(skey)
    for mine, other in zip(ours, theirs, strict=False):
        if mine.to_bytes() != other.to_bytes():
            raise VersionConflict(
                f"study {study_uid} has a different history at the target (version {mine.version})"
            )
    if len(theirs) > len(ours):
        raise VersionConflict(f"the target has newer versions of study {study_uid}")
    missing = ours[len(theirs) :]
    sent = skipped = bytes_sent = bytes_skipped = 0
    threshold = target.config.clock() - target.config.gc_grace / 2
    for digest, size in _needed_blobs(source, missing).items():
        try:
            info = target.blobs.head(digest)
            fresh = (size is None or info.size == size) and (
                info.last_modified is not None and info.last_modified >= threshold
            )
        except NotFound:
            fresh = False
        if fresh:
            skipped += 1
            bytes_skipped += info.size
            continue
        with source.blobs.open(digest, size) as reader:
            _, count = target.blobs.put_stream(reader)
        problem = target.blobs.check(digest, count, deep=True)
        if problem is not None:
            raise IntegrityError(f"copy of blob {digest} failed verification: {problem}")
        sent += 1
        bytes_sent += count
    for record in missing:
        if not target.log.try_commit(skey, record):
            existing = target.log.record(skey, record.version)
            if existing.to_bytes() != record.to_bytes():
                raise VersionConflict(f"study {study_uid} changed at the target during the copy")
            continue
        target.after_commit(skey, record)
    return CopyReport(study_uid, len(missing), sent, skipped, bytes_sent, bytes_skipped)


def missing_instances(ours: Study, theirs: Study | None) -> Study | None:
    """The part of ``ours`` another server lacks (by SOP Instance UID); None if nothing.

    For a copy to another mintstore *server*, whose blobs we cannot see: only
    instances it does not hold travel, as one MINT upload the target merges
    into its study (an instance it holds under the same UID is left to it).
    """
    present = {sop for _, sop in instance_uids(theirs)} if theirs is not None else set()
    wanted = {sop for _, sop in instance_uids(ours) if sop not in present}
    return subset(ours, wanted) if wanted else None
