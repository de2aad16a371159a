"""The Flask application factory.

``create_app`` is the only place that turns a :class:`ServerConfig` into a
running application: it opens the object store and the study store once,
keeps both in ``app.extensions`` (no module-level state), installs the error
table and authentication, and registers one blueprint per resource under the
configured base path.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from mintstore.adapters.registry import open_store
from mintstore.counted_objects import CountedObjectStore
from mintstore.store import StudyStore
from mintstore.web.dicomweb.config import DicomWebConfig
from mintstore.web.dicomweb.service import install_dicomweb

from .auth import install_auth
from .body_guard import BodyGuard
from .config import ServerConfig
from .doc_cache import DocumentCache
from .errors import register_error_handlers
from .request_log import RequestLog, install_request_context
from .responses import without_date
from .routes import BLUEPRINTS


def _open_counted(config: ServerConfig) -> StudyStore:
    """The configured store, its object store counted for /metrics (see counted_objects)."""
    objects = CountedObjectStore(open_store(config.store_url, config.environ))
    try:
        return StudyStore(objects, config.store_config)
    except BaseException:
        objects.close()
        raise


def create_app(config: ServerConfig, *, store: StudyStore | None = None) -> Flask:
    """Build the WSGI application for one store (opened from the config unless given)."""
    app = Flask("mintstore.web", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    # werkzeug's form parser limits: its in-memory fields stay small; files
    # are spooled to disk by our own multipart reader, not by werkzeug.
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024 * 1024
    app.url_map.strict_slashes = False
    if store is None:
        store = _open_counted(config)
    app.extensions["mintstore.config"] = config
    app.extensions["mintstore.store"] = store
    app.extensions["mintstore.objects"] = store.objects
    app.extensions["mintstore.documents"] = DocumentCache()
    register_error_handlers(app)
    app.after_request(without_date)
    install_auth(app)
    install_request_context(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint, url_prefix=config.base_path or None)
    install_dicomweb(app, store, config.component(DicomWebConfig), config.base_path)
    # Outermost first: proxy headers fix the client address the log records;
    # the log measures what the client sees; the guard checks every body read.
    wsgi: Any = RequestLog(BodyGuard(app.wsgi_app), access_log=config.access_log)
    if config.proxy_headers:
        hops = config.proxy_headers
        wsgi = ProxyFix(wsgi, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
    return app
