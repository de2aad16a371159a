"""Swift adapter behaviour the shared conformance suite cannot express.

SLO segments must never leak or show (deleted with their object, replaced
with it, removed when an upload fails or a create loses), a create that Swift
accepted but a concurrent writer overtook must report AlreadyExists, and the
auth settings come from the given environment only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import swiftclient

from mintstore.adapters import PutMode, open_store
from mintstore.adapters.lost_answers import LostAnswerResolver
from mintstore.adapters.settled import SettledCreates
from mintstore.adapters.swift import SEGMENT_ROOT, SwiftStore
from mintstore.adapters.swift_connections import SwiftSettings
from mintstore.errors import AlreadyExists, ConfigurationError, NotFound, StoreUnavailable
from mintstore.testing.backends import SHARED_CONTAINER, BackendPool, StoreSpec

from .test_s3 import FailingStream

#: 10-byte segments above 10 bytes: a 35-byte object is 4 segments.
SEGMENTS = {"multipart_threshold": "10", "part_size": "10"}


@dataclass
class SwiftCase:
    store: SwiftStore
    raw: Any  # a swiftclient.Connection to look behind the adapter

    def segments(self) -> set[str]:
        _, listing = self.raw.get_container(
            SHARED_CONTAINER, prefix=SEGMENT_ROOT, full_listing=True
        )
        return {entry["name"] for entry in listing}


@pytest.fixture
def swift(backend_pool: BackendPool) -> Iterator[SwiftCase]:
    spec: StoreSpec = backend_pool.get("swift").fresh(SEGMENTS)
    raw = swiftclient.Connection(
        authurl=spec.environ["ST_AUTH"],
        user=spec.environ["ST_USER"],
        key=spec.environ["ST_KEY"],
        auth_version="1",
    )
    opened = spec.open()
    # The registry wraps every Swift store so its creates are settled, over the
    # lost-answer resolver.
    assert isinstance(opened, SettledCreates)
    assert isinstance(opened.inner, LostAnswerResolver)
    store = opened.inner.inner
    assert isinstance(store, SwiftStore)
    with opened:
        yield SwiftCase(store, raw)
    raw.close()


def test_segments_are_hidden_and_deleted_with_their_object(swift: SwiftCase) -> None:
    before = swift.segments()
    swift.store.put("big", b"a" * 35)
    assert len(swift.segments() - before) == 4
    assert [info.key for info in swift.store.list()] == ["big"]
    assert swift.store.head("big").size == 35
    swift.store.delete("big")
    assert swift.segments() == before
    with pytest.raises(NotFound):
        swift.store.head("big")


def test_large_overwrite_removes_the_replaced_segments(swift: SwiftCase) -> None:
    before = swift.segments()
    swift.store.put("key", b"a" * 35)
    swift.store.put("key", io.BytesIO(b"b" * 25))
    assert len(swift.segments() - before) == 3
    assert swift.store.get_bytes("key") == b"b" * 25
    swift.store.delete("key")
    assert swift.segments() == before


def test_failed_upload_and_lost_create_leave_no_segments(swift: SwiftCase) -> None:
    before = swift.segments()
    with pytest.raises(OSError, match="client went away"):
        swift.store.put("partial", io.BufferedReader(FailingStream(45)))
    swift.store.put("taken", b"first")
    with pytest.raises(AlreadyExists):
        swift.store.put("taken", b"c" * 35, mode=PutMode.CREATE)
    assert swift.segments() == before
    assert [info.key for info in swift.store.list()] == ["taken"]


def test_create_overtaken_after_its_put_reports_already_exists(
    swift: SwiftCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Swift let two creates pass If-None-Match; the other one landed last."""
    store = swift.store
    real_put = store._put_plain

    def put_then_overtaken(full: str, content: bytes, headers: Any) -> str:
        etag = real_put(full, content, headers)
        swift.raw.put_object(SHARED_CONTAINER, full, contents=b"the other writer")
        return etag

    monkeypatch.setattr(store, "_put_plain", put_then_overtaken)
    with pytest.raises(AlreadyExists, match="concurrent create"):
        store.put("contested", b"mine", mode=PutMode.CREATE)
    assert store.get_bytes("contested") == b"the other writer"


def test_settings_from_v1_and_keystone_variables() -> None:
    v1 = SwiftSettings.from_environ(
        {"ST_AUTH": "http://a/auth/v1.0", "ST_USER": "u", "ST_KEY": "k"}
    )
    assert (v1.authurl, v1.user, v1.key, v1.auth_version) == ("http://a/auth/v1.0", "u", "k", "1")
    v3 = SwiftSettings.from_environ(
        {
            "OS_AUTH_URL": "http://k/v3",
            "OS_USERNAME": "u",
            "OS_PASSWORD": "p",
            "OS_PROJECT_NAME": "proj",
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "r1",
        }
    )
    assert v3.auth_version == "3"
    assert v3.os_options == {
        "project_name": "proj",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": "r1",
    }
    token = SwiftSettings.from_environ({"OS_STORAGE_URL": "http://s/v1/A", "OS_AUTH_TOKEN": "t"})
    assert (token.preauthurl, token.preauthtoken, token.authurl) == ("http://s/v1/A", "t", None)
    with pytest.raises(ConfigurationError, match="ST_AUTH"):
        SwiftSettings.from_environ({})


def test_unreachable_endpoint_is_store_unavailable() -> None:
    environ = {"ST_AUTH": "http://127.0.0.1:9/auth/v1.0", "ST_USER": "u", "ST_KEY": "k"}
    with (
        open_store("swift://container/p?retries=0", environ) as store,
        pytest.raises(StoreUnavailable),
    ):
        store.head("key")
