"""Choosing a backend by URL scheme.

Each scheme maps to a dotted class path that is imported only when a store of
that kind is opened, so that ``mintstore`` runs with only the SDKs its
deployment needs; a missing SDK is reported with the extra that provides it.
Configuration (the URL and the environment the credentials come from) is
passed in once here and handed down: adapters never read ``os.environ``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast
from urllib.parse import parse_qsl, urlsplit

from mintstore.errors import ConfigurationError, MissingDependency

from .base import ObjectStore, validate_prefix
from .lost_answers import REMOTE_SCHEMES, resolve_lost_answers
from .settled import Settle


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL: ``scheme://container/prefix?option=value``.

    For ``file:///path`` the container is empty and ``path`` holds the
    directory; for ``memory://name`` the container names an isolated store.
    """

    url: str
    scheme: str
    container: str
    prefix: str
    path: str = ""
    options: Mapping[str, str] = field(default_factory=dict)


class StoreFactory(Protocol):
    """What a registered adapter class provides."""

    @classmethod
    def from_location(cls, location: StoreLocation, environ: Mapping[str, str]) -> ObjectStore: ...


@dataclass(frozen=True)
class _Registration:
    target: str  # "module:Class"
    extra: str | None  # pip extra that installs the SDK
    #: The backend's create-if-absent can be overtaken: wrap it (adapters/settled.py).
    settle_creates: bool = False


_REGISTRY: dict[str, _Registration] = {
    "memory": _Registration("mintstore.adapters.memory:MemoryStore", None),
    "file": _Registration("mintstore.adapters.filesystem:FileStore", None),
    "s3": _Registration("mintstore.adapters.s3:S3Store", "s3"),
    "swift": _Registration("mintstore.adapters.swift:SwiftStore", "swift", settle_creates=True),
    "azure": _Registration("mintstore.adapters.azure:AzureStore", "azure"),
}


def schemes() -> list[str]:
    """The URL schemes that can be opened."""
    return sorted(_REGISTRY)


def parse_store_url(url: str) -> StoreLocation:
    """Split a store URL, refusing credentials and unknown schemes."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _REGISTRY:
        raise ConfigurationError(
            f"unknown store scheme {parts.scheme!r} in {url!r}; use one of {', '.join(schemes())}"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            "credentials do not belong in a store URL; use the SDK's environment "
            "(boto3 chain, AZURE_STORAGE_CONNECTION_STRING, ST_AUTH/ST_USER/ST_KEY or OS_*)"
        )
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    clean_url = parts._replace(query=parts.query).geturl()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(f"file URLs take an absolute path: file:///path, not {url!r}")
        if not parts.path.startswith("/"):
            raise ConfigurationError(f"file URL needs an absolute path: {url!r}")
        return StoreLocation(clean_url, scheme, "", "", parts.path, options)
    prefix = parts.path.strip("/")
    if prefix:
        validate_prefix(prefix)
    if scheme != "memory" and not parts.netloc:
        raise ConfigurationError(f"{scheme} URL needs a bucket/container: {scheme}://NAME/prefix")
    return StoreLocation(clean_url, scheme, parts.netloc, prefix, "", options)


def open_store(
    url: str, environ: Mapping[str, str] | None = None, *, settle: Settle | None = None
) -> ObjectStore:
    """Open the store a URL names.

    ``environ`` is where credentials and endpoints are looked up (the caller
    passes ``os.environ`` at the edge of the program, tests pass their own).
    ``settle`` is the default wait of a backend whose creates must be settled
    (Swift; the URL's ``settle_*`` options win over it).
    """
    location = parse_store_url(url)
    registration = _REGISTRY[location.scheme]
    module_name, _, class_name = registration.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if registration.extra is None:
            raise
        raise MissingDependency(
            f"the {location.scheme}:// backend needs an SDK that is not installed ({exc.name}): "
            f"pip install 'mintstore[{registration.extra}]'"
        ) from exc
    factory = cast(StoreFactory, getattr(module, class_name))
    store = factory.from_location(location, environ if environ is not None else {})
    if location.scheme in REMOTE_SCHEMES:  # innermost: SettledCreates settles its wins too
        store = resolve_lost_answers(store)
    if registration.settle_creates:
        from .settled import SettledCreates

        try:
            return SettledCreates(store, Settle.from_options(location.options, settle))
        except BaseException:
            store.close()
            raise
    return store
