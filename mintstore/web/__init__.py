"""The MINT HTTP API: a thin Flask layer over :class:`mintstore.store.StudyStore`."""

from __future__ import annotations

from .app import create_app
from .config import ServerConfig, Token, load_tokens

__all__ = ["ServerConfig", "Token", "create_app", "load_tokens"]
