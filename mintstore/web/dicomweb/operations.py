"""The DICOMweb routes for the OpenAPI document (paths relative to the DICOMweb root).

Kept by hand beside the blueprint, like the MINT API's table, so that the
test comparing the document with Flask's URL map catches a route added
without documentation.
"""

from __future__ import annotations

_S = "/studies/{study}"
_SE = _S + "/series/{series}"
_I = _SE + "/instances/{sop}"

OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("/studies", "get", "QIDO-RS: search studies"),
    ("/series", "get", "QIDO-RS: search series of all studies"),
    ("/instances", "get", "QIDO-RS: search instances of all studies"),
    (_S + "/series", "get", "QIDO-RS: search the series of a study"),
    (_S + "/instances", "get", "QIDO-RS: search the instances of a study"),
    (_SE + "/instances", "get", "QIDO-RS: search the instances of a series"),
    ("/studies", "post", "STOW-RS: store instances"),
    (_S, "post", "STOW-RS: store instances of one study"),
    (_S, "get", "WADO-RS: the study's instances (multipart/related application/dicom)"),
    (_SE, "get", "WADO-RS: the series' instances"),
    (_I, "get", "WADO-RS: one instance"),
    (_S + "/metadata", "get", "WADO-RS: study metadata (DICOM JSON)"),
    (_SE + "/metadata", "get", "WADO-RS: series metadata (DICOM JSON)"),
    (_I + "/metadata", "get", "WADO-RS: instance metadata (DICOM JSON)"),
    (_I + "/frames/{frames}", "get", "WADO-RS: frames (native or as stored)"),
    (_S + "/bulkdata/{bids}", "get", "WADO-RS: bulk data (BulkDataURI), honours Range"),
    (_S + "/rendered", "get", "WADO-RS: rendered image of the study"),
    (_SE + "/rendered", "get", "WADO-RS: rendered image of the series"),
    (_I + "/rendered", "get", "WADO-RS: rendered instance (first frame)"),
    (_I + "/frames/{frames}/rendered", "get", "WADO-RS: rendered frame"),
    (_S + "/thumbnail", "get", "WADO-RS: thumbnail of the study"),
    (_SE + "/thumbnail", "get", "WADO-RS: thumbnail of the series"),
    (_I + "/thumbnail", "get", "WADO-RS: thumbnail of the instance"),
    (_I + "/frames/{frames}/thumbnail", "get", "WADO-RS: thumbnail of a frame"),
)
