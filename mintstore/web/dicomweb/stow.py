"""STOW-RS (PS3.18 10.5): Part-10 parts in, one commit per study, the response document.

Every part goes into one ingest session; nothing is committed until the
whole body has been read without a framing error, so a malformed request
changes nothing. Each instance that cannot be stored is reported in the
FailedSOPSequence with a FailureReason and the others are committed (all
instances of one study together). An identical re-send is a success; other
content under a stored SOP Instance UID fails that instance (the engine's
:class:`~mintstore.errors.DuplicateInstance`).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import parse_options_header

from mintstore.errors import DuplicateInstance, InvalidInput
from mintstore.multipart.reader import Headers, Part, iter_parts
from mintstore.multipart.spool import DEFAULT_SPOOL_LIMITS, RequestSpool, SpoolLimits
from mintstore.store import Actor, IngestSession

from .media import DICOM, DICOM_JSON
from .reads import StoreReads
from .stow_json import json_instances

#: FailureReason values (PS3.4 Annex GG / PS3.7 C).
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
SOP_CLASS_NOT_SUPPORTED = 0x0122
DATASET_MISMATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000


@dataclass
class Outcome:
    """One part's fate."""

    sop_class: str | None
    sop_instance: str | None
    study: str | None = None
    series: str | None = None
    failure: int | None = None
    reason: str = ""


@dataclass
class StowResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def status(self) -> int:
        stored = [o for o in self.outcomes if o.failure is None]
        if not stored:
            return 409
        return 200 if len(stored) == len(self.outcomes) else 202


def _parts(
    content_type: str, stream: IO[bytes], spool_dir: str | None, spool: RequestSpool
) -> Iterator[Part | Outcome]:
    mimetype, options = parse_options_header(content_type)
    mimetype = mimetype.lower()
    if mimetype == DICOM:
        body = tempfile.SpooledTemporaryFile(max_size=1024 * 1024, dir=spool_dir)  # noqa: SIM115 - closed by the caller's stack
        size = 0
        while chunk := stream.read(1024 * 1024):
            body.write(chunk)
            size += len(chunk)
        body.seek(0)
        yield Part(Headers({"Content-Type": DICOM}), body, size)
        return
    if mimetype != "multipart/related":
        raise UnsupportedMediaType(
            f'STOW-RS takes multipart/related; type="application/dicom", not {mimetype or "(none)"}'
        )
    part_type = options.get("type", DICOM).lower()
    if part_type not in (DICOM, DICOM_JSON):
        raise UnsupportedMediaType(f"STOW-RS parts of type {part_type!r} are not accepted")
    # The request's spool: parts in memory while its allowance lasts, then in
    # one file, so a large STOW holds a bounded amount of memory.
    parts = iter_parts(stream, _boundary(options), spool_dir, spool)
    if part_type == DICOM_JSON:
        yield from _from_json(parts)
        return
    yield from parts


def _from_json(parts: Iterator[Part]) -> Iterator[Part | Outcome]:
    """DICOM JSON + bulk parts as Part-10 parts (a dataset that cannot be made is
    reported as a failed instance with its reason)."""
    read: list[Part] = []
    try:
        read.extend(parts)
        for made in json_instances(read):
            if isinstance(made, InvalidInput):
                yield Outcome(None, None, failure=CANNOT_UNDERSTAND, reason=str(made))
            else:
                yield made
    finally:
        for part in read:
            part.body.close()


#: RFC 2046 allows 70 characters; Orthanc 1.10 sends 73, so up to 200 are taken.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,200}")


def _boundary(options: dict[str, str]) -> str:
    boundary = options.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary) or boundary.endswith(" "):
        raise InvalidInput("multipart body without a valid boundary parameter")
    return boundary


def _outcome_of(dataset: Any) -> Outcome:
    """The instance's identity, as the response names it."""
    return Outcome(
        str(dataset.get("SOPClassUID", "")) or None,
        str(dataset.get("SOPInstanceUID", "")) or None,
        str(dataset.get("StudyInstanceUID", "")) or None,
        str(dataset.get("SeriesInstanceUID", "")) or None,
    )


