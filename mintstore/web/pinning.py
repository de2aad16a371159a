"""Resolving a request's study version once, and the caching headers it earns.

Every read route opens one :class:`~mintstore.store.StudyVersion` here and
reads everything from it. ``?version=N`` names a version that can never
change: its responses are ``Cache-Control: immutable``. A latest-version
response carries the version's ETag with ``no-cache``, so a client revalidates
(and gets a 304 while nothing was committed).
"""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response as BaseResponse

from mintstore.store import StudyVersion

from . import context
from .params import parse_version
from .uids import validate_uid

IMMUTABLE = "public, max-age=31536000, immutable"


def requested_version() -> int | None:
    """``?version=N`` of this request (None = the latest)."""
    raw = request.args.get("version")
    if raw is None:
        return None
    return parse_version(raw, "version")


def open_version(study: str) -> StudyVersion:
    """The version this request reads: resolved once, used for every byte sent."""
    validate_uid(study, "study UID")
    return context.store().open_version(study, requested_version())


def set_validators(response: BaseResponse, version: StudyVersion, etag: str | None = None) -> None:
    """ETag (the version's unless given) and the Cache-Control the version allows."""
    response.headers["ETag"] = etag if etag is not None else version.etag
    response.headers["Cache-Control"] = IMMUTABLE if version.pinned else "no-cache"
