"""Parsing untrusted XML without letting the document reach outside itself.

Metadata documents come from clients. A DOCTYPE is the door to entity
expansion (billion laughs), external entities (``file:///etc/passwd``) and
network fetches, and MINT documents never need one, so any DOCTYPE is
refused outright; the parser is configured so that even a DOCTYPE slipping
past the byte scan (e.g. in UTF-16) resolves nothing and loads nothing.
"""

from __future__ import annotations

from lxml import etree

from mintstore.errors import InvalidMetadata

_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY")


def _parser() -> etree.XMLParser:
    # A fresh parser per document: lxml parsers keep state and are not
    # safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_untrusted(data: bytes, *, max_size: int) -> etree._Element:
    """Parse ``data`` into its root element or raise InvalidMetadata."""
    if len(data) > max_size:
        raise InvalidMetadata(f"XML document of {len(data)} bytes exceeds the {max_size} limit")
    if any(marker in data for marker in _FORBIDDEN_MARKUP):
        raise InvalidMetadata("XML documents with a DOCTYPE or entities are not accepted")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        raise InvalidMetadata(f"not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise InvalidMetadata("XML documents with a DOCTYPE are not accepted")
    for _ in root.iter(etree.Entity):
        raise InvalidMetadata("XML entity references are not accepted")
    return root
