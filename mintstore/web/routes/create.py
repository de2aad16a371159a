"""Creating and appending studies: ``POST /studies/create``.

The response is sent only after the engine's commit returned, so a 201 means
the data is durable (MINT's inherent storage commitment).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import BinaryIO

from flask import Blueprint, Response

from mintstore.errors import InvalidInput
from mintstore.store import CommitResult

from .. import context
from ..responses import document
from ..upload import read_upload

blueprint = Blueprint("create", __name__)


def ingest_request(on_study: Callable[[str], None] | None = None) -> list[CommitResult]:
    """Ingest the current request's body (Part-10 parts and/or MINT parts) and commit.

    ``on_study`` hears each study UID as soon as the body names it (a job
    records it, so even a failed job says which study it was about).
    """
    config = context.config()
    heard = on_study if on_study is not None else (lambda _: None)
    with ExitStack() as cleanup, context.store().begin_ingest() as session:

        def add_part10(stream: BinaryIO) -> None:
            heard(session.add_part10(stream))

        upload = read_upload(
            add_part10,
            cleanup,
            max_metadata_bytes=config.max_metadata_bytes,
            spool_dir=config.spool_dir,
        )
        if upload.metadata is not None:
            heard(upload.metadata.study_instance_uid)
            session.add_mint(upload.metadata, upload.openers())
        elif upload.items:
            raise InvalidInput("binary parts were sent without a metadata part")
        elif upload.part10_count == 0:
            raise InvalidInput("the upload contains no DICOM instance and no MINT metadata")
        return session.commit(context.actor())


@blueprint.post("/studies/create")
def create_studies() -> Response:
    """Create or append studies; 201 with each study's UID and version."""
    results = ingest_request()
    base = context.base_url()
    response = document(
        "studiesCreated",
        {"count": len(results)},
        [
            (
                "study",
                {
                    "studyUUID": result.study_uid,
                    "version": result.version,
                    "created": result.created,
                    "changed": result.changed,
                },
            )
            for result in results
        ],
        status=201,
    )
    if results:
        response.headers["Location"] = f"{base}/studies/{results[0].study_uid}"
    return response
