"""UID validation before a UID reaches a key or a document."""

from __future__ import annotations

import re

from mintstore.errors import InvalidUID
from mintstore.model import Study

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def check_uid(uid: str) -> str:
    if not isinstance(uid, str) or len(uid) > 64 or not _UID.fullmatch(uid):
        raise InvalidUID(f"not a valid DICOM UID: {str(uid)[:80]!r}")
    return uid


def check_study_uids(study: Study) -> None:
    """Every UID of an upload that a URL will later address must be a valid DICOM UID.

    The format decoders accept any printable UID (stored data from real
    files breaks the syntax), but a series ``../../x`` or ``1.2&1`` stored
    from an upload could never be fetched again: ``/studies/{s}/{series}/{sop}``
    validates its segments. So uploads are held to the URL rule here, before
    anything is written. Series and instances an update delta marks
    ``exclude`` are removals of what is stored and are not checked.
    """
    check_uid(study.study_instance_uid)
    for series_uid, series in study.series.items():
        if not series.exclude:
            _check_part(series_uid, "series instance UID")
        for sop_uid, instance in series.instances.items():
            if not instance.exclude:
                _check_part(sop_uid, "SOP instance UID")


def _check_part(uid: str, what: str) -> None:
    try:
        check_uid(uid)
    except InvalidUID:
        raise InvalidUID(f"{what} {str(uid)[:80]!r} is not a valid DICOM UID") from None
