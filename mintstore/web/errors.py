"""The one table from mintstore's error hierarchy to HTTP statuses.

Routes raise the domain errors of :mod:`mintstore.errors` (or werkzeug's HTTP
exceptions for purely HTTP matters such as 401/413/415) and never build error
responses themselves; the handlers registered here turn every failure into a
status plus a body that says what is wrong, in XML or JSON per ``Accept``.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mintstore import errors, metrics

from .negotiate import JSON, prefers_json
from .request_log import note_reason
from .xmldoc import child, element, serialize

log = logging.getLogger(__name__)

#: Most specific first: the first class an error is an instance of wins.
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (errors.InvalidInput, 400),
    (errors.StudyNotFound, 404),
    (errors.ItemNotFound, 404),
    (errors.StudyGone, 410),
    (errors.VersionConflict, 409),
    (errors.Locked, 423),
    (errors.LockInvalid, 409),
    (errors.IntegrityError, 500),
    (errors.StoreUnavailable, 503),
    (errors.NotSupported, 501),
    (errors.AccessDenied, 502),
    (errors.StoreError, 502),
    (errors.ConfigurationError, 500),
)


def status_for(error: BaseException) -> int:
    """The HTTP status a mintstore error maps to (500 if it is not in the table)."""
    if isinstance(error, errors.VersionConflict) and request.headers.get("If-Match"):
        return 412  # the client's precondition (an ETag) failed, RFC 9110 13.1.1
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def error_response(status: int, kind: str, message: str) -> Response:
    """An error body in the representation the client prefers."""
    note_reason(message)
    if prefers_json():
        body = json.dumps({"status": status, "error": kind, "message": message})
        return Response(body, status=status, mimetype=JSON)
    root = element("error", {"status": str(status), "type": kind})
    child(root, "message").text = message
    return Response(serialize(root), status=status, mimetype="application/xml")


def _handle_mint_error(error: errors.MintError) -> Response:
    status = status_for(error)
    if isinstance(error, errors.VersionConflict):
        metrics.get().version_conflicts.inc()
    elif isinstance(error, errors.IntegrityError):
        metrics.get().integrity_errors.inc()
    if status >= 500:
        log.error("request %s %s failed: %s", request.method, request.path, error, exc_info=error)
    return error_response(status, type(error).__name__, str(error))


def _handle_http_exception(error: HTTPException) -> Response:
    if error.response is not None:  # abort(response): a ready answer, e.g. a redirect
        return error.response  # type: ignore[return-value]
    status = error.code or 500
    response = error_response(status, type(error).__name__, error.description or error.name)
    original = error.get_response()
    for header in ("WWW-Authenticate", "Allow", "Retry-After", "Location"):
        if header in original.headers:
            response.headers[header] = original.headers[header]
    return response


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unexpected failure in %s %s", request.method, request.path)
    return error_response(500, "InternalError", f"internal error: {type(error).__name__}")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; called once by the app factory."""
    app.register_error_handler(errors.MintError, _handle_mint_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
