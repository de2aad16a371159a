"""Small XML documents of the HTTP API (study roots, search results, job status...).

They are built with lxml so values are always escaped, and serialized in the
MINT namespace like the RI's responses.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

MINT_NS = "http://medical.nema.org/mint"


def element(tag: str, attributes: Mapping[str, str | None] | None = None) -> etree._Element:
    """A MINT-namespace element with the non-None attributes set."""
    node = etree.Element(f"{{{MINT_NS}}}{tag}", nsmap={None: MINT_NS})  # type: ignore[dict-item]
    for name, value in (attributes or {}).items():
        if value is not None:
            node.set(name, value)
    return node


def child(
    parent: etree._Element, tag: str, attributes: Mapping[str, str | None] | None = None
) -> etree._Element:
    """A MINT-namespace child element with the non-None attributes set."""
    node = etree.SubElement(parent, f"{{{MINT_NS}}}{tag}")
    for name, value in (attributes or {}).items():
        if value is not None:
            node.set(name, value)
    return node


def serialize(root: etree._Element) -> bytes:
    """UTF-8 XML with its declaration."""
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
