"""Parsing untrusted XML without letting the document reach outside itself.

Metadata documents come from clients. A DOCTYPE is the door to entity
expansion (billion laughs), external entities (``file:///etc/passwd``) and
network fetches, and MINT documents never need one, so any DOCTYPE is
refused outright (documents must be in an ASCII-compatible encoding so the
byte scan is sound), and the parser is configured so that even a DOCTYPE
that slipped past the scan would resolve nothing and load nothing.
"""

from __future__ import annotations

import re
from typing import Any, cast

from lxml import etree

from mintstore.errors import InvalidMetadata
from mintstore.formats.limits import Budget

_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY")
_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Encodings in which the byte scan for DOCTYPE is sound (ASCII-compatible).
_ACCEPTED_ENCODINGS = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin1"}


_FEED_SIZE = 1024 * 1024


def _options() -> dict[str, bool]:
    return dict(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _parser() -> etree.XMLParser:
    # A fresh parser per document: lxml parsers keep state and are not
    # safe to share between threads.
    parser: etree.XMLParser = cast(Any, etree.XMLParser)(**_options())
    return parser


def _parse_counted(data: bytes, budget: Budget) -> etree._Element:
    """Parse in slices, charging the budget for every element as it is read.

    A document with a million elements is refused once the budget is spent,
    with only that much of its tree built.
    """
    # The same hardened options as every other parse (typed loosely for lxml's stubs).
    parser = cast(Any, etree.XMLPullParser)(events=("start",), **_options())
    view = memoryview(data)
    for start in range(0, len(data), _FEED_SIZE):
        parser.feed(bytes(view[start : start + _FEED_SIZE]))
        events = sum(1 for _ in parser.read_events())
        budget.take(events, "XML document")
    root: etree._Element = parser.close()
    return root


def parse_untrusted(data: bytes, *, max_size: int, budget: Budget | None = None) -> etree._Element:
    """Parse ``data`` into its root element or raise InvalidMetadata."""
    if len(data) > max_size:
        raise InvalidMetadata(f"XML document of {len(data)} bytes exceeds the {max_size} limit")
    _check_encoding(data)
    if any(marker in data for marker in _FORBIDDEN_MARKUP):
        raise InvalidMetadata("XML documents with a DOCTYPE or entities are not accepted")
    if budget is not None:
        tags = data.count(b"<") - data.count(b"</") - data.count(b"<?") - data.count(b"<!")
        budget.check_markup(tags, "XML elements")
        budget.check_xml_attributes(data.count(b'="') + data.count(b"='"))
        _check_long_tags(data)
    try:
        if budget is not None and budget.limits is not None:
            root = _parse_counted(data, budget)
        else:
            root = etree.fromstring(data, _parser())
    except InvalidMetadata:
        raise  # a budget ran out while parsing
    except (etree.XMLSyntaxError, ValueError) as error:
        raise InvalidMetadata(f"not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise InvalidMetadata("XML documents with a DOCTYPE are not accepted")
    for _ in root.iter(etree.Entity):
        raise InvalidMetadata("XML entity references are not accepted")
    return root


#: A start tag this long is either a long value (UT text) or a pile of attributes.
_LONG_TAG = re.compile(rb"<[^>]{4096,}>")
#: More XML attributes than any MINT element has, with room for extensions.
MAX_ATTRIBUTES_PER_ELEMENT = 64


def _check_long_tags(data: bytes) -> None:
    """Refuse an element with thousands of XML attributes (cheap: only long tags are looked at)."""
    for match in _LONG_TAG.finditer(data):
        tag = match.group()
        count = tag.count(b'="') + tag.count(b"='")
        if count > MAX_ATTRIBUTES_PER_ELEMENT:
            raise InvalidMetadata(
                f"an XML element has {count} attributes (at most {MAX_ATTRIBUTES_PER_ELEMENT})"
            )


def _check_encoding(data: bytes) -> None:
    """Only ASCII-compatible encodings, so that the DOCTYPE scan sees every byte.

    UTF-16, UTF-7, EBCDIC and friends could spell ``<!DOCTYPE`` in bytes the
    scan does not recognize; MINT clients write UTF-8 anyway.
    """
    text = data.removeprefix(_UTF8_BOM).lstrip(b" \t\r\n")
    if text and not text.startswith(b"<"):
        raise InvalidMetadata("XML metadata must be UTF-8 (the document does not start with '<')")
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower() not in _ACCEPTED_ENCODINGS:
        encoding = declared.group(1).decode("ascii")
        raise InvalidMetadata(f"XML metadata must be UTF-8, not {encoding}")
