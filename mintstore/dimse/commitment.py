"""Storage Commitment Push Model SCP: MINT's "storage commit is inherent", spoken in DICOM.

The N-ACTION (Request Storage Commitment) is answered at once; the result
follows in an N-EVENT-REPORT on the same association if the requester
keeps it open, else on a new association to the requester's configured
address (PS3.4 J.3, the SCP proposing the SCP role). Each referenced
instance is checked against the store: committed means the SOP Instance
UID is in the current committed version of its study with the same SOP
Class UID; anything else is listed as failed (0x0112 no such object, 0x0119
class mismatch).

A Referenced SOP Sequence names instances, not studies, and the index has
no SOP Instance UIDs: :class:`~.reads.InstanceLocator` finds the study.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import AE, evt
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

from mintstore.errors import MintError
from mintstore.store import StudyStore

from . import reads
from .config import DimseConfig
from .reads import InstanceLocator
from .spool import BatchCommitter
from .transport import no_delay

LOG = logging.getLogger("mintstore.dimse.commitment")

INSTANCE_UID = "1.2.840.10008.1.20.1.1"
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119
PROCESSING_FAILURE = 0x0110
_SOP_CLASS_UID = 0x00080016


class CommitmentSCP:
    """Handles EVT_N_ACTION for Storage Commitment Push Model."""

    def __init__(
        self,
        store: StudyStore,
        committer: BatchCommitter,
        locator: InstanceLocator,
        config: DimseConfig,
        ae: AE,
    ) -> None:
        self._store = store
        self._committer = committer
        self._locator = locator
        self._config = config
        self._ae = ae

    def handle(self, event: Any) -> tuple[int, Dataset | None]:
        if str(event.request.RequestedSOPClassUID) != StorageCommitmentPushModel:
            return 0x0122, None  # SOP class not supported
        if event.action_type != 1:
            return 0x0123, None  # no such action
        try:
            request = event.action_information
            transaction = str(request.TransactionUID)
            references = [
                (str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
                for item in request.ReferencedSOPSequence
            ]
        except Exception as error:
            LOG.info("unreadable storage commitment request: %r", error)
            return 0x0120, None  # missing attribute
        thread = threading.Thread(
            target=self._report,
            args=(event.assoc, transaction, references),
            name="dimse-commitment",
            daemon=True,
        )
        thread.start()
        return 0x0000, None

    # --- the result ----------------------------------------------------------------------

    def check(self, references: list[tuple[str, str]]) -> tuple[list[Any], list[Any]]:
        """(committed, failed): each a list of (class, instance[, reason])."""
        self._committer.flush()
        classes: dict[str, dict[str, str]] = {}

        def load(study_uid: str) -> dict[str, str]:
            if study_uid not in classes:
                study = reads.study_metadata(self._store, study_uid)
                found: dict[str, str] = {}
                for series in study.series.values() if study else ():
                    for sop_uid, instance in series.instances.items():
                        attribute = instance.attributes.get(
                            _SOP_CLASS_UID
                        ) or series.normalized_attributes.get(_SOP_CLASS_UID)
                        found[sop_uid] = (attribute.val or "") if attribute else ""
                classes[study_uid] = found
            return classes[study_uid]

        recent: list[str] | None = None
        committed, failed = [], []
        for sop_class, sop_uid in references:
            study_uid = self._locator.known(sop_uid)
            stored = load(study_uid).get(sop_uid) if study_uid else None
            if stored is None:
                if recent is None:
                    recent = self._locator.recent_studies()
                for candidate in recent:
                    stored = load(candidate).get(sop_uid)
                    if stored is not None:
                        break
            if stored is None:
                failed.append((sop_class, sop_uid, NO_SUCH_OBJECT_INSTANCE))
            elif stored != sop_class:
                failed.append((sop_class, sop_uid, CLASS_INSTANCE_CONFLICT))
            else:
                committed.append((sop_class, sop_uid))
        return committed, failed

    def _report(self, assoc: Any, transaction: str, references: list[tuple[str, str]]) -> None:
        try:
            committed, failed = self.check(references)
        except MintError as error:
            LOG.error("storage commitment check failed: %s", error)
            committed, failed = [], [(c, s, PROCESSING_FAILURE) for c, s in references]
        info = Dataset()
        info.TransactionUID = transaction
        info.RetrieveAETitle = self._config.ae_title
        if committed:
            info.ReferencedSOPSequence = Sequence([_item(c, s) for c, s in committed])
        if failed:
            info.FailedSOPSequence = Sequence([_item(c, s, reason) for c, s, reason in failed])
        event_type = 2 if failed else 1
        time.sleep(self._config.commitment_delay)
        if assoc.is_established:
            try:
                assoc.send_n_event_report(
                    info, event_type, StorageCommitmentPushModel, INSTANCE_UID
                )
                return
            except Exception as error:  # the peer went away meanwhile: call it back
                LOG.info("N-EVENT-REPORT on the open association failed: %r", error)
        self._call_back(assoc, info, event_type)

    def _call_back(self, assoc: Any, info: Dataset, event_type: int) -> None:
        title = str(assoc.requestor.ae_title).strip()
        destination = self._config.destinations.get(title)
        if destination is None:
            LOG.error("no address configured for %s: storage commitment result not sent", title)
            return
        role = SCP_SCU_RoleSelectionNegotiation()
        role.sop_class_uid = StorageCommitmentPushModel
        role.scu_role = False
        role.scp_role = True
        reply = self._ae.associate(
            destination.host,
            destination.port,
            ae_title=title,
            ext_neg=[role],
            contexts=[_commitment_context()],
            evt_handlers=[(evt.EVT_CONN_OPEN, no_delay)],
        )
        if not reply.is_established:
            LOG.error("cannot reach %s to send the storage commitment result", title)
            return
        try:
            reply.send_n_event_report(info, event_type, StorageCommitmentPushModel, INSTANCE_UID)
        finally:
            reply.release()


def _commitment_context() -> Any:
    from pynetdicom.presentation import build_context

    return build_context(StorageCommitmentPushModel)


def _item(sop_class: str, sop_uid: str, reason: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_uid
    if reason is not None:
        item.FailureReason = reason
    return item
