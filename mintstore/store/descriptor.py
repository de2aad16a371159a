"""``mintstore.json``: says what a bucket is, so a store never misreads another format."""

from __future__ import annotations

import json

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists, ConfigurationError, NotFound

from .layout import DESCRIPTOR_KEY, FORMAT_VERSION, HASH_ALGORITHM
from .records import dumps

DESCRIPTOR = {"format": "mintstore", "version": FORMAT_VERSION, "hash": HASH_ALGORITHM}


def ensure_descriptor(objects: ObjectStore) -> None:
    """Check the descriptor, creating it (create-once) in an empty store."""
    try:
        data = objects.get_bytes(DESCRIPTOR_KEY)
    except NotFound:
        try:
            objects.put(DESCRIPTOR_KEY, dumps(DESCRIPTOR), mode=PutMode.CREATE)
            return
        except AlreadyExists:
            data = objects.get_bytes(DESCRIPTOR_KEY)
    try:
        found = json.loads(data)
    except ValueError as exc:
        raise ConfigurationError(f"{objects.url}: unreadable {DESCRIPTOR_KEY}") from exc
    if not isinstance(found, dict) or found.get("format") != "mintstore":
        raise ConfigurationError(f"{objects.url} is not a mintstore store")
    if found.get("version") != FORMAT_VERSION or found.get("hash") != HASH_ALGORITHM:
        raise ConfigurationError(
            f"{objects.url}: store format {found.get('version')}/{found.get('hash')} is not "
            f"supported (this mintstore reads {FORMAT_VERSION}/{HASH_ALGORITHM})"
        )
