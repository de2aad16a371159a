"""Reading the pre-1.0 MINT XML dialect of the RI's historical samples.

The samples in mint-ri-testdata (``StudyMeta``, ``Attributes``, ``Attr``,
``SeriesList``, ``Series``, ``NormalizedInstanceAttributes``, ``Instances``,
``Instance``, ``Item``; ``exclude="remove"``; sometimes no namespace, an
``xfer`` attribute instead of ``transferSyntaxUID`` and no
``sopInstanceUID``) have the same structure as MINT 1.x with other names,
so this is the 1.x reader run with the old names; ``val=""`` reads as an
empty value and a missing ``sopInstanceUID`` is taken from the instance's
SOP Instance UID attribute. :func:`mintstore.formats.decode` recognizes the
dialect by its root element too, so RI clients may send either.
"""

from __future__ import annotations

from mintstore.formats.limits import DEFAULT_MAX_DOCUMENT_SIZE
from mintstore.formats.safe_xml import parse_untrusted
from mintstore.formats.xml_reader import LEGACY, read_study
from mintstore.model import Study


def read_legacy(data: bytes, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> Study:
    """Parse a pre-1.0 ``StudyMeta`` document into the study model."""
    return read_study(parse_untrusted(data, max_size=max_size), LEGACY)
