"""Ingesting an upload request: the body read part by part into one ingest session.

Shared by ``POST /studies/create`` and the RI's job API, which answers the
same upload with a job record instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from mintstore.errors import InvalidInput
from mintstore.model import Study
from mintstore.store import CommitResult

from . import context
from .input_limits import InputLimits
from .upload import BinaryItem, MetadataDocument, Part10, UploadReader


def ingest_request(on_study: Callable[[str], None] | None = None) -> list[CommitResult]:
    """Ingest the current request's body (Part-10 parts and/or MINT parts) and commit.

    ``on_study`` hears each study UID as soon as the body names it (a job
    records it, so even a failed job says which study it was about).
    """
    config = context.config()
    heard = on_study if on_study is not None else (lambda _: None)
    reader = UploadReader(
        accept_part10=True,
        max_metadata_bytes=config.max_metadata_bytes,
        spool_dir=config.spool_dir,
        limits=config.component(InputLimits),
    )
    with reader, context.store().begin_ingest() as session:
        metadata: Study | None = None
        items: dict[int, Callable[[], BinaryIO]] = {}
        instances = 0
        for part in reader.parts():
            if isinstance(part, Part10):
                heard(session.add_part10(part.body))
                instances += 1
                # Parsed and its items handed to the uploader: release it now,
                # so the request's in-memory spool allowance serves the next
                # part instead of every later part going through a temp file.
                part.body.close()
            elif isinstance(part, MetadataDocument):
                metadata = part.study
                heard(metadata.study_instance_uid)
            elif isinstance(part, BinaryItem):
                items[part.bid] = part.item.open
        if metadata is not None:
            session.add_mint(metadata, items)
        elif items:
            raise InvalidInput("binary parts were sent without a metadata part")
        elif instances == 0:
            raise InvalidInput("the upload contains no DICOM instance and no MINT metadata")
        return session.commit(context.actor())
