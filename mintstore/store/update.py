"""Updates with a delta, and deletion: new versions of an existing study.

A delta's binary items are numbered from 0 by the uploader; they are shifted
above every bid the study ever used (``next_bid`` of the head, which counts
removed items too), at every level, before the delta is applied.

Guarding: with ``old_version`` or a lock token the update applies to exactly
the version the caller saw, and losing the commit race raises
VersionConflict. Without either, the delta is re-applied to the newest
version until it commits (deltas are absolute: "set/remove this").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import BinaryIO

from mintstore.errors import StudyGone, StudyNotFound, VersionConflict
from mintstore.model import Study

from .engine import Engine
from .layout import study_key
from .modelops import apply_delta, check_items, max_bid, referenced_table, shift_bids
from .records import CommitRecord, IndexRow
from .types import Actor, CommitResult


def update_study(
    engine: Engine,
    study_uid: str,
    delta: Study,
    items: Mapping[int, Callable[[], BinaryIO]],
    *,
    old_version: int | None,
    lock_token: str | None,
    actor: Actor,
) -> CommitResult:
    skey = study_key(study_uid)
    uploaded = {}
    for bid, opener in sorted(items.items()):
        with opener() as stream:
            uploaded[bid] = engine.blobs.put_stream(stream)
    guarded = old_version is not None or lock_token is not None
    while True:
        record = engine.log.head(skey)
        head = engine.load_head(skey, record)
        if head is None:
            if record is None:
                raise StudyNotFound(f"no study {study_uid}")
            raise StudyGone(f"study {study_uid} was deleted")
        if lock_token is not None:
            engine.locks.check(skey, lock_token)
        else:
            engine.locks.check_unlocked(skey)
        if old_version is not None and old_version != head.record.version:
            raise VersionConflict(
                f"study {study_uid} is at version {head.record.version}, not {old_version}"
            )
        shift = head.record.next_bid
        shifted = copy.deepcopy(delta)
        shift_bids(shifted, shift)
        table = dict(head.table)
        table.update({bid + shift: row for bid, row in uploaded.items()})
        check_items(shifted, table)
        study = apply_delta(head.study, shifted, in_place=True)  # head.study is a fresh decode
        study.study_instance_uid = study_uid
        table = referenced_table(study, table)
        check_items(study, table)
        next_bid = max(shift + max(uploaded, default=-1) + 1, max_bid(study) + 1, shift)
        record = engine.prepare(
            study,
            table,
            shifted,
            version=head.record.version + 1,
            operation="UPDATE",
            next_bid=next_bid,
            actor=actor,
        )
        if engine.try_commit(record):
            engine.hand_over(record, study)
            return CommitResult(study_uid, record.version, created=False, changed=True)
        if guarded:
            raise VersionConflict(f"study {study_uid} was changed concurrently")


def delete_study(engine: Engine, study_uid: str, actor: Actor) -> CommitResult:
    """Commit a tombstone; content stays until gc finds it unreferenced."""
    skey = study_key(study_uid)
    while True:
        head = engine.log.head(skey)
        if head is None:
            raise StudyNotFound(f"no study {study_uid}")
        if head.operation == "DELETE":
            raise StudyGone(f"study {study_uid} was already deleted")
        now = engine.config.clock()
        version = head.version + 1
        index = IndexRow(
            study_uid=study_uid, version=version, last_modified=now.isoformat(), deleted=True
        )
        record = CommitRecord(
            study_uid=study_uid,
            version=version,
            previous=head.version,
            operation="DELETE",
            time=now,
            user=actor.user,
            host=actor.host,
            type=head.type,
            codec=head.codec,
            metadata=None,
            items=None,
            payload=None,
            next_bid=head.next_bid,
            index=index,
        )
        if engine.try_commit(record):
            return CommitResult(study_uid, version, created=False, changed=True)
