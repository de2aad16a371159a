"""The Flask application factory.

``create_app`` is the only place that turns a :class:`ServerConfig` into a
running application: it opens the object store and the study store once,
keeps both in ``app.extensions`` (no module-level state), installs the error
table and authentication, and registers one blueprint per resource under the
configured base path.
"""

from __future__ import annotations

from flask import Flask

from mintstore.store import StudyStore, open_study_store

from .auth import install_auth
from .config import ServerConfig
from .doc_cache import DocumentCache
from .errors import register_error_handlers
from .responses import without_date
from .routes import BLUEPRINTS


def create_app(config: ServerConfig, *, store: StudyStore | None = None) -> Flask:
    """Build the WSGI application for one store (opened from the config unless given)."""
    app = Flask("mintstore.web", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    # werkzeug's form parser limits: its in-memory fields stay small; files
    # are spooled to disk by our own multipart reader, not by werkzeug.
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024 * 1024
    app.url_map.strict_slashes = False
    if store is None:
        store = open_study_store(config.store_url, config.environ, config.store_config)
    app.extensions["mintstore.config"] = config
    app.extensions["mintstore.store"] = store
    app.extensions["mintstore.objects"] = store.objects
    app.extensions["mintstore.documents"] = DocumentCache()
    register_error_handlers(app)
    app.after_request(without_date)
    install_auth(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint, url_prefix=config.base_path or None)
    return app
