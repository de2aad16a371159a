"""The Swift adapter's error table: swiftclient exceptions -> mintstore errors.

swiftclient raises one ``ClientException`` carrying the HTTP status (or
none, for failures before any response, such as a missing keystone
library), and lets the ``requests`` exceptions of its transport escape when
the server cannot be reached.
"""

from __future__ import annotations

import requests
import urllib3.exceptions
from swiftclient import ClientException

from mintstore.errors import (
    AccessDenied,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)

from ._guard import ErrorGuard


def _by_status(status: int) -> type[StoreError]:
    if status in (401, 403):
        return AccessDenied
    if status == 404:
        return NotFound
    if status == 412:
        return PreconditionFailed
    # 498 is Swift's rate-limit status, 429 the standard one.
    if status in (429, 498) or status >= 500:
        return StoreUnavailable
    return StoreError


def translate(error: BaseException, key: str | None) -> StoreError:
    """Map one swiftclient/requests exception to the mintstore error it means."""
    if isinstance(error, ClientException):
        status = int(error.http_status or 0)
        kind = _by_status(status)
        reason = f"{status} {error.http_reason}".strip() if status else str(error.msg)
        if kind is AccessDenied:
            return AccessDenied(
                f"Swift refused the request ({reason}); check ST_AUTH/ST_USER/ST_KEY or the "
                "OS_* variables (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME...)",
                key=key,
            )
        return kind(f"Swift request failed ({reason})", key=key)
    if isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError):
        return StoreUnavailable(
            f"Swift could not be reached or the transfer broke: {error}", key=key
        )
    return StoreError(f"Swift request failed: {error}", key=key)


#: Everything swiftclient and its transport raise.
SDK_ERRORS: tuple[type[Exception], ...] = (
    ClientException,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
)

GUARD = ErrorGuard(SDK_ERRORS, translate)
