"""The Query/Retrieve Move and Get SCPs: instances out, exactly as stored.

The identifier names what to send by unique keys (PatientID at PATIENT
level; StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID lists below).
Each study is read at one pinned version, and each instance is rebuilt only
when its C-STORE sub-operation is due, so a large study never sits in memory.
C-MOVE sends to a configured destination AE (title -> host:port, an unknown
title answers 0xA801); C-GET sends over the requester's own association.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.presentation import PresentationContext, build_context

from mintstore.errors import MintError
from mintstore.store import SearchQuery, StudyStore

from . import reads
from .config import DimseConfig
from .query import IdentifierError
from .spool import BatchCommitter
from .storage import status
from .transport import prompt_sender

LOG = logging.getLogger("mintstore.dimse.retrieve")

PENDING = 0xFF00
CANCEL = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

UNCOMPRESSED = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
_LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_SOP_CLASS_UID = 0x00080016


@dataclass(frozen=True)
class Planned:
    """One instance to send: where it is and what context it needs."""

    pinned: reads.PinnedStudy
    series_uid: str
    sop_uid: str
    sop_class: str
    transfer_syntax: str


def _uid_list(identifier: Dataset, keyword: str) -> list[str] | None:
    value = identifier.get(keyword)
    if value is None or value == "":
        return None
    values = list(value) if not isinstance(value, str) else value.split("\\")
    return [str(uid).strip() for uid in values if str(uid).strip()] or None


def plan(store: StudyStore, identifier: Dataset) -> list[Planned]:
    """Every instance the retrieve identifier names (raises IdentifierError)."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if level not in _LEVELS:
        raise IdentifierError("QueryRetrieveLevel must be PATIENT, STUDY, SERIES or IMAGE")
    depth = _LEVELS.index(level)
    studies = _uid_list(identifier, "StudyInstanceUID")
    series_uids = _uid_list(identifier, "SeriesInstanceUID")
    sops = _uid_list(identifier, "SOPInstanceUID")
    if level == "PATIENT":
        patient = str(identifier.get("PatientID", "") or "").strip()
        if not patient:
            raise IdentifierError("a PATIENT level retrieve needs PatientID")
        studies = list(reads.matching_study_uids(store, SearchQuery(patient_id=patient)))
    elif studies is None:
        raise IdentifierError(f"a {level} level retrieve needs StudyInstanceUID")
    if depth >= 2 and series_uids is None:
        raise IdentifierError(f"a {level} level retrieve needs SeriesInstanceUID")
    if depth >= 3 and sops is None:
        raise IdentifierError("an IMAGE level retrieve needs SOPInstanceUID")
    planned: list[Planned] = []
    for study_uid in sorted(set(studies)):
        pinned = reads.PinnedStudy.open(store, study_uid)
        if pinned is None:
            continue
        for series_uid in sorted(pinned.study.series):
            if depth >= 2 and series_uids is not None and series_uid not in series_uids:
                continue
            series = pinned.study.series[series_uid]
            for sop_uid in sorted(series.instances):
                if depth >= 3 and sops is not None and sop_uid not in sops:
                    continue
                instance = series.instances[sop_uid]
                sop_class = (
                    instance.attributes.get(_SOP_CLASS_UID)
                    or series.normalized_attributes.get(_SOP_CLASS_UID)
                    or series.attributes.get(_SOP_CLASS_UID)
                )
                planned.append(
                    Planned(
                        pinned,
                        series_uid,
                        sop_uid,
                        (sop_class.val or "") if sop_class is not None else "",
                        instance.transfer_syntax_uid or UNCOMPRESSED[1],
                    )
                )
    return planned


def contexts_for(planned: list[Planned]) -> list[PresentationContext]:
    """Presentation contexts to propose to a C-MOVE destination (at most 128):
    each SOP class with the uncompressed syntaxes, plus each compressed syntax
    stored, in a context of its own so the peer can accept it separately."""
    wanted: dict[tuple[str, tuple[str, ...]], None] = {}
    for item in planned:
        wanted[(item.sop_class, UNCOMPRESSED)] = None
        if item.transfer_syntax not in UNCOMPRESSED:
            wanted[(item.sop_class, (item.transfer_syntax,))] = None
    return [build_context(sop_class, list(syntaxes)) for sop_class, syntaxes in wanted][:128]


class RetrieveSCP:
    """Handles EVT_C_MOVE and EVT_C_GET."""

    def __init__(self, store: StudyStore, committer: BatchCommitter, config: DimseConfig) -> None:
        self._store = store
        self._committer = committer
        self._config = config

    def _plan(self, event: Any) -> tuple[list[Planned] | None, Dataset | None]:
        self._committer.flush()
        try:
            return plan(self._store, event.identifier), None
        except IdentifierError as error:
            return None, status(IDENTIFIER_DOES_NOT_MATCH, str(error))
        except MintError as error:
            LOG.error("retrieve failed: %s", error)
            return None, status(UNABLE_TO_PROCESS, f"store error: {error}")
        except Exception as error:  # the identifier does not decode
            return None, status(UNABLE_TO_PROCESS, f"unreadable identifier: {error}")

    def handle_move(self, event: Any) -> Iterator[Any]:
        title = str(event.move_destination).strip()
        destination = self._config.destinations.get(title)
        if destination is None:
            LOG.info("C-MOVE to unknown destination %r refused", title)
            yield None, None
            return
        planned, failure = self._plan(event)
        options: dict[str, Any] = {"evt_handlers": [(evt.EVT_CONN_OPEN, prompt_sender)]}
        contexts = contexts_for(planned or [])
        if contexts:
            options["contexts"] = contexts
        yield destination.host, destination.port, options
        yield from self._send(event, planned, failure)

    def handle_get(self, event: Any) -> Iterator[Any]:
        planned, failure = self._plan(event)
        yield from self._send(event, planned, failure)

    def _send(
        self, event: Any, planned: list[Planned] | None, failure: Dataset | None
    ) -> Iterator[Any]:
        if planned is None:
            yield 1
            yield failure, None
            return
        yield len(planned)
        for item in planned:
            if event.is_cancelled:
                yield CANCEL, None
                return
            try:
                dataset = item.pinned.dataset(item.series_uid, item.sop_uid)
            except MintError as error:
                LOG.error("cannot read %s for a retrieve: %s", item.sop_uid, error)
                failed = Dataset()
                failed.FailedSOPInstanceUIDList = [item.sop_uid]
                yield status(UNABLE_TO_PROCESS, f"unreadable instance: {error}"), failed
                return
            yield PENDING, dataset
