"""The MINT HTTP API: a thin Flask layer over :class:`mintstore.store.StudyStore`.

The names below are imported on first use (PEP 562): the configuration model
names option classes that live under this package (``DicomWebConfig``), and
naming one must not import Flask and the whole app -- the DIMSE gateway's fast
start path and serve's metrics set-up both depend on that.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import ServerConfig, Token, load_tokens

__all__ = ["ServerConfig", "Token", "create_app", "load_tokens"]

_HOMES = {
    "create_app": ".app",
    "ServerConfig": ".config",
    "Token": ".config",
    "load_tokens": ".config",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)
