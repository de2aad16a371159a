"""The RI's job API: ``/jobs/createstudy``, ``/jobs/updatestudy``, ``/jobs/status/{job}``.

DICOM2MINT posts a multipart form and follows a 303 to the job status. Jobs
run within the request (the answer comes after the commit), and their record
is kept in the bucket as ``jobs/<job>.json`` so any server on the same bucket
can answer the status, and a failure keeps its reason. The record is written
once, when the job has finished (the client learns the job id only from the
303 that follows), with create-if-absent: a retried or delayed write can
never put an older state over a newer one. ``gc`` removes records older than
the store's ``job_retention``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from flask import Blueprint, Response, redirect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from mintstore.errors import InvalidInput, MintError
from mintstore.model import Study
from mintstore.store import JobRecord, new_job_id

from .. import context
from ..ingesting import ingest_request
from ..input_limits import InputLimits
from ..params import parse_version
from ..responses import document, iso
from ..uids import validate_uid
from ..upload import UploadReader

blueprint = Blueprint("jobs", __name__)


def _now() -> str:
    return iso(datetime.now(UTC))


class _Learned:
    """What a running job has learned so far (the study it is about)."""

    def __init__(self) -> None:
        self.study_uid: str | None = None

    def study(self, uid: str) -> None:
        if self.study_uid is None:
            self.study_uid = uid


def _run_job(work: Callable[[_Learned], tuple[str | None, int | None]]) -> BaseResponse:
    store = context.store()
    now = _now()
    job = JobRecord(job_id=new_job_id(), status="IN_PROGRESS", created=now, updated=now)
    learned = _Learned()
    try:
        study_uid, version = work(learned)
        job = replace(job, status="SUCCESS", study_uid=study_uid, version=version)
    except MintError as error:
        reason = f"{type(error).__name__}: {error}"
        job = replace(job, status="FAILED", study_uid=learned.study_uid, reason=reason)
    except HTTPException as error:
        # Oversize or unsupported bodies are answered with their own status,
        # but the job must not stay IN_PROGRESS forever.
        failed = replace(job, status="FAILED", study_uid=learned.study_uid)
        store.save_job(replace(failed, reason=error.description, updated=_now()))
        raise
    except Exception as error:
        reason = f"internal error: {type(error).__name__}"
        failed = replace(job, status="FAILED", study_uid=learned.study_uid, reason=reason)
        store.save_job(replace(failed, updated=_now()))
        raise
    job = replace(job, updated=_now())
    store.save_job(job)
    response = redirect(f"status/{job.job_id}", code=303)
    # A relative Location is what the RI answered and what its clients follow.
    response.autocorrect_location_header = False
    return response


def _create(learned: _Learned) -> tuple[str | None, int | None]:
    results = ingest_request(learned.study)
    first = results[0] if results else None
    return (first.study_uid, first.version) if first else (None, None)


def _update_full_study(learned: _Learned) -> tuple[str | None, int | None]:
    """DICOM2MINT's update: the FULL study with the new instances, guarded by oldVersion."""
    config = context.config()
    store = context.store()
    reader = UploadReader(
        accept_part10=False,
        max_metadata_bytes=config.max_metadata_bytes,
        spool_dir=config.spool_dir,
        limits=config.component(InputLimits),
    )
    with reader:
        upload = reader.gather()
        study_uid = validate_uid(upload.fields.get("studyUUID", ""), "studyUUID")
        learned.study(study_uid)
        old_version = parse_version(upload.fields.get("oldVersion", ""), "oldVersion field")
        metadata: Study | None = upload.metadata
        if metadata is None:
            raise InvalidInput("updatestudy needs a metadata part")
        if metadata.study_instance_uid != study_uid:
            raise InvalidInput("the metadata's studyInstanceUID differs from studyUUID")
        result = store.merge_full_study(
            metadata, upload.openers(), old_version=old_version, actor=context.actor()
        )
        return study_uid, result.version


@blueprint.post("/jobs/createstudy")
def create_study_job() -> BaseResponse:
    """RI-compatible create: runs the ingest, answers 303 to the job status."""
    return _run_job(_create)


@blueprint.post("/jobs/updatestudy")
def update_study_job() -> BaseResponse:
    """RI-compatible update (full study with new instances, merged)."""
    return _run_job(_update_full_study)


@blueprint.get("/jobs/status/<job_id>")
def job_status(job_id: str) -> Response:
    """The jobStatus document, with the failure reason when the job failed."""
    job = context.store().load_job(job_id)
    return document(
        "jobStatus",
        {
            "jobID": job.job_id,
            "studyUUID": job.study_uid,
            "jobStatus": job.status,
            "jobCreated": job.created,
            "jobUpdated": job.updated,
            "version": job.version,
        },
        text_children=[("reason", job.reason)] if job.reason else (),
    )
