"""The one parser for every number, version, token and limit a request carries.

Query parameters, form fields, path segments and headers arrive as text that
any client can fill with anything: ``²`` (``str.isdigit()`` says yes,
``int()`` says no), ten thousand digits (``int()`` refuses more than 4,300),
a sign, spaces, a 1 MB "token". Every route parses such values here, so each
rule is written once: ASCII digits only, a bounded length, a range check,
and an :class:`~mintstore.errors.InvalidInput` (400) that names the parameter
otherwise. Nothing here touches the store.
"""

from __future__ import annotations

import re

from mintstore.errors import InvalidInput

#: Largest study version, change number or offset: what the wire formats
#: carry (a signed 64-bit integer; MINT-SPEC 3).
MAX_VERSION = 2**63 - 1
#: Digits of the largest value above; longer text is refused before ``int()``.
MAX_DIGITS = 19
#: Longest opaque token (lock tokens, continuation tokens) we look at.
MAX_TOKEN_LENGTH = 512

_DIGITS = re.compile(r"[0-9]{1,19}")
# A lock token is "<generation>.<32 hex digits>" (mintstore.store.locks).
_LOCK_TOKEN = re.compile(r"[0-9]{1,19}\.[0-9a-f]{32}")
# Continuation tokens are unpadded urlsafe base64 (mintstore.store.search/changelog).
_CONTINUATION = re.compile(r"[A-Za-z0-9_\-]+={0,2}")


def _shown(raw: str) -> str:
    """The value as an error message may quote it: short and printable."""
    return repr(raw[:40]) + ("..." if len(raw) > 40 else "")


def parse_int(raw: str, what: str, *, minimum: int = 0, maximum: int = MAX_VERSION) -> int:
    """A decimal integer in ``minimum..maximum``: ASCII digits only, no sign, no spaces."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        raise InvalidInput(
            f"{what} must be a non-negative integer of at most {MAX_DIGITS} ASCII digits, "
            f"not {_shown(str(raw))}"
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{what} must be between {minimum} and {maximum}, not {value}")
    return value


def optional_int(
    raw: str | None, what: str, *, default: int, minimum: int = 0, maximum: int = MAX_VERSION
) -> int:
    """:func:`parse_int`, with ``default`` for an absent or empty value."""
    if raw is None or raw == "":
        return default
    return parse_int(raw, what, minimum=minimum, maximum=maximum)


def parse_version(raw: str, what: str = "version") -> int:
    """A study version (``?version=``, ``oldVersion``, a change number)."""
    return parse_int(raw, what, maximum=MAX_VERSION)


def parse_if_match(header: str) -> int:
    """The version named by an ``If-Match`` header: ``"N"`` (also ``W/"N"`` or bare ``N``).

    Only one entity tag is meaningful for a study (its current version); a
    list or ``*`` is refused rather than guessed at.
    """
    value = header.strip()
    if len(value) > MAX_DIGITS + 4:
        raise InvalidInput(f"If-Match must name one version like '\"3\"', not {_shown(value)}")
    value = value.removeprefix("W/")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return parse_int(value, "If-Match version")


def parse_lock_token(raw: str) -> str:
    """A lock token as :meth:`StudyStore.acquire_lock` issues it: ``<n>.<32 hex>``."""
    if not isinstance(raw, str) or not _LOCK_TOKEN.fullmatch(raw):
        raise InvalidInput(f"malformed lock token {_shown(str(raw))}")
    return raw


def parse_continuation(raw: str | None) -> str | None:
    """A continuation token (opaque base64 text); ``None`` or empty means none."""
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_TOKEN_LENGTH or not _CONTINUATION.fullmatch(raw):
        raise InvalidInput(f"invalid continuation token {_shown(raw)}")
    return raw
