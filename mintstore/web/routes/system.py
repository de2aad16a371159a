"""Server-level resources: the root, health, type dictionary, API description."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request

from mintstore.adapters import ObjectStore
from mintstore.errors import ItemNotFound
from mintstore.store.layout import DESCRIPTOR_KEY
from mintstore.web.dicomweb.config import DicomWebConfig

from .. import context
from ..browser import search_page
from ..negotiate import wants_html
from ..openapi import openapi_document
from ..request_log import note_reason
from ..responses import document

blueprint = Blueprint("system", __name__)


@blueprint.route("/", methods=["GET", "HEAD"])
def root() -> Response:
    """HEAD answers exactly 200 (the RI clients' liveness check); GET lists studies."""
    if request.method == "HEAD":
        return Response(status=200)
    if wants_html():
        return search_page()
    return document("mintServer", {"name": "mintstore", "api": "MINT 1.1"})


@blueprint.get("/healthz")
def healthz() -> Response:
    """Liveness and readiness for load balancers; open even when tokens are configured."""
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    """Ready when the store answers: its descriptor (``mintstore.json``) is read and parsed.

    503 otherwise, with the reason, so a load balancer takes this process out
    of rotation while the bucket is unreachable; open like ``/healthz``.
    """
    objects: ObjectStore = current_app.extensions["mintstore.objects"]
    started = time.perf_counter()
    try:
        descriptor = json.loads(objects.get_bytes(DESCRIPTOR_KEY))
        if not isinstance(descriptor, dict) or descriptor.get("format") != "mintstore":
            raise ValueError(f"{DESCRIPTOR_KEY} does not describe a mintstore store")
    except Exception as exc:  # any failure of the store means "not ready"
        message = f"store {objects.url} not ready: {type(exc).__name__}: {exc}"[:500]
        note_reason(message)
        return Response(
            json.dumps({"status": "unavailable", "store": objects.url, "error": message}),
            status=503,
            mimetype="application/json",
            headers={"Retry-After": "5"},
        )
    return jsonify(
        {
            "status": "ready",
            "store": objects.url,
            "format": descriptor.get("version"),
            "seconds": round(time.perf_counter() - started, 4),
        }
    )


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text exposition of this server's metrics (every worker's)."""
    from mintstore.metrics import exposition

    body, content_type = exposition(context.config().metrics_dir)
    return Response(body, content_type=content_type)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of every route."""
    config = context.config()
    return jsonify(openapi_document(config.base_path, config.component(DicomWebConfig).root))


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
