"""The Azure adapter's error table: azure-core exceptions -> mintstore errors.

The storage service puts a precise code in ``x-ms-error-code`` (exposed as
``error_code``); azure-core adds a coarse exception class per status. The
table trusts the code first and falls back to the status, so a code the
table does not know still lands in the right family.
"""

from __future__ import annotations

import requests
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from mintstore.errors import (
    AccessDenied,
    AlreadyExists,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)

from ._guard import ErrorGuard, error_for_status

_BY_CODE: dict[str, type[StoreError]] = {
    **dict.fromkeys(["BlobNotFound", "ResourceNotFound"], NotFound),
    # Only a lost create-if-absent may become AlreadyExists; other 409s
    # (leases, rehydration, ...) are plain StoreErrors by status.
    **dict.fromkeys(["BlobAlreadyExists"], AlreadyExists),
    **dict.fromkeys(["ConditionNotMet", "TargetConditionNotMet"], PreconditionFailed),
    **dict.fromkeys(
        [
            "AuthenticationFailed",
            "AuthorizationFailure",
            "AuthorizationPermissionMismatch",
            "AuthorizationResourceTypeMismatch",
            "AuthorizationSourceIPMismatch",
            "InsufficientAccountPermissions",
            "InvalidAuthenticationInfo",
            "NoAuthenticationInformation",
            "AccountIsDisabled",
        ],
        AccessDenied,
    ),
    **dict.fromkeys(
        ["ServerBusy", "InternalError", "OperationTimedOut", "ServiceUnavailable"],
        StoreUnavailable,
    ),
}


def error_code(error: HttpResponseError) -> str:
    """The storage error code of a response error ("" if none)."""
    raw_code = getattr(error, "error_code", None) or ""
    return str(getattr(raw_code, "value", raw_code))  # a str or a StorageErrorCode


def _from_response_error(error: HttpResponseError, key: str | None) -> StoreError:
    code = error_code(error)
    status = int(error.status_code or 0)
    kind = _BY_CODE.get(code) or error_for_status(status)
    if isinstance(error, ClientAuthenticationError):
        kind = AccessDenied
    reason = f"{code or status}: {error.reason or error.message.splitlines()[0]}"
    if kind is AccessDenied:
        return AccessDenied(
            f"Azure refused the request ({reason}); check AZURE_STORAGE_CONNECTION_STRING "
            "or AZURE_STORAGE_KEY/AZURE_STORAGE_ACCOUNT_URL and the container's access",
            key=key,
        )
    if code == "ContainerNotFound":
        return StoreError("Azure: the container does not exist", key=key)
    return kind(f"Azure request failed ({reason})", key=key)


def translate(error: BaseException, key: str | None) -> StoreError:
    """Map one azure-core (or underlying requests) exception to a mintstore error."""
    if isinstance(error, HttpResponseError):
        return _from_response_error(error, key)
    if isinstance(error, ServiceRequestError | ServiceResponseError | requests.RequestException):
        return StoreUnavailable(
            f"Azure could not be reached or the transfer broke: {error}", key=key
        )
    return StoreError(f"Azure request failed: {error}", key=key)


GUARD = ErrorGuard((AzureError, requests.RequestException), translate)
