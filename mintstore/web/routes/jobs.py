"""The RI's job API: ``/jobs/createstudy``, ``/jobs/updatestudy``, ``/jobs/status/{job}``.

DICOM2MINT posts a multipart form and follows a 303 to the job status. Jobs
run within the request (the answer comes after the commit), and their record
is kept in the bucket as ``jobs/<job>.json`` so any server on the same bucket
can answer the status, and a failure keeps its reason. The record is written
once, when the job has finished (the client learns the job id only from the
303 that follows), with create-if-absent: a retried write can never put an
older state over a newer one. ``gc`` removes records older than the store's
``job_retention``.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, redirect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from mintstore.adapters.base import ObjectStore, PutMode
from mintstore.errors import (
    AlreadyExists,
    InvalidInput,
    ItemNotFound,
    MintError,
    NotFound,
    StoreUnavailable,
)
from mintstore.model import Study
from mintstore.store.layout import job_key

from .. import context
from ..responses import document, iso
from ..uids import validate_uid
from ..upload import read_upload
from .create import ingest_request

blueprint = Blueprint("jobs", __name__)


@dataclass(frozen=True)
class JobRecord:
    """One job as stored in ``jobs/<job>.json``."""

    job_id: str
    status: str  # IN_PROGRESS | SUCCESS | FAILED
    created: str
    updated: str
    study_uid: str | None = None
    version: int | None = None
    reason: str | None = None


def _objects() -> ObjectStore:
    objects: ObjectStore = current_app.extensions["mintstore.objects"]
    return objects


def _save(job: JobRecord) -> None:
    """Write the finished job's record, retrying transient store failures a little:
    the job's work (maybe a commit) is done, and its answer is this record."""
    data = json.dumps(asdict(job)).encode()
    for pause in (0.1, 0.5, 2.0, None):
        try:
            _objects().put(job_key(job.job_id), data, mode=PutMode.CREATE)
            return
        except AlreadyExists:
            return  # job ids are random: only our own earlier attempt can be there
        except StoreUnavailable:
            if pause is None:
                raise
            time.sleep(pause)


def _load(job_id: str) -> JobRecord:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidInput(f"{job_id[:80]!r} is not a job id") from exc
    try:
        data = _objects().get_bytes(job_key(parsed.hex))
    except NotFound as exc:
        raise ItemNotFound(f"no job {job_id}") from exc
    return JobRecord(**json.loads(data))


def _now() -> str:
    return iso(datetime.now(UTC))


def _run_job(work: str) -> BaseResponse:
    now = _now()
    job = JobRecord(job_id=uuid.uuid4().hex, status="IN_PROGRESS", created=now, updated=now)
    try:
        if work == "create":
            results = ingest_request()
            first = results[0] if results else None
            job = replace(
                job,
                status="SUCCESS",
                study_uid=first.study_uid if first else None,
                version=first.version if first else None,
            )
        else:
            study_uid, version = _update_full_study()
            job = replace(job, status="SUCCESS", study_uid=study_uid, version=version)
    except MintError as error:
        job = replace(job, status="FAILED", reason=f"{type(error).__name__}: {error}")
    except HTTPException as error:
        # Oversize or unsupported bodies are answered with their own status,
        # but the job must not stay IN_PROGRESS forever.
        _save(replace(job, status="FAILED", reason=error.description, updated=_now()))
        raise
    except Exception as error:
        _save(
            replace(
                job,
                status="FAILED",
                reason=f"internal error: {type(error).__name__}",
                updated=_now(),
            )
        )
        raise
    job = replace(job, updated=_now())
    _save(job)
    response = redirect(f"status/{job.job_id}", code=303)
    # A relative Location is what the RI answered and what its clients follow.
    response.autocorrect_location_header = False
    return response


def _update_full_study() -> tuple[str, int]:
    """DICOM2MINT's update: the FULL study with the new instances, guarded by oldVersion."""
    config = context.config()
    store = context.store()
    with ExitStack() as cleanup:
        upload = read_upload(
            None, cleanup, max_metadata_bytes=config.max_metadata_bytes, spool_dir=config.spool_dir
        )
        study_uid = validate_uid(upload.fields.get("studyUUID", ""), "studyUUID")
        old_version = upload.fields.get("oldVersion", "")
        if not old_version.isdigit():
            raise InvalidInput("updatestudy needs an integer oldVersion field")
        metadata: Study | None = upload.metadata
        if metadata is None:
            raise InvalidInput("updatestudy needs a metadata part")
        if metadata.study_instance_uid != study_uid:
            raise InvalidInput("the metadata's studyInstanceUID differs from studyUUID")
        result = store.merge_full_study(
            metadata, upload.openers(), old_version=int(old_version), actor=context.actor()
        )
        return study_uid, result.version


@blueprint.post("/jobs/createstudy")
def create_study_job() -> BaseResponse:
    """RI-compatible create: runs the ingest, answers 303 to the job status."""
    return _run_job("create")


@blueprint.post("/jobs/updatestudy")
def update_study_job() -> BaseResponse:
    """RI-compatible update (full study with new instances, merged)."""
    return _run_job("update")


@blueprint.get("/jobs/status/<job_id>")
def job_status(job_id: str) -> Response:
    """The jobStatus document, with the failure reason when the job failed."""
    job = _load(job_id)
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
