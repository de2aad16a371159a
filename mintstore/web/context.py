"""Accessors for what the app factory put into ``app.extensions``.

Routes call these instead of reaching into globals, so that two apps in one
process (tests, or a copy target opened in-process) never share state.
"""

from __future__ import annotations

from flask import current_app, request

from mintstore.store import Actor, StudyStore

from .auth import current_token
from .config import ServerConfig
from .doc_cache import DocumentCache


def store() -> StudyStore:
    """The study store this app serves."""
    study_store: StudyStore = current_app.extensions["mintstore.store"]
    return study_store


def document_cache() -> DocumentCache:
    """This app's cache of encoded metadata documents."""
    cache: DocumentCache = current_app.extensions["mintstore.documents"]
    return cache


def config() -> ServerConfig:
    """This app's configuration."""
    server_config: ServerConfig = current_app.extensions["mintstore.config"]
    return server_config


def actor(protocol: str = "MINT") -> Actor:
    """Who is making this request, for the change log (token name, client address,
    and the protocol: the MINT routes' "MINT" unless a front-end names its own)."""
    token = current_token()
    return Actor(user=token.name if token else None, host=request.remote_addr, protocol=protocol)


def base_url() -> str:
    """The absolute URL of the API root (with the base path), without a trailing slash.

    ``url_root`` includes the script root, which ProxyFix sets from
    ``X-Forwarded-Prefix`` behind a reverse proxy that mounts us under a path.
    """
    return request.url_root.rstrip("/") + config().base_path
