"""The S3 adapter's error table: botocore exceptions -> mintstore errors.

S3 reports most failures as a ``ClientError`` whose error code says what
happened; ``HEAD`` responses have no body, so only the HTTP status is left
and the table falls back to it. Everything else botocore raises is about
reaching the service (connection, timeout, truncated stream) or about local
configuration (credentials).
"""

from __future__ import annotations

import urllib3.exceptions
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)

from mintstore.errors import (
    AccessDenied,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)

from ._guard import ErrorGuard, error_for_status

#: S3 error codes, by what they mean for a caller.
_BY_CODE: dict[str, type[StoreError]] = {
    **dict.fromkeys(["NoSuchKey", "NotFound", "404"], NotFound),
    **dict.fromkeys(["PreconditionFailed", "412"], PreconditionFailed),
    **dict.fromkeys(
        [
            "AccessDenied",
            "AllAccessDisabled",
            "AccountProblem",
            "ExpiredToken",
            "InvalidAccessKeyId",
            "InvalidClientTokenId",
            "InvalidToken",
            "RequestTimeTooSkewed",
            "SignatureDoesNotMatch",
            "TokenRefreshRequired",
            "UnrecognizedClientException",
            "401",
            "403",
        ],
        AccessDenied,
    ),
    **dict.fromkeys(
        [
            "InternalError",
            "RequestTimeout",
            "ServiceUnavailable",
            "SlowDown",
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "503",
            "500",
        ],
        StoreUnavailable,
    ),
}

#: Returned by S3 when two conditional writes to one key overlap; AWS asks the
#: client to retry the request (the retry then succeeds or gets 412).
CONDITIONAL_CONFLICT = "ConditionalRequestConflict"


def error_code(error: ClientError) -> str:
    """The S3 error code of a ``ClientError`` ("" if the response had none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def _http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _from_client_error(error: ClientError, key: str | None) -> StoreError:
    code = error_code(error)
    status = _http_status(error)
    message = str(error.response.get("Error", {}).get("Message", "")) or code
    kind = _BY_CODE.get(code) or error_for_status(status)
    operation = error.operation_name
    if kind is AccessDenied:
        return AccessDenied(
            f"S3 refused {operation} ({code}: {message}); check the credentials "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy",
            key=key,
        )
    if code == "NoSuchBucket":
        return StoreError(f"S3 {operation}: the bucket does not exist ({message})", key=key)
    return kind(f"S3 {operation} failed ({code or status}: {message})", key=key)


def translate(error: BaseException, key: str | None) -> StoreError:
    """Map one botocore/urllib3 exception to the mintstore error it means."""
    if isinstance(error, ClientError):
        return _from_client_error(error, key)
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return AccessDenied(
            f"no usable S3 credentials ({error}); set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment given to the store",
            key=key,
        )
    if isinstance(
        error,
        ConnectionError | HTTPClientError | IncompleteReadError | urllib3.exceptions.HTTPError,
    ):
        return StoreUnavailable(f"S3 could not be reached or the transfer broke: {error}", key=key)
    return StoreError(f"S3 request failed: {error}", key=key)


GUARD = ErrorGuard((BotoCoreError, ClientError, urllib3.exceptions.HTTPError), translate)
