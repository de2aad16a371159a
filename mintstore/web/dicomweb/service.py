"""Mounting DICOMweb on the Flask application (the app factory's one call).

:func:`install_dicomweb` mounts the blueprint under ``{base path}{root}``,
keeps this front-end's state (its options and the store reads) in
``app.extensions`` and installs CORS.
"""

from __future__ import annotations

from flask import Flask

from mintstore.store import StudyStore

from . import http_errors
from .config import DicomWebConfig
from .cors import install_cors
from .reads import StoreReads
from .routes import blueprint

http_errors.register(blueprint)


def install_dicomweb(app: Flask, store: StudyStore, config: DicomWebConfig, base_path: str) -> None:
    """Serve DICOMweb from ``app`` on ``store``."""
    prefix = base_path + config.root
    app.extensions["mintstore.web.dicomweb.config"] = config
    app.extensions["mintstore.web.dicomweb.reads"] = StoreReads(store)
    install_cors(app, config, prefix)
    app.register_blueprint(blueprint, url_prefix=prefix)
