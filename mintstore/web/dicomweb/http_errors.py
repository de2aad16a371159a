"""Errors of DICOMweb routes as JSON bodies (with the CORS headers a browser needs).

The status comes from the one table in :mod:`mintstore.web.errors`; only the
body differs: DICOMweb clients get ``{"status", "error", "message"}`` in JSON
whatever they asked for, since they never negotiate XML.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from mintstore import errors
from mintstore.web.errors import status_for

log = logging.getLogger(__name__)


def _body(status: int, kind: str, message: str) -> Response:
    if status < 500:
        log.info("DICOMweb %s %s: %d %s", request.method, request.path, status, message)
    text = json.dumps({"status": status, "error": kind, "message": message})
    return Response(text, status=status, mimetype="application/json")


def _mint_error(error: errors.MintError) -> Response:
    status = status_for(error)
    if isinstance(error, errors.NotSupported):
        status = 406 if request.method == "GET" else 415
    if status >= 500:
        log.error("DICOMweb %s %s failed: %s", request.method, request.path, error, exc_info=error)
    return _body(status, type(error).__name__, str(error))


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response = _body(status, type(error).__name__, error.description or error.name)
    original = error.get_response()
    for header in ("WWW-Authenticate", "Allow", "Content-Range"):
        if header in original.headers:
            response.headers[header] = original.headers[header]
    return response


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected failure in DICOMweb %s %s", request.method, request.path)
    return _body(500, "InternalError", f"internal error: {type(error).__name__}")


def register(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(errors.MintError, _mint_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _unexpected)
