"""Creating and appending studies: ``POST /studies/create``.

The response is sent only after the engine's commit returned, so a 201 means
the data is durable (MINT's inherent storage commitment).
"""

from __future__ import annotations

from flask import Blueprint, Response

from .. import context
from ..ingesting import ingest_request
from ..responses import document

blueprint = Blueprint("create", __name__)


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