def store_body(
    reads: StoreReads,
    content_type: str,
    stream: IO[bytes],
    actor: Actor,
    *,
    study_uid: str | None,
    spool_dir: str | None = None,
    spool_limits: SpoolLimits = DEFAULT_SPOOL_LIMITS,
) -> StowResult:
    """Read the request body, store what can be stored, commit, report.

    An instance under a stored SOP Instance UID with other content follows
    the engine's duplicate policy (``[store] duplicates``): refused (0111H)
    or committed in the new version, the old content kept in history.
    """
    result = StowResult()
    spool = RequestSpool(spool_dir, spool_limits)
    with closing(spool), reads.begin_ingest() as session:
        for part in _parts(content_type, stream, spool_dir, spool):
            if isinstance(part, Outcome):  # a JSON dataset that could not be made
                result.outcomes.append(part)
                continue
            try:
                result.outcomes.append(_store_part(session, part, study_uid))
            finally:
                # Its items are with the uploader (file-backed ones already
                # written): release the part, so the spool's memory serves the
                # next one and a large request never holds all of its parts.
                part.body.close()
        if not result.outcomes:
            raise InvalidInput("the STOW-RS request holds no parts")
        if any(o.failure is None for o in result.outcomes):
            session.commit(actor)
    return result


def _store_part(session: IngestSession, part: Part, study_uid: str | None) -> Outcome:
    if part.content_type not in (DICOM, "", "application/octet-stream"):
        return Outcome(
            None, None, failure=CANNOT_UNDERSTAND, reason=f"part of type {part.content_type!r}"
        )
    try:
        # Parsed once: the UIDs are checked on the dataset that is then stored.
        dataset = session.read_part10(cast(BinaryIO, part.body))
    except InvalidInput as invalid:
        return Outcome(None, None, failure=CANNOT_UNDERSTAND, reason=f"not a DICOM file: {invalid}")
    outcome = _outcome_of(dataset)
    if not outcome.sop_instance or not outcome.study:
        outcome.failure = CANNOT_UNDERSTAND
        outcome.reason = "the instance has no SOP Instance UID or Study Instance UID"
        return outcome
    if study_uid is not None and outcome.study != study_uid:
        outcome.failure = DATASET_MISMATCH
        outcome.reason = f"the instance belongs to study {outcome.study}, not {study_uid}"
        return outcome
    try:
        session.add_dataset(dataset)
    except DuplicateInstance as duplicate:
        outcome.failure = DUPLICATE_SOP_INSTANCE
        outcome.reason = str(duplicate)
    except InvalidInput as invalid:
        outcome.failure = CANNOT_UNDERSTAND
        outcome.reason = str(invalid)
    return outcome


def _uid_value(tag: int, value: str) -> str:
    return f'"{tag:08X}":{{"vr":"UI","Value":{json.dumps([value])}}}'


def response_document(
    result: StowResult, study_url: str | None, instance_url: Callable[[Outcome], str]
) -> str:
    """The PS3.18 Table 10.5.3-1 response as DICOM JSON."""
    referenced: list[str] = []
    failed: list[str] = []
    for outcome in result.outcomes:
        entries = []
        if outcome.sop_class:
            entries.append(_uid_value(0x00081150, outcome.sop_class))
        if outcome.sop_instance:
            entries.append(_uid_value(0x00081155, outcome.sop_instance))
        if outcome.failure is None:
            url = instance_url(outcome)
            entries.append(f'"00081190":{{"vr":"UR","Value":{json.dumps([url])}}}')
            referenced.append("{" + ",".join(entries) + "}")
        else:
            entries.append(f'"00081197":{{"vr":"US","Value":[{outcome.failure}]}}')
            if outcome.reason:
                # Not part of the standard's table; clients ignore it and a
                # human reading the answer learns why (ErrorComment, 0000,0902).
                comment = outcome.reason[:1024]
                entries.append(f'"00000902":{{"vr":"LO","Value":{json.dumps([comment])}}}')
            failed.append("{" + ",".join(entries) + "}")
    members = []
    if study_url is not None:
        members.append(f'"00081190":{{"vr":"UR","Value":{json.dumps([study_url])}}}')
    if failed:
        members.append('"00081198":{"vr":"SQ","Value":[' + ",".join(failed) + "]}")
    if referenced:
        members.append('"00081199":{"vr":"SQ","Value":[' + ",".join(referenced) + "]}")
    return "{" + ",".join(members) + "}"
