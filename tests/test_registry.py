"""Store URLs: the one place configuration enters the storage layer."""

from __future__ import annotations

import pytest

from mintstore.adapters import open_store, parse_store_url, schemes
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import ConfigurationError, InvalidKey


def test_every_documented_scheme_is_registered() -> None:
    assert schemes() == ["azure", "file", "memory", "s3", "swift"]


def test_s3_url_splits_bucket_prefix_and_options() -> None:
    location = parse_store_url(
        "s3://archive/mint/v1?region=eu-west-1&endpoint_url=http://127.0.0.1:9"
    )
    assert (location.scheme, location.container, location.prefix) == ("s3", "archive", "mint/v1")
    assert location.options == {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"}


def test_file_url_keeps_the_absolute_path() -> None:
    location = parse_store_url("file:///var/lib/mint")
    assert location.path == "/var/lib/mint"
    assert location.container == ""


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIA:secret@bucket/prefix",
        "azure://account:key@container",
        "swift://user@container",
    ],
)
def test_credentials_in_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="credentials do not belong"):
        parse_store_url(url)


@pytest.mark.parametrize("url", ["gopher://x", "ftp://host/path", "bucket/prefix"])
def test_unknown_schemes_are_refused_with_the_known_ones_listed(url: str) -> None:
    with pytest.raises(ConfigurationError, match="use one of azure, file, memory, s3, swift"):
        parse_store_url(url)


@pytest.mark.parametrize("url", ["file://relative/path", "s3:///no-bucket", "file://host/x"])
def test_incomplete_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_store_url(url)


def test_prefix_with_traversal_is_refused() -> None:
    with pytest.raises(InvalidKey):
        parse_store_url("s3://bucket/a/../b")


def test_memory_stores_with_one_name_share_contents() -> None:
    MemoryStore.forget("registry-test")
    first = open_store("memory://registry-test/p")
    second = open_store("memory://registry-test/p")
    other_prefix = open_store("memory://registry-test/q")
    first.put("k", b"v")
    assert second.get_bytes("k") == b"v"
    assert not other_prefix.exists("k")
    MemoryStore.forget("registry-test")
