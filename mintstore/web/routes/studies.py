"""A study as a resource: its root, series, instances, deletion, locks, updates, copies.

``/studies/{study}/{x}`` and ``/studies/{study}/{x}/{y}`` are shared between
series/instances (UIDs) and type documents (``DICOM/...``); Flask's static
rules (``changelog``, ``lock``, ``metadata``...) win over these, and what
remains is told apart by whether the segment is a UID.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, cast

from flask import Blueprint, Response, request, stream_with_context

from mintstore import formats
from mintstore.errors import InvalidInput, ItemNotFound
from mintstore.model import Study
from mintstore.multipart import (
    OutPart,
    iter_multipart,
    multipart_length,
    new_boundary,
    related_content_type,
)
from mintstore.store import StudyVersion, version_etag

from .. import context
from ..auth import require_scope
from ..browser import study_page
from ..copy_action import copy_or_move
from ..input_limits import InputLimits
from ..negotiate import accepts, prefers_json, wants_html
from ..params import parse_if_match, parse_lock_token, parse_version
from ..pinning import open_version, set_validators
from ..prefetch import cheap_content_ids, prefetched
from ..responses import document, iso
from ..uids import validate_uid
from ..upload import UploadReader
from ..zip_stream import ZipStream

blueprint = Blueprint("studies", __name__)


__all__ = ["blueprint", "series_slice", "version_etag"]


@blueprint.get("/studies/<study>")
def study_root(study: str) -> Response:
    """studyRoot; or the whole study (multipart/related) or its Part-10 files (ZIP)."""
    version = open_version(study)
    if accepts("multipart/related"):
        response = _whole_study(version)
    elif accepts("application/zip"):
        response = _study_zip(version)
    elif wants_html():
        return study_page(context.base_url(), version.info(), version.metadata())
    else:
        response = document(
            "studyRoot",
            {"studyUUID": study, "lastUpdate": iso(version.time), "version": version.version},
            text_children=[("type", version.type)],
        )
    set_validators(response, version)
    return response


def _whole_study(version: StudyVersion) -> Response:
    """Metadata (XML) then every binary item, in one RFC 2387 message, streamed."""
    study = version.study_uid
    encoded = context.document_cache().get_or_build(
        (study, version.version, "metadata", "xml", False),
        lambda: formats.encode(version.metadata(), "xml"),
    )
    boundary = new_boundary()

    parts = [
        OutPart("application/xml", f"metadata@{study}", len(encoded), lambda: io.BytesIO(encoded))
    ]
    for bid, size, opener in version.iter_items():
        parts.append(OutPart("application/octet-stream", f"{bid}@{study}", size, opener))
    # Items already checked once in this process are read inline (cheap
    # checksum); the others ahead on a thread (SHA-256 on the second core).
    inline = {f"metadata@{study}", *cheap_content_ids(version)}
    body = stream_with_context(iter_multipart(prefetched(parts, inline), boundary, crlf=True))
    response = Response(body, content_type=related_content_type(boundary, "application/xml"))
    response.content_length = multipart_length(parts, boundary, crlf=True)
    return response


#: The ZIP response is handed to the server in pieces of about this size.
_ZIP_CHUNK = 64 * 1024


def _study_zip(version: StudyVersion) -> Response:
    """A ZIP of Part-10 files, one instance at a time (no whole study in memory)."""
    instances = version.instances()
    write_instance = version.instance_files()  # shared elements encoded once

    def generate() -> Iterator[bytes]:
        archive = ZipStream()
        for series_uid, sop_uid in instances:
            archive.begin(f"{series_uid}/{sop_uid}.dcm")
            write_instance(series_uid, sop_uid, cast(BinaryIO, archive))
            archive.end()
            if archive.pending >= _ZIP_CHUNK:  # one write per ~64 KiB, not per small member
                yield archive.take()
        archive.finish()
        yield archive.take()

    response = Response(stream_with_context(generate()), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{version.study_uid}.zip"'
    return response


def series_slice(metadata: Study, series_uid: str) -> Study:
    """The study reduced to one series (its study attributes kept)."""
    if series_uid not in metadata.series:
        raise ItemNotFound(f"study has no series {series_uid}")
    return Study(
        study_instance_uid=metadata.study_instance_uid,
        type=metadata.type,
        version=metadata.version,
        attributes=metadata.attributes,
        series={series_uid: metadata.series[series_uid]},
    )


@blueprint.get("/studies/<study>/<series>")
def series_document(study: str, series: str) -> Response:
    """One series: its slice of the metadata, XML or JSON."""
    validate_uid(series, "series UID")
    version = open_version(study)
    sliced = series_slice(version.metadata(), series)
    fmt = "json" if prefers_json() else "xml"
    response = Response(formats.encode(sliced, fmt), mimetype=f"application/{fmt}")
    set_validators(response, version)
    return response


@blueprint.get("/studies/<study>/<series>/<sop>")
def instance_part10(study: str, series: str, sop: str) -> Response:
    """One SOP instance rebuilt as a Part-10 file."""
    validate_uid(series, "series UID")
    sop = sop.removesuffix(".dcm")
    validate_uid(sop, "SOP instance UID")
    version = open_version(study)
    buffer = io.BytesIO()
    version.instance_part10(series, sop, buffer)
    response = Response(buffer.getvalue(), mimetype="application/dicom")
    response.headers["Content-Disposition"] = f'attachment; filename="{sop}.dcm"'
    set_validators(response, version)
    return response


@blueprint.delete("/studies/<study>")
def delete_study(study: str) -> Response:
    """Tombstone the study: 204, then 410 on every read."""
    validate_uid(study, "study UID")
    require_scope("admin")
    context.store().delete(study, context.actor())
    return Response(status=204)


@blueprint.post("/studies/<study>")
def study_action(study: str) -> Response:
    """Lock (``?lock=true``), update (``?lock=TOKEN`` or oldVersion/If-Match), copy/move."""
    validate_uid(study, "study UID")
    action = request.args.get("action")
    if action is not None:
        return copy_or_move(study, action, request.args.get("target", ""))
    lock = request.args.get("lock")
    if lock is not None and lock.lower() == "true":
        lease = context.store().acquire_lock(
            study, context.actor().user or request.remote_addr or ""
        )
        return document(
            "lock", {"studyUUID": study, "token": lease.token, "expires": iso(lease.expires)}
        )
    return _update(study, parse_lock_token(lock) if lock is not None else None)


def _requested_old_version(fields: dict[str, str]) -> int | None:
    raw = request.args.get("oldVersion") or fields.get("oldVersion")
    if raw:
        return parse_version(raw, "oldVersion")
    if request.headers.get("If-Match"):
        return parse_if_match(request.headers["If-Match"])
    return None


def _update(study: str, lock_token: str | None) -> Response:
    config = context.config()
    reader = UploadReader(
        accept_part10=False,
        max_metadata_bytes=config.max_metadata_bytes,
        spool_dir=config.spool_dir,
        limits=config.component(InputLimits),
    )
    with reader:
        upload = reader.gather()
        if upload.metadata is None:
            raise InvalidInput("an update needs a metadata delta")
        if upload.metadata.study_instance_uid not in ("", study):
            raise InvalidInput("the delta's studyInstanceUID differs from the URL")
        old_version = _requested_old_version(upload.fields)
        if lock_token is None and old_version is None:
            raise InvalidInput("an update needs ?lock=TOKEN, oldVersion or If-Match")
        if _removes_content(upload.metadata):
            require_scope("admin")  # removing series or instances is a (partial) delete
        result = context.store().update(
            study,
            upload.metadata,
            upload.openers(),
            old_version=old_version,
            lock_token=lock_token,
            actor=context.actor(),
        )
    response = document("studyUpdated", {"studyUUID": study, "version": result.version})
    response.headers["ETag"] = version_etag(result.version)
    return response


def _removes_content(delta: Study) -> bool:
    """True if the delta excludes a whole series or instance."""
    return any(
        series.exclude or any(instance.exclude for instance in series.instances.values())
        for series in delta.series.values()
    )


@blueprint.delete("/studies/<study>/lock")
def release_lock(study: str) -> Response:
    """Release the update lock named by ``?token=``."""
    validate_uid(study, "study UID")
    token = request.args.get("token", "")
    if not token:
        raise InvalidInput("releasing a lock needs ?token=")
    context.store().release_lock(study, parse_lock_token(token))
    return Response(status=204)
