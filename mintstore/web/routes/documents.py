"""Type documents of a study: summary and metadata in every variant, per-study change log.

``metadata``/``summary`` come as ``.xml``, ``.xml.gz``, ``.gpb``, ``.gpb.gz``,
``.json``, ``.json.gz`` (no extension = XML); ``?version=N`` reads an earlier
version. Documents are small (no binary content), so they are encoded whole.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from mintstore import formats
from mintstore.errors import InvalidInput, ItemNotFound

from .. import context
from ..params import parse_version
from ..pinning import open_version, set_validators
from ..responses import document, iso
from ..study_types import check_type
from ..uids import validate_uid

blueprint = Blueprint("documents", __name__)


def _variant(name: str) -> tuple[str, bool]:
    try:
        fmt, gzipped = formats.parse_variant(name)
    except InvalidInput as exc:
        raise ItemNotFound(f"no document {name[:40]!r}") from exc
    return fmt, gzipped


def _send(data: bytes, fmt: str, gzipped: bool) -> Response:
    return Response(data, mimetype=formats.Variant(fmt, gzipped).content_type)


def _document(study: str, kind: str, ext: str) -> BaseResponse:
    """metadata or summary of a version, encoded once per document and variant (cached)."""
    fmt, gzipped = _variant(kind + ("." + ext if ext else ""))
    version = open_version(study)
    encode = formats.encode if kind == "metadata" else formats.encode_summary

    def build() -> bytes:
        return encode(version.metadata(), fmt, gzip=gzipped)

    key = (study, version.version, kind, fmt, gzipped)
    response = _send(context.document_cache().get_or_build(key, build), fmt, gzipped)
    set_validators(response, version)
    return response.make_conditional(request)


@blueprint.get("/studies/<study>/<type_name>/metadata")
@blueprint.get("/studies/<study>/<type_name>/metadata.<ext>")
def metadata(study: str, type_name: str, ext: str = "") -> BaseResponse:
    """The full metadata document of the current (or ``?version=``) version."""
    check_type(type_name)
    return _document(study, "metadata", ext)


@blueprint.get("/studies/<study>/<type_name>/summary")
@blueprint.get("/studies/<study>/<type_name>/summary.<ext>")
def summary(study: str, type_name: str, ext: str = "") -> BaseResponse:
    """Study attributes plus every series' attributes and instance counts."""
    check_type(type_name)
    return _document(study, "summary", ext)


@blueprint.get("/studies/<study>/changelog")
@blueprint.get("/studies/<study>/<type_name>/changeLog")
def study_changelog(study: str, type_name: str = "DICOM") -> Response:
    """Every committed change of the study."""
    validate_uid(study, "study UID")
    check_type(type_name)
    changes = context.store().study_changes(study)
    return document(
        "changelog",
        {"studyUUID": study},
        [
            (
                "change",
                {
                    "changeNumber": change.number,
                    "type": change.type,
                    "dateTime": iso(change.time),
                    "operation": change.operation,
                    "remoteHost": change.host,
                    "remoteUser": change.user,
                    "protocol": change.protocol,
                },
            )
            for change in changes
        ],
        child_tag="change",
    )


@blueprint.get("/studies/<study>/changelog/<change>")
def change_payload(study: str, change: str) -> BaseResponse:
    """What change ``n`` uploaded (create payload or delta), in any metadata variant."""
    validate_uid(study, "study UID")
    number_text, dot, ext = change.partition(".")
    number = parse_version(number_text, "change number")
    fmt, gzipped = _variant("metadata" + (dot + ext if dot else ""))
    payload = context.store().change_payload(study, number)
    response = _send(formats.encode(payload, fmt, gzip=gzipped), fmt, gzipped)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
