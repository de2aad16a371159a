"""Object-store adapters: one small interface, one module per backend.

Installed as ``mintstore.adapters`` (the folder is ``adapters/`` at the top of
the repository). Open a store by URL with :func:`open_store`.
"""

from .base import ObjectInfo, ObjectReader, ObjectStore, PutMode, validate_key
from .registry import StoreLocation, open_store, parse_store_url, schemes

__all__ = [
    "ObjectInfo",
    "ObjectReader",
    "ObjectStore",
    "PutMode",
    "StoreLocation",
    "open_store",
    "parse_store_url",
    "schemes",
    "validate_key",
]
