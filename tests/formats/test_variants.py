"""Variant names, content types and format sniffing."""

from __future__ import annotations

import pytest

from mintstore import formats
from mintstore.errors import InvalidInput
from mintstore.formats import Variant, parse_variant, sniff_variant

from .studies import rich_study


@pytest.mark.parametrize(
    ("name", "variant", "content_type"),
    [
        ("metadata", Variant("xml", False), "application/xml"),
        ("summary", Variant("xml", False), "application/xml"),
        ("metadata.xml", Variant("xml", False), "application/xml"),
        ("metadata.xml.gz", Variant("xml", True), "application/gzip"),
        ("metadata.gpb", Variant("gpb", False), "application/octet-stream"),
        ("metadata.gpb.gz", Variant("gpb", True), "application/gzip"),
        ("summary.json", Variant("json", False), "application/json"),
        ("summary.JSON.GZ", Variant("json", True), "application/gzip"),
        ("metadata1234.xml", Variant("xml", False), "application/xml"),  # DICOM2MINT uploads
    ],
)
def test_parse_variant(name: str, variant: Variant, content_type: str) -> None:
    assert parse_variant(name) == variant
    assert parse_variant(name).content_type == content_type
    assert variant.extension in name.lower() or "." not in name


@pytest.mark.parametrize("name", ["metadata.txt", "metadata.gz", "metadata.xml.bz2", "a.b.c.d"])
def test_unknown_variants_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        parse_variant(name)


def test_media_type_of_gzipped_variant_names_the_inner_format() -> None:
    assert Variant("json", True).media_type == "application/json"


@pytest.mark.parametrize("fmt", formats.FORMATS)
@pytest.mark.parametrize("gz", [False, True])
def test_sniffing_recognizes_our_own_output(fmt: str, gz: bool) -> None:
    assert sniff_variant(formats.encode(rich_study(), fmt, gzip=gz)) == Variant(fmt, gz)


def test_unknown_format_names_are_refused() -> None:
    with pytest.raises(InvalidInput):
        formats.encode(rich_study(), "yaml")
    with pytest.raises(InvalidInput):
        formats.decode(b"", "yaml")


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
def test_decode_accepts_any_bytes_like_body(wrap: type) -> None:
    document = formats.encode(rich_study(), "gpb", gzip=True)
    assert formats.decode(wrap(document), "gpb") == rich_study()
