"""Hostile and broken input: always InvalidMetadata, never a hang, a crash,
a file read or a network fetch."""

from __future__ import annotations

import contextlib
import gzip
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mintstore import formats
from mintstore.errors import InvalidMetadata

from .studies import rich_study

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2">
  <attributes><attr tag="00100010" vr="PN" val="&lol9;"/></attributes>
</study>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE study [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2">
  <attributes><attr tag="00100010" vr="PN" val="&xxe;"/></attributes>
</study>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE study SYSTEM "http://127.0.0.1:9/mint.dtd">
<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2"/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE study [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;]>
<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2"/>"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_doctype_attacks_are_refused_quickly(document: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidMetadata):
        formats.decode(document, "xml")
    with pytest.raises(InvalidMetadata):
        formats.decode(gzip.compress(document), "xml")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
@pytest.mark.parametrize("encoding", ["UTF-16", "UTF-7", "cp500"])
def test_encodings_that_could_hide_a_doctype_are_refused(document: bytes, encoding: str) -> None:
    text = document.decode().replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>')
    encoded = text.encode(encoding.lower().replace("-", "_"))
    # Python writes '<' and '!' directly in UTF-7; an attacker would not.
    encoded = encoded.replace(b"<!DOCTYPE", b"+ADwAIQ-DOCTYPE")
    assert b"<!DOCTYPE" not in encoded
    with pytest.raises(InvalidMetadata, match="UTF-8"):
        formats.decode(encoded, "xml")


def test_parser_itself_resolves_nothing_if_a_doctype_slipped_past_the_scan() -> None:
    """Defence in depth: the hardened parser alone, without the byte scan."""
    from mintstore.formats.safe_xml import _parser

    for document in (BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY):
        try:
            root = etree.fromstring(document, _parser())
        except etree.XMLSyntaxError:
            continue
        text = etree.tostring(root)
        assert b"root:" not in text and b"lollollol" not in text


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_oversize_documents_are_refused(fmt: str) -> None:
    document = formats.encode(rich_study(), fmt)
    formats.decode(document, fmt, max_size=len(document))
    with pytest.raises(InvalidMetadata, match="limit"):
        formats.decode(document, fmt, max_size=len(document) - 1)
    with pytest.raises(InvalidMetadata, match="limit"):
        formats.decode(formats.encode(rich_study(), fmt, gzip=True), fmt, max_size=100)


def test_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"<" + b" " * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidMetadata, match="limit"):
        formats.decode(bomb, "xml", max_size=1_000_000)


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_broken_gzip_is_invalid(fmt: str) -> None:
    document = formats.encode(rich_study(), fmt, gzip=True)
    for broken in (document[:-12], document[:20], b"\x1f\x8b" + b"\x00" * 30):
        with pytest.raises(InvalidMetadata):
            formats.decode(broken, fmt)


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_every_truncation_is_invalid_or_a_valid_prefix(fmt: str) -> None:
    """Cut a real document at many places: each prefix decodes or raises InvalidMetadata."""
    document = formats.encode(rich_study(), fmt)
    for cut in range(0, len(document), max(1, len(document) // 400)):
        with contextlib.suppress(InvalidMetadata):
            formats.decode(document[:cut], fmt)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), fmt=st.sampled_from(formats.FORMATS))
def test_random_bytes_never_escape_as_another_error(data: bytes, fmt: str) -> None:
    with contextlib.suppress(InvalidMetadata):
        formats.decode(data, fmt)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0),
    replacement=st.binary(min_size=1, max_size=8),
    fmt=st.sampled_from(formats.FORMATS),
)
def test_mutated_documents_never_escape_as_another_error(
    position: int, replacement: bytes, fmt: str
) -> None:
    document = formats.encode(rich_study(), fmt)
    position %= len(document)
    mutated = document[:position] + replacement + document[position + len(replacement) :]
    with contextlib.suppress(InvalidMetadata):
        formats.decode(mutated, fmt)


def test_deeply_nested_sequences_are_refused_in_every_format() -> None:
    depth = 200
    xml = (
        b'<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2"><attributes>'
        + b'<attr tag="00081115" vr="SQ"><item><attributes>' * depth
        + b"</attributes></item></attr>" * depth
        + b"</attributes></study>"
    )
    with pytest.raises(InvalidMetadata):
        formats.decode(xml, "xml")
    json_doc = (
        b'{"studyInstanceUID":"1.2","attributes":'
        + b'{"00081115":{"vr":"SQ","Value":[' * depth
        + b"{}"
        + b"]}}" * depth
        + b"}"
    )
    with pytest.raises(InvalidMetadata):
        formats.decode(json_doc, "json")
    very_deep_json = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InvalidMetadata):
        formats.decode(very_deep_json, "json")
