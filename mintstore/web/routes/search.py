"""Search (``GET /studies``, alias ``/studies/search``) and the system change log.

Parameter names are matched case-insensitively against every spelling the RI
and the seed used; an unknown name is a 400 (a typo must not silently widen
a search to "everything").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, Response, request

from mintstore.errors import InvalidInput
from mintstore.store import SearchQuery

from .. import context
from ..params import parse_continuation, parse_int
from ..responses import document, iso

blueprint = Blueprint("search", __name__)

#: Every accepted spelling (lower-cased) -> the SearchQuery field it sets.
SEARCH_PARAMETERS: dict[str, str] = {
    "studyinstanceuid": "study_instance_uid",
    "studyuid": "study_instance_uid",
    "patientid": "patient_id",
    "patientidissuer": "patient_id_issuer",
    "issuerofpatientid": "patient_id_issuer",
    "accessionnumber": "accession_number",
    "accessionnumberissuer": "accession_number_issuer",
    "issuerofaccessionnumber": "accession_number_issuer",
    "modalitiesinstudy": "modalities_in_study",
    "modalitytypes": "modalities_in_study",
    "minstudydate": "min_study_date",
    "maxstudydate": "max_study_date",
    "minstudydatetime": "min_study_date_time",
    "maxstudydatetime": "max_study_date_time",
    "limit": "limit",
    "offset": "offset",
    "continuation": "continuation",
}
_DATE = re.compile(r"[0-9]{8}")
_INTEGER_FIELDS = frozenset({"limit", "offset"})
MAX_LIMIT = 10_000


#: Largest offset into a result list (nothing real pages a billion rows deep).
MAX_OFFSET = 10**9


def _integer(name: str, raw: str) -> int:
    if name.lower() == "limit":
        return parse_int(raw, name, minimum=1, maximum=MAX_LIMIT)
    return parse_int(raw, name, maximum=MAX_OFFSET)


def parse_search_query() -> SearchQuery:
    """The request's query string as a SearchQuery; 400 on unknown or bad parameters."""
    values: dict[str, object] = {}
    for name, raw in request.args.items(multi=True):
        field = SEARCH_PARAMETERS.get(name.lower())
        if field is None:
            raise InvalidInput(
                f"unknown search parameter {name[:60]!r}; known: "
                + ", ".join(
                    sorted(
                        {
                            "studyInstanceUID",
                            "patientID",
                            "patientIDIssuer",
                            "accessionNumber",
                            "accessionNumberIssuer",
                            "modalitiesInStudy",
                            "minStudyDate",
                            "maxStudyDate",
                            "minStudyDateTime",
                            "maxStudyDateTime",
                            "limit",
                            "offset",
                            "continuation",
                        }
                    )
                )
            )
        if raw == "":
            continue  # the RI's client sends patientID= when it has none
        if field in values:
            raise InvalidInput(f"search parameter {name!r} given twice")
        if field in _INTEGER_FIELDS:
            values[field] = _integer(field, raw)
        elif field == "continuation":
            values[field] = parse_continuation(raw)
        elif field == "modalities_in_study":
            values[field] = tuple(m.strip().upper() for m in raw.split(",") if m.strip())
        elif field in ("min_study_date", "max_study_date"):
            if not _DATE.fullmatch(raw):
                raise InvalidInput(f"{name} must be yyyyMMdd, not {raw[:40]!r}")
            values[field] = raw
        elif field in ("min_study_date_time", "max_study_date_time"):
            try:
                datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidInput(f"{name} must be ISO-8601 (basic or extended)") from exc
            values[field] = raw
        else:
            values[field] = raw
    return SearchQuery(**values)  # type: ignore[arg-type]


@blueprint.get("/studies")
@blueprint.get("/studies/search")
def search() -> Response:
    """studySearchResults (XML) or JSON, with a continuation token when more remain."""
    page = context.store().search(parse_search_query())
    return document(
        "studySearchResults",
        {"count": len(page.results), "continuation": page.continuation},
        [
            (
                "study",
                {
                    "studyUUID": hit.study_uid,
                    "version": hit.version,
                    "lastModified": iso(hit.last_modified),
                },
            )
            for hit in page.results
        ],
        child_tag="study",
    )


_CHANGELOG_PARAMETERS = frozenset({"since", "limit", "offset", "continuation"})


@blueprint.get("/changelog")
@blueprint.get("/studies/changeLog")
def system_changelog() -> Response:
    """Every commit of the store in order; paging by token never skips or repeats."""
    unknown = {name for name in request.args if name.lower() not in _CHANGELOG_PARAMETERS}
    if unknown:
        raise InvalidInput(f"unknown change log parameter(s): {', '.join(sorted(unknown))[:200]}")
    args = {name.lower(): value for name, value in request.args.items()}
    since = None
    if args.get("since"):
        try:
            since = datetime.fromisoformat(args["since"].replace("Z", "+00:00"))
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)  # the RI's clients send UTC without a zone
        except ValueError as exc:
            raise InvalidInput(
                f"since must be an ISO-8601 time, not {args['since'][:40]!r}"
            ) from exc
    limit = _integer("limit", args["limit"]) if args.get("limit") else 100
    offset = _integer("offset", args["offset"]) if args.get("offset") else 0
    page = context.store().system_changes(
        since=since,
        continuation=parse_continuation(args.get("continuation")),
        limit=limit,
        offset=offset,
    )
    return document(
        "changelog",
        {"continuation": page.continuation},
        [
            (
                "change",
                {
                    "sequence": change.sequence,
                    "studyUUID": change.study_uid,
                    "changeNumber": change.version,
                    "type": change.type,
                    "dateTime": iso(change.time),
                    "operation": change.operation,
                    "remoteHost": change.host,
                    "remoteUser": change.user,
                    "protocol": change.protocol,
                },
            )
            for change in page.changes
        ],
        child_tag="change",
    )
