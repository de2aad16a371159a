"""The one translation of mintstore's error hierarchy to HTTP responses.

Routes raise the domain errors of :mod:`mintstore.errors` (or werkzeug's HTTP
exceptions for purely HTTP matters such as 401/413/415) and never build error
responses themselves; the handlers registered here turn every failure into a
status plus a body that says what is wrong, in XML or JSON per ``Accept``.

A front-end whose protocol answers some errors differently (DICOMweb: JSON
bodies only, 406/415 for an unsupported representation) registers the same
handlers on its blueprint with an :class:`ErrorDialect`: the differences are
data in that dialect, not a second copy of the handlers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, request
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


#: Headers of a werkzeug HTTP exception's own response that its error body keeps.
KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After", "Location", "Content-Range")


@dataclass(frozen=True)
class StatusOverride:
    """A front-end answers ``error`` (and its subclasses) with ``status`` instead,
    for requests of these ``methods`` (None: every method)."""

    error: type[errors.MintError]
    status: int
    methods: frozenset[str] | None = None


@dataclass(frozen=True)
class ErrorDialect:
    """How one front-end's error answers differ from the MINT API's."""

    #: Named in log lines (``"request"``, ``"DICOMweb"``).
    name: str = "request"
    #: JSON bodies whatever ``Accept`` says (clients that never negotiate XML).
    always_json: bool = False
    #: Checked in order before :data:`STATUS_BY_ERROR`; the first that applies wins.
    overrides: tuple[StatusOverride, ...] = ()


#: The MINT API's own answers (the app-wide handlers).
MINT_API = ErrorDialect()


def status_for(error: BaseException, dialect: ErrorDialect = MINT_API) -> int:
    """The HTTP status a mintstore error maps to (500 if it is not in the table)."""
    if isinstance(error, errors.VersionConflict) and request.headers.get("If-Match"):
        return 412  # the client's precondition (an ETag) failed, RFC 9110 13.1.1
    for override in dialect.overrides:
        if isinstance(error, override.error) and (
            override.methods is None or request.method in override.methods
        ):
            return override.status
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def error_response(
    status: int, kind: str, message: str, dialect: ErrorDialect = MINT_API
) -> Response:
    """An error body in the representation the client prefers (or the dialect's)."""
    note_reason(message)
    if dialect.always_json or prefers_json():
        body = json.dumps({"status": status, "error": kind, "message": message})
        return Response(body, status=status, mimetype=JSON)
    root = element("error", {"status": str(status), "type": kind})
    child(root, "message").text = message
    return Response(serialize(root), status=status, mimetype="application/xml")


class _Handlers:
    """The three handlers of one dialect."""

    def __init__(self, dialect: ErrorDialect) -> None:
        self.dialect = dialect

    def mint_error(self, error: errors.MintError) -> Response:
        status = status_for(error, self.dialect)
        if isinstance(error, errors.VersionConflict):
            metrics.get().version_conflicts.inc()
        elif isinstance(error, errors.IntegrityError):
            metrics.get().integrity_errors.inc()
        if status >= 500:
            log.error(
                "%s %s %s failed: %s",
                self.dialect.name,
                request.method,
                request.path,
                error,
                exc_info=error,
            )
        return error_response(status, type(error).__name__, str(error), self.dialect)

    def http_exception(self, error: HTTPException) -> Response:
        if error.response is not None:  # abort(response): a ready answer, e.g. a redirect
            return error.response  # type: ignore[return-value]
        status = error.code or 500
        message = error.description or error.name
        response = error_response(status, type(error).__name__, message, self.dialect)
        original = error.get_response()
        for header in KEPT_HEADERS:
            if header in original.headers:
                response.headers[header] = original.headers[header]
        return response

    def unexpected(self, error: Exception) -> Response:
        log.exception(
            "unexpected failure in %s %s %s", self.dialect.name, request.method, request.path
        )
        kind = type(error).__name__
        return error_response(500, "InternalError", f"internal error: {kind}", self.dialect)


def register_error_handlers(target: Flask | Blueprint, dialect: ErrorDialect = MINT_API) -> None:
    """Install the handlers on the app (called once by the app factory) or on a
    front-end's blueprint with that front-end's dialect."""
    handlers = _Handlers(dialect)
    target.register_error_handler(errors.MintError, handlers.mint_error)
    target.register_error_handler(HTTPException, handlers.http_exception)
    target.register_error_handler(Exception, handlers.unexpected)
