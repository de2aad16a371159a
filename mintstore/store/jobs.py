"""Job records of the RI's job API, kept in the bucket (``jobs/<id>.json``).

DICOM2MINT posts a job and polls its status, possibly through another
server on the same bucket, so the record lives beside the studies. A job's
record is saved once, when the job has finished, with create-if-absent: a
retried or delayed write can never put an older state over a newer one, and
an ``AlreadyExists`` can only be our own earlier attempt (job ids are random).
``gc`` deletes records older than ``StoreConfig.job_retention``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    ItemNotFound,
    NotFound,
    StoreUnavailable,
)

from .layout import job_key


@dataclass(frozen=True)
class JobRecord:
    """One job's state: IN_PROGRESS, SUCCESS or FAILED (with its reason)."""

    job_id: str
    status: str
    created: str
    updated: str
    study_uid: str | None = None
    version: int | None = None
    reason: str | None = None


def new_job_id() -> str:
    return uuid.uuid4().hex


def save_job(objects: ObjectStore, job: JobRecord) -> None:
    """Write a finished job's record, retrying transient store failures a little:
    the job's work (maybe a commit) is done, and this record is its answer."""
    data = json.dumps(asdict(job)).encode()
    for pause in (0.1, 0.5, 2.0, None):
        try:
            objects.put(job_key(job.job_id), data, mode=PutMode.CREATE)
            return
        except AlreadyExists:
            return  # only our own earlier attempt can be there
        except StoreUnavailable:
            if pause is None:
                raise
            time.sleep(pause)


def load_job(objects: ObjectStore, job_id: str) -> JobRecord:
    """The job's record (InvalidInput for a malformed id, ItemNotFound for an unknown one)."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidInput(f"{job_id[:80]!r} is not a job id") from exc
    try:
        data = objects.get_bytes(job_key(parsed.hex))
    except NotFound as exc:
        raise ItemNotFound(f"no job {job_id}") from exc
    try:
        return JobRecord(**json.loads(data))
    except (ValueError, TypeError) as exc:
        raise IntegrityError(f"unreadable job record {parsed.hex}: {exc}") from exc
