"""Server-level resources: the root, health, type dictionary, API description."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from mintstore.errors import ItemNotFound
from mintstore.store import SearchQuery

from .. import context
from ..browser import index_page, wants_html
from ..openapi import openapi_document
from ..responses import document

blueprint = Blueprint("system", __name__)


@blueprint.route("/", methods=["GET", "HEAD"])
def root() -> Response:
    """HEAD answers exactly 200 (the RI clients' liveness check); GET lists studies."""
    if request.method == "HEAD":
        return Response(status=200)
    if wants_html():
        page = context.store().search(SearchQuery(limit=100))
        return index_page(context.base_url(), page.results)
    return document("mintServer", {"name": "mintstore", "api": "MINT 1.1"})


@blueprint.get("/healthz")
def healthz() -> Response:
    """Liveness and readiness for load balancers; open even when tokens are configured."""
    return jsonify({"status": "ok"})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of every route."""
    config = context.config()
    return jsonify(openapi_document(config.base_path, config.dicomweb.root))


@blueprint.get("/types")
def types() -> Response:
    """The types this server knows (only DICOM)."""
    return document("typeList", {}, [("type", {"name": "DICOM"})])


@blueprint.get("/types/<type_name>")
def type_dictionary(type_name: str) -> Response:
    """The type dictionary document the RI clients place attributes by."""
    from mintstore import dictionary

    if type_name.removesuffix(".xml") != "DICOM":
        raise ItemNotFound(f"no type {type_name[:40]!r} (only DICOM)")
    dictionary_xml: bytes = current_app.extensions.setdefault(
        "mintstore.dictionary_xml", dictionary.dictionary_document()
    )
    return Response(dictionary_xml, mimetype="application/xml")
