"""DICOM UID validation at the HTTP boundary.

A study, series or SOP UID arriving in a URL or a form field is checked here
before anything derives an object key or a log line from it, so that ``../``
or a 10 kB "UID" is refused with 400 and never reaches the store.
"""

from __future__ import annotations

import re

from mintstore.errors import InvalidUID

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
MAX_UID_LENGTH = 64


def validate_uid(value: str, what: str = "UID") -> str:
    """Return ``value`` if it is a valid DICOM UID, else raise ``InvalidUID``."""
    if len(value) > MAX_UID_LENGTH:
        raise InvalidUID(f"{what} is longer than {MAX_UID_LENGTH} characters")
    if not _UID.fullmatch(value):
        raise InvalidUID(f"{what} {value[:80]!r} is not a DICOM UID (digits and dots)")
    return value
