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
    StoreError,
    StoreUnavailable,
)

from ._guard import ErrorGuard, error_for_status

#: Swift's own rate-limit status, beside the standard 429.
SWIFT_THROTTLED = (498,)


def translate(error: BaseException, key: str | None) -> StoreError:
    """Map one swiftclient/requests exception to the mintstore error it means."""
    if isinstance(error, ClientException):
        status = int(error.http_status or 0)
        kind = error_for_status(status, throttled=SWIFT_THROTTLED)
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
