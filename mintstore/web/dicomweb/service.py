"""Mounting DICOMweb on the Flask application (the app factory's one call).

:func:`install_dicomweb` mounts the blueprint under ``{base path}{root}``,
keeps this front-end's state (its options and the store reads) in
``app.extensions`` and installs CORS.
"""

from __future__ import annotations

from flask import Flask

from mintstore import errors
from mintstore.store import StudyStore
from mintstore.web.errors import ErrorDialect, StatusOverride, register_error_handlers

from .config import DicomWebConfig
from .cors import install_cors
from .reads import StoreReads
from .routes import blueprint

#: DICOMweb clients never negotiate XML: JSON bodies always. A representation we
#: cannot produce is 406 for a retrieval (PS3.18 8.3.3), 415 for a stored body.
DICOMWEB_ERRORS = ErrorDialect(
    name="DICOMweb",
    always_json=True,
    overrides=(
        StatusOverride(errors.NotSupported, 406, frozenset({"GET", "HEAD"})),
        StatusOverride(errors.NotSupported, 415),
    ),
)

register_error_handlers(blueprint, DICOMWEB_ERRORS)


def install_dicomweb(app: Flask, store: StudyStore, config: DicomWebConfig, base_path: str) -> None:
    """Serve DICOMweb from ``app`` on ``store``."""
    prefix = base_path + config.root
    app.extensions["mintstore.web.dicomweb.config"] = config
    app.extensions["mintstore.web.dicomweb.reads"] = StoreReads(store)
    install_cors(app, config, prefix)
    app.register_blueprint(blueprint, url_prefix=prefix)
