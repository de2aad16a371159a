"""The Storage SCP: C-STORE requests in, a status out only once the instance is durable.

The dataset is kept exactly as received (the encoded bytes under a file
meta header naming the presentation context's transfer syntax) and checked
before anything is written: it must parse, convert, and carry valid UIDs
matching the request. A new instance is then spooled (durable) and
answered; see :mod:`.spool` for why and how it reaches the engine. A SOP
Instance UID the store (or the spool) already holds goes the slow, exact
way: commit what is waiting, then ingest it directly, so the engine decides
between "identical re-send" (success) and "different content" (failure
0x0111, with the reason in the Error Comment).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import weakref
from typing import Any

from pydicom.dataset import Dataset

from mintstore.errors import DuplicateInstance, InvalidInput, MintError
from mintstore.store import Actor, StudyStore

from . import reads
from .spool import BatchCommitter, Spool

LOG = logging.getLogger("mintstore.dimse.storage")

SUCCESS = 0x0000
DUPLICATE_SOP_INSTANCE = 0x0111
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def status(code: int, comment: str | None = None) -> Dataset:
    """A DIMSE status, with an Error Comment (at most 64 characters) if given."""
    result = Dataset()
    result.Status = code
    if comment:
        result.ErrorComment = comment[:64]
    return result


def actor_of(assoc: Any) -> Actor:
    """The change log's remoteUser / remoteHost: calling AE title and peer address."""
    requestor = assoc.requestor
    return Actor(
        user=str(requestor.ae_title).strip() or None,
        host=requestor.address or None,
        protocol="DIMSE",
    )


class StorageSCP:
    """Handles EVT_C_STORE for every storage SOP class."""

    def __init__(
        self,
        store: StudyStore,
        spool: Spool,
        committer: BatchCommitter,
        locator: reads.InstanceLocator,
    ) -> None:
        self._store = store
        self._locator = locator
        self._spool = spool
        self._committer = committer
        self._lock = threading.Lock()
        #: one of these is held from the duplicate check to the spool submit, so
        #: two associations sending one SOP Instance UID at once are decided in turn
        self._sop_locks = [threading.Lock() for _ in range(64)]
        self._stored: weakref.WeakKeyDictionary[Any, dict[str, set[str]]] = (
            weakref.WeakKeyDictionary()
        )

    def handle(self, event: Any) -> Dataset:
        try:
            return self._store_one(event)
        except MintError as error:  # the store failed: nothing was acknowledged
            LOG.error("C-STORE failed: %s", error)
            return status(OUT_OF_RESOURCES, f"store unavailable: {error}")

    def _store_one(self, event: Any) -> Dataset:
        part10 = event.encoded_dataset(include_meta=True)
        converter = self._store.config.converter
        request = event.request
        try:
            dataset = converter.read_part10(io.BytesIO(part10))
            converter.new_builder(None, 0).add_dataset(dataset)
        except InvalidInput as error:
            return status(CANNOT_UNDERSTAND, f"unreadable data set: {error}")
        except Exception as error:  # pydicom raises many kinds on garbage
            LOG.info("C-STORE data set does not convert: %r", error)
            return status(CANNOT_UNDERSTAND, f"data set does not convert: {error}")
        study_uid = str(dataset.get("StudyInstanceUID", "") or "")
        sop_uid = str(dataset.get("SOPInstanceUID", "") or "")
        for name, uid in (("StudyInstanceUID", study_uid), ("SOPInstanceUID", sop_uid)):
            if not uid or len(uid) > 64 or not _UID.match(uid):
                return status(CANNOT_UNDERSTAND, f"missing or invalid {name}")
        if sop_uid != str(request.AffectedSOPInstanceUID):
            return status(DOES_NOT_MATCH_SOP_CLASS, "SOP Instance UID differs from the request")
        actor = actor_of(event.assoc)
        digest = hashlib.sha256(part10).hexdigest()
        self._locator.remember(sop_uid, study_uid)
        with self._sop_locks[hash(sop_uid) % len(self._sop_locks)]:
            known = self._committer.known_digest(sop_uid)
            if known == digest:
                return status(SUCCESS)  # the same bytes are already spooled or committed
            if known is not None or sop_uid in self._stored_sops(event.assoc, study_uid):
                return self._store_directly(part10, actor, event.assoc, study_uid, sop_uid)
            entry = self._spool.put(part10, actor)
            self._committer.submit(entry, sop_uid)
        return status(SUCCESS)

    def _stored_sops(self, assoc: Any, study_uid: str) -> set[str]:
        """SOP UIDs of the study as it was when this association first sent to it."""
        with self._lock:
            studies = self._stored.setdefault(assoc, {})
            cached = studies.get(study_uid)
        if cached is None:
            cached = reads.stored_sop_uids(self._store, study_uid)
            with self._lock:
                studies[study_uid] = cached
        return cached

    def _store_directly(
        self, part10: bytes, actor: Actor, assoc: Any, study_uid: str, sop_uid: str
    ) -> Dataset:
        """Let the engine judge a SOP instance it may already hold."""
        if not self._committer.flush():
            return status(OUT_OF_RESOURCES, "earlier instances are not committed yet")
        try:
            with self._store.begin_ingest() as session:
                session.add_part10(io.BytesIO(part10))
                session.commit(actor)
        except DuplicateInstance as duplicate:
            return status(DUPLICATE_SOP_INSTANCE, f"stored with different content: {duplicate}")
        except InvalidInput as error:
            return status(CANNOT_UNDERSTAND, str(error))
        with self._lock:
            self._stored.setdefault(assoc, {}).setdefault(study_uid, set()).add(sop_uid)
        return status(SUCCESS)

    def forget(self, assoc: Any) -> None:
        """The association ended: drop its cache and commit what it sent."""
        with self._lock:
            self._stored.pop(assoc, None)
        self._committer.kick()
