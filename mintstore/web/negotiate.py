"""Content negotiation: which representation a client asked for.

MINT answers in XML by default (the RI's clients expect it) and in JSON when
the client prefers it. The decision is made here once so that documents and
error bodies agree.
"""

from __future__ import annotations

from flask import request

XML = "application/xml"
JSON = "application/json"


def prefers_json() -> bool:
    """True if the request's Accept header ranks JSON above XML."""
    accept = request.accept_mimetypes
    if not accept:
        return False
    best = accept.best_match([XML, "text/xml", JSON])
    return best == JSON


def accepts(mimetype: str) -> bool:
    """True if the client explicitly listed ``mimetype`` (not via ``*/*``)."""
    return any(
        value.split(";")[0].strip().lower() == mimetype for value, _ in request.accept_mimetypes
    )


def wants_html() -> bool:
    """True for a browser: HTML ranked above XML and JSON."""
    accept = request.accept_mimetypes
    best = accept.best_match(["application/xml", "application/json", "text/html"])
    return best == "text/html" and accept["text/html"] > accept["application/xml"]
