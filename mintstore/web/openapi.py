"""The OpenAPI description of the HTTP API.

Written by hand from the route table (one line per path and method) rather
than generated from the URL map, so that a test comparing the two catches a
route added without documentation, or documentation of a route that is gone.
"""

from __future__ import annotations

from typing import Any

from mintstore.web.dicomweb.config import DicomWebConfig
from mintstore.web.dicomweb.operations import OPERATIONS as DICOMWEB_OPERATIONS

#: Where DICOMweb is mounted unless configured otherwise.
DEFAULT_DICOMWEB_ROOT = DicomWebConfig().root

#: (OpenAPI path, method, summary). Paths are relative to the base path.
MINT_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("/", "get", "Server root; a readable study list in a browser"),
    ("/", "head", "Liveness check of the RI clients (answers exactly 200)"),
    ("/healthz", "get", "Health check (no token needed)"),
    ("/readyz", "get", "Readiness: 200 when the store's descriptor reads, else 503 (no token)"),
    ("/metrics", "get", "Prometheus metrics of every worker process"),
    ("/browse/login", "get", "Browser view: the sign-in form"),
    ("/browse/login", "post", "Browser view: sign in with a token (sets an HttpOnly cookie)"),
    ("/browse/logout", "post", "Browser view: sign out"),
    ("/browse/preview/{study}/{series}/{sop}.png", "get", "PNG of an instance's middle frame"),
    ("/openapi.json", "get", "This document"),
    ("/types", "get", "Type list"),
    ("/types/{type_name}", "get", "Type dictionary (DICOM)"),
    ("/studies/create", "post", "Create or append studies (Part-10 or MINT parts)"),
    ("/jobs/createstudy", "post", "RI job: create a study; 303 to the job status"),
    ("/jobs/updatestudy", "post", "RI job: merge a full study; 303 to the job status"),
    ("/jobs/status/{job_id}", "get", "RI job status"),
    ("/studies", "get", "Search studies"),
    ("/studies/search", "get", "Search studies (RI alias)"),
    ("/changelog", "get", "System change log"),
    ("/studies/changeLog", "get", "System change log (RI alias)"),
    ("/studies/{study}", "get", "Study root, whole study (multipart/related) or ZIP"),
    ("/studies/{study}", "post", "Lock, update with a delta, copy or move"),
    ("/studies/{study}", "delete", "Delete the study (410 afterwards)"),
    ("/studies/{study}/lock", "delete", "Release the update lock"),
    ("/studies/{study}/changelog", "get", "The study's change log"),
    ("/studies/{study}/changelog/{change}", "get", "What change n uploaded"),
    ("/studies/{study}/{type_name}/changeLog", "get", "The study's change log (RI alias)"),
    ("/studies/{study}/{series}", "get", "One series"),
    ("/studies/{study}/{series}/{sop}", "get", "One instance as Part-10"),
    ("/studies/{study}/{type_name}/metadata", "get", "Metadata (XML)"),
    ("/studies/{study}/{type_name}/metadata.{ext}", "get", "Metadata variant"),
    ("/studies/{study}/{type_name}/summary", "get", "Summary (XML)"),
    ("/studies/{study}/{type_name}/summary.{ext}", "get", "Summary variant"),
    ("/studies/{study}/{type_name}/binaryitems/{selection}", "get", "Binary items"),
    ("/studies/{study}/{type_name}/reports", "get", "Structured reports (XML)"),
    ("/studies/{study}/{type_name}/reports.{ext}", "get", "Structured reports (XML/JSON)"),
)

#: Every route, DICOMweb's under its default root.
OPERATIONS: tuple[tuple[str, str, str], ...] = MINT_OPERATIONS + tuple(
    (DEFAULT_DICOMWEB_ROOT + path, method, summary) for path, method, summary in DICOMWEB_OPERATIONS
)


def openapi_document(base_path: str, dicomweb_root: str = DEFAULT_DICOMWEB_ROOT) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server mounted at ``base_path``."""
    paths: dict[str, dict[str, Any]] = {}
    operations = MINT_OPERATIONS + tuple(
        (dicomweb_root + path, method, summary) for path, method, summary in DICOMWEB_OPERATIONS
    )
    for path, method, summary in operations:
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_names(path)
        ]
        operation: dict[str, Any] = {
            "summary": summary,
            "responses": {"default": {"description": "XML or JSON per Accept"}},
        }
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "mintstore MINT API", "version": "1.1"},
        "servers": [{"url": base_path or "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _path_names(path: str) -> list[str]:
    names: list[str] = []
    rest = path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names
