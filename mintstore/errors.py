"""The one error hierarchy of mintstore.

Every layer raises only these. Adapters translate their SDK's exceptions into
the ``StoreError`` branch (one table per adapter); the study store raises the
domain branch; the HTTP layer maps this hierarchy to statuses in one place.
Keeping one tree means a caller never has to know which backend or layer a
failure came from to handle it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mintstore.file_range import ItemContent


class MintError(Exception):
    """Root of every error mintstore raises on purpose."""


# --- object storage --------------------------------------------------------


class StoreError(MintError):
    """An object-store operation failed for a reason not covered below.

    ``key`` names the object involved (when there is one) so that a log line
    says where the failure happened, not only what the SDK said.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message if key is None else f"{message} (key {key!r})")
        self.key = key


class NotFound(StoreError):
    """The object does not exist."""


class AlreadyExists(StoreError):
    """A create-if-absent put lost: the object was already there.

    This is the one atomic primitive the storage engine builds on, so it must
    never be raised for anything but a genuine create conflict.

    ``identical`` is True when the object was read back and holds exactly the
    bytes this create sent (``mintstore.adapters.lost_answers``): for content
    unique to its writer that proves the create was the writer's own (its
    answer was lost and the SDK's retry met it); for content every writer
    shares (blobs) it only means "already stored".
    """

    def __init__(self, message: str, *, key: str | None = None, identical: bool = False) -> None:
        super().__init__(message, key=key)
        self.identical = identical


class PreconditionFailed(StoreError):
    """A conditional request's precondition did not hold."""


class StoreUnavailable(StoreError):
    """The backend could not be reached or answered with a transient failure.

    Retrying later may succeed; callers may retry idempotent operations.
    """


class AccessDenied(StoreError):
    """The backend refused the credentials or the operation."""


class InvalidKey(StoreError, ValueError):
    """A key is not of the form the object-store interface accepts."""


class NotSupported(StoreError):
    """The backend cannot do this operation at all (not a transient failure)."""


class ConfigurationError(MintError, ValueError):
    """A store URL, option or environment setting is unusable."""


class MissingDependency(ConfigurationError, ImportError):
    """An optional SDK is not installed; the message names the extra to install."""


# --- content and requests -----------------------------------------------------


class InvalidInput(MintError, ValueError):
    """Input from a client is malformed; nothing was changed because of it."""


class SlowRequestBody(MintError, TimeoutError):
    """A request body arrived below the server's minimum rate; nothing was stored.

    A ``TimeoutError`` too, so code that handles a socket timeout on a body
    read handles this the same way; the HTTP edge answers 408.
    """


class InvalidDicom(InvalidInput):
    """A DICOM Part-10 file or dataset could not be read or is not usable."""


class DuplicateInstance(InvalidInput):
    """An instance whose SOP Instance UID is already in the study was added again.

    Raised by the converter's ``StudyBuilder`` (which then stays unchanged) so
    that ingest can tell an idempotent re-send from a conflicting one:
    ``identical_metadata`` says whether every attribute (binary item numbers
    aside) matches the stored instance; if so, ``items`` pairs each stored bid
    with the new binary content that takes its place (empty otherwise), so
    the caller can compare contents (e.g. digests of the stored blobs) without
    the builder keeping any. Identical metadata and identical contents mean
    "already stored": nothing to do. Anything else conflicts with what is
    stored (a 400 if nobody handles it).
    """

    def __init__(
        self,
        sop_instance_uid: str,
        *,
        identical_metadata: bool,
        items: list[tuple[int, ItemContent]],
        reason: str | None = None,
    ) -> None:
        kind = reason or ("identical metadata" if identical_metadata else "different content")
        super().__init__(f"instance {sop_instance_uid} is already in the study ({kind})")
        self.sop_instance_uid = sop_instance_uid
        self.identical_metadata = identical_metadata
        self.items = items
        #: Why the stored instance and the new one differ, for the client
        #: (a FAILED job's reason, a 400, a STOW FailedSOPSequence comment).
        self.reason = reason


class InvalidMetadata(InvalidInput):
    """A MINT metadata document (XML, GPB or JSON) is malformed."""


class InvalidUID(InvalidInput):
    """A DICOM UID does not match ``^[0-9]+(\\.[0-9]+)*$`` or exceeds 64 characters."""


class IntegrityError(MintError):
    """Stored content does not match its recorded digest or size."""


# --- studies ----------------------------------------------------------------------


class StudyNotFound(MintError):
    """No study with that UID has ever been committed."""


class StudyGone(MintError):
    """The study was deleted; reads answer 'gone' rather than 'not found'."""


class ItemNotFound(MintError):
    """A series, instance, binary item, version or change does not exist."""


class VersionConflict(MintError):
    """An update named a version that is no longer current."""


class Locked(MintError):
    """Someone else holds the study's update lock."""


class LockInvalid(MintError):
    """The lock token is unknown, released or expired."""
