"""CORS for DICOMweb (``--cors-origin``), so a viewer served elsewhere can call it.

Preflight requests (OPTIONS with ``Access-Control-Request-Method``) carry no
credentials, so they are answered before authentication runs; every other
DICOMweb response gets ``Access-Control-Allow-Origin`` when the request's
Origin is allowed.
"""

from __future__ import annotations

from flask import Flask, Response, request

from .config import DicomWebConfig

ALLOWED_HEADERS = "Authorization, Content-Type, Accept, Range"
EXPOSED_HEADERS = "Content-Type, Content-Length, Content-Range, Warning, Location"


def _allowed(config: DicomWebConfig, origin: str | None) -> str | None:
    if not origin or not config.cors_origins:
        return None
    if "*" in config.cors_origins:
        return "*"
    return origin if origin in config.cors_origins else None


def install_cors(app: Flask, config: DicomWebConfig, prefix: str) -> None:
    """Answer preflights under ``prefix`` and decorate its responses."""

    def under_prefix() -> bool:
        return request.path == prefix or request.path.startswith(prefix + "/")

    def preflight() -> Response | None:
        if request.method != "OPTIONS" or not under_prefix():
            return None
        response = Response(status=204)
        allowed = _allowed(config, request.headers.get("Origin"))
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
            if allowed != "*":
                response.headers["Vary"] = "Origin"
        return response

    def decorate(response: Response) -> Response:
        if under_prefix():
            allowed = _allowed(config, request.headers.get("Origin"))
            if allowed is not None:
                response.headers["Access-Control-Allow-Origin"] = allowed
                response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
                if allowed != "*":
                    response.headers.add("Vary", "Origin")
        return response

    # Before authentication (registered earlier by the app factory): a
    # browser's preflight never carries the bearer token.
    app.before_request_funcs.setdefault(None, []).insert(0, preflight)
    app.after_request(decorate)
