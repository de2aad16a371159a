"""Key validation and error translation on every backend."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from mintstore.adapters import ObjectStore, PutMode, open_store
from mintstore.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidKey,
    NotFound,
    NotSupported,
)
from mintstore.testing.backends import Backend

BAD_KEYS = [
    "",
    "../escape",
    "a/../../b",
    "a//b",
    "/absolute",
    "trailing/",
    "a/./b",
    ".",
    "..",
    "space in key",
    "back\\slash",
    "percent%2F",
    "question?",
    "hash#",
    "tilde~",
    "unicode-é",
    "nul\x00byte",
    "x" * 1025,
]

Operation = Callable[[ObjectStore, str], object]

OPERATIONS: dict[str, Operation] = {
    "put": lambda store, key: store.put(key, b"data"),
    "put-create": lambda store, key: store.put(key, b"data", mode=PutMode.CREATE),
    "get": lambda store, key: store.get(key),
    "get_range": lambda store, key: store.get_range(key, 0, 1),
    "head": lambda store, key: store.head(key),
    "delete": lambda store, key: store.delete(key),
}


def test_invalid_keys_are_refused_and_change_nothing(object_store: ObjectStore) -> None:
    for name, operation in OPERATIONS.items():
        for key in BAD_KEYS:
            with pytest.raises(InvalidKey):
                operation(object_store, key)
                pytest.fail(f"{name} accepted {key!r}")
    assert list(object_store.list()) == []


def test_missing_key_is_not_found(object_store: ObjectStore) -> None:
    object_store.put("present", b"x")
    for name in ("get", "get_range", "head"):
        with pytest.raises(NotFound) as caught:
            OPERATIONS[name](object_store, "absent/key")
        assert "absent/key" in str(caught.value), name


def test_a_prefix_of_a_key_is_not_an_object(object_store: ObjectStore) -> None:
    object_store.put("dir/object", b"x")
    with pytest.raises(NotFound):
        object_store.head("dir")
    with pytest.raises(NotFound):
        object_store.get_bytes("dir")


def test_key_and_keys_below_it(store_backend: Backend, object_store: ObjectStore) -> None:
    """Object stores hold "a" and "a/b" side by side; a directory cannot."""
    object_store.put("a", b"file")
    if store_backend.name == "file":
        with pytest.raises(NotSupported, match="cannot hold both"):
            object_store.put("a/b", b"below")
        assert [info.key for info in object_store.list()] == ["a"]
        return
    object_store.put("a/b", b"below")
    assert [info.key for info in object_store.list()] == ["a", "a/b"]
    assert object_store.get_bytes("a") == b"file"


def test_bad_credentials_are_access_denied(store_backend: Backend) -> None:
    bad = store_backend.bad_credentials()
    if bad is None:
        _check_credential_free_backend(store_backend)
        return
    with bad as spec, pytest.raises(AccessDenied) as caught, spec.open() as store:
        store.put("key", b"data")
    message = str(caught.value)
    assert message.strip(), "AccessDenied needs a message"
    assert "Traceback" not in message
    assert len(message) < 2000


def _check_credential_free_backend(backend: Backend) -> None:
    """Memory and file stores have no credentials; check what they do instead."""
    spec = backend.fresh()
    if backend.name == "memory":
        # Credentials in the environment are ignored, and each name is its
        # own isolated namespace: the only "access control" there is.
        with open_store(spec.url, {"AWS_ACCESS_KEY_ID": "wrong", "ST_KEY": "wrong"}) as store:
            store.put("key", b"data")
            assert store.get_bytes("key") == b"data"
        with backend.fresh().open() as other:
            assert list(other.list()) == []
        return
    assert backend.name == "file"
    # The file store's access control is the operating system's: a root it
    # cannot create is refused when the store is opened.
    blocker = spec.url.removeprefix("file://")
    os.makedirs(os.path.dirname(blocker), exist_ok=True)
    with open(blocker, "wb") as handle:
        handle.write(b"a file where the store's directory should be")
    with pytest.raises(ConfigurationError, match="cannot use"):
        spec.open()
