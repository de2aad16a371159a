"""Search parameters turned into a row predicate, and the continuation token.

Dates filter on the study's real StudyDate/StudyTime; issuers on the real
IssuerOfPatientID and IssuerOfAccessionNumberSequence values.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime

from mintstore.errors import InvalidInput

from .records import IndexRow
from .types import SearchQuery

_DATE = re.compile(r"\d{8}")
_BASIC = re.compile(r"(\d{8})(?:T(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?)?")


def parse_date_time(text: str) -> datetime:
    """ISO-8601 basic (20020711T144114) or extended (2002-07-11T14:41:14); naive.

    A time-zone suffix is ignored: DICOM study times are local times.
    """
    cleaned = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", text.strip())
    try:
        if "-" in cleaned or ":" in cleaned:
            return datetime.fromisoformat(cleaned).replace(tzinfo=None)
        match = _BASIC.fullmatch(cleaned)
        if match is None:
            raise ValueError(text)
        date, hh, mm, ss, frac = match.groups()
        return datetime(
            int(date[:4]),
            int(date[4:6]),
            int(date[6:]),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise InvalidInput(f"not an ISO-8601 date-time: {text!r}") from exc


def row_date_time(row: IndexRow) -> datetime | None:
    """StudyDate + StudyTime (DICOM TM: HH[MM[SS[.F]]]) as a naive datetime."""
    if not row.study_date or not _DATE.fullmatch(row.study_date):
        return None
    time_text = (row.study_time or "").replace(":", "")
    digits, _, fraction = time_text.partition(".")
    try:
        return datetime(
            int(row.study_date[:4]),
            int(row.study_date[4:6]),
            int(row.study_date[6:]),
            int(digits[0:2] or 0),
            int(digits[2:4] or 0),
            int(digits[4:6] or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None


def _date(text: str | None, name: str) -> str | None:
    if text is None or text == "":
        return None
    if not _DATE.fullmatch(text):
        raise InvalidInput(f"{name} must be yyyyMMdd, got {text!r}")
    return text


def matcher(query: SearchQuery) -> Callable[[IndexRow], bool]:
    """A predicate for every constraint of the query (validating it first)."""
    min_date = _date(query.min_study_date, "minStudyDate")
    max_date = _date(query.max_study_date, "maxStudyDate")
    min_dt = parse_date_time(query.min_study_date_time) if query.min_study_date_time else None
    max_dt = parse_date_time(query.max_study_date_time) if query.max_study_date_time else None
    modalities = {m.strip().upper() for m in query.modalities_in_study if m.strip()}
    exact = [
        ("study_uid", query.study_instance_uid),
        ("patient_id", query.patient_id),
        ("patient_id_issuer", query.patient_id_issuer),
        ("accession_number", query.accession_number),
        ("accession_number_issuer", query.accession_number_issuer),
    ]
    exact = [(field, value) for field, value in exact if value]

    def accept(row: IndexRow) -> bool:
        for field, value in exact:
            if getattr(row, field) != value:
                return False
        if modalities and not modalities.intersection(m.upper() for m in row.modalities):
            return False
        if min_date or max_date:
            if not row.study_date:
                return False
            if min_date and row.study_date < min_date:
                return False
            if max_date and row.study_date > max_date:
                return False
        if min_dt or max_dt:
            when = row_date_time(row)
            if when is None:
                return False
            if min_dt and when < min_dt:
                return False
            if max_dt and when > max_dt:
                return False
        return True

    return accept


_TOKEN = "uid1."
#: Since run 6: ``uid2.<applied>.<uid>``, the change-log position the page was
#: answered at as well (:func:`continuation_pin`).
_PINNED = "uid2."


def make_continuation(last_uid: str, applied: int | None = None) -> str:
    """The token of the next page: the last UID returned (and the log position seen).

    The UID is the cursor (pages never skip or repeat a study); ``applied``
    pins what the next page must at least see, so a process that has
    already folded that far answers it without checking the change log's
    tail again (one GET a page less for read-all on an object store).
    """
    text = _TOKEN + last_uid if applied is None else f"{_PINNED}{applied}.{last_uid}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _token_text(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"invalid continuation token {token!r}") from exc
    if text.startswith(_TOKEN):
        return text
    if text.startswith(_PINNED):
        applied, dot, _ = text[len(_PINNED) :].partition(".")
        if dot and applied.isdigit() and len(applied) <= 18:
            return text
    raise InvalidInput(f"invalid continuation token {token!r}")


def continuation_after(token: str | None) -> str | None:
    """The UID a continuation token resumes after (None without a token)."""
    if not token:
        return None
    text = _token_text(token)
    if text.startswith(_TOKEN):
        return text[len(_TOKEN) :]
    return text[len(_PINNED) :].partition(".")[2]


def continuation_pin(token: str | None) -> int | None:
    """The change-log position a token pins (None: none, the tail is checked)."""
    if not token:
        return None
    text = _token_text(token)
    if text.startswith(_TOKEN):
        return None
    return int(text[len(_PINNED) :].partition(".")[0])


def date_bounds(query: SearchQuery) -> tuple[str | None, str | None]:
    """StudyDate bounds (yyyyMMdd, inclusive) implied by the date and date-time parameters.

    A superset filter for choosing candidates; :func:`matcher` decides exactly.
    """
    lows = [query.min_study_date or ""]
    highs = [query.max_study_date or "99999999"]
    for text, bucket in ((query.min_study_date_time, lows), (query.max_study_date_time, highs)):
        if text:
            bucket.append(parse_date_time(text).strftime("%Y%m%d"))
    low, high = max(lows), min(highs)
    return (low or None), (None if high == "99999999" else high)
