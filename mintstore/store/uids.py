"""UID validation before a UID reaches a key or a document."""

from __future__ import annotations

import re

from mintstore.errors import InvalidUID

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def check_uid(uid: str) -> str:
    if not isinstance(uid, str) or len(uid) > 64 or not _UID.fullmatch(uid):
        raise InvalidUID(f"not a valid DICOM UID: {str(uid)[:80]!r}")
    return uid
