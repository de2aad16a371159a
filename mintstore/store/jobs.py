"""Job records of the RI's job API, kept in the bucket (``jobs/<id>.json``).

DICOM2MINT posts a job and polls its status, possibly through another
server on the same bucket, so the record lives beside the studies. Each
save overwrites the previous state of the job; a job has one writer (the
request running it), so no arbitration is needed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import IntegrityError, InvalidInput, ItemNotFound, NotFound

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
    objects.put(job_key(job.job_id), json.dumps(asdict(job)).encode(), mode=PutMode.OVERWRITE)


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
