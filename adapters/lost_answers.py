"""Create-if-absent whose answer was lost, resolved by reading the object back.

Every SDK retries a request whose answer did not arrive (a connection reset
after the request was sent, a read timeout, a 5xx from a proxy in front of a
server that did the work). For ``PutMode.CREATE`` that retry is wrong-footed:
the first attempt created the object, the retry meets it and reports 412/409,
and the caller concludes that somebody else won the race (seen with botocore
and moto behind a faulty proxy: a committed update answered 409, committed
versions without a change-log entry). A create whose final attempt failed
transiently is just as ambiguous: the write may have happened.

:class:`LostAnswerResolver` wraps any :class:`~.base.ObjectStore` and settles
both cases in the one place every create passes through: when a CREATE of
in-memory bytes reports ``AlreadyExists`` or ``StoreUnavailable``, it reads
the object back. If it holds exactly the bytes sent, the answer becomes
``AlreadyExists(identical=True)``: "it exists, and it is byte for byte what
you sent". Anything else (other bytes, absent, unreadable) leaves the
original answer standing.

What "identical" means is the caller's to say, because only the caller knows
whether its bytes are unique to it. A writer whose content is unique (a
commit record names its writer's nonce, a lease its random token, a
change-log entry embeds its commit record, a marker names its entry) has
won: :func:`create_unique` is that reading, and every create the engine
arbitrates with goes through it. For content every
writer shares (content-addressed blobs) ``AlreadyExists`` keeps
meaning "already stored", so a blob writer still learns that a blob existed
before it (and refreshes it if old, see docs/storage.md); the adapter
contract (exactly one create succeeds) is unchanged.

Streams and objects above :data:`READBACK_LIMIT` are passed through
unresolved: the engine streams or writes large content only for blobs. The
wrapper uses nothing but the contract, so it composes with any other
wrapper; the registry puts it under ``settled.SettledCreates`` on Swift, which
settles an identical answer like any other win.
"""

from __future__ import annotations

from mintstore.errors import AlreadyExists, StoreError, StoreUnavailable

from .base import ObjectInfo, ObjectStore, PutData, PutMode
from .wrapped import WrappedStore

#: Largest in-memory create that is read back to resolve an ambiguous answer.
#: Commit records, change-log entries, markers and leases are a few KiB.
READBACK_LIMIT = 256 * 1024

#: Backends reached over the network, whose SDKs retry: the registry wraps these.
REMOTE_SCHEMES = frozenset({"s3", "azure", "swift"})


class LostAnswerResolver(WrappedStore):
    """An ObjectStore whose ambiguous CREATE answers are settled by a read-back."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        #: How many ambiguous answers turned out to hold the bytes sent (tests, metrics).
        self.resolved = 0

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        if mode is not PutMode.CREATE or not isinstance(data, bytes | bytearray | memoryview):
            return self.inner.put(key, data, mode=mode)
        content = bytes(data)
        if len(content) > READBACK_LIMIT:
            return self.inner.put(key, content, mode=mode)
        try:
            return self.inner.put(key, content, mode=mode)
        except (AlreadyExists, StoreUnavailable) as answer:
            if not self._holds(key, content):
                raise
            self.resolved += 1
            raise AlreadyExists(
                "the object holds exactly the bytes of this create", key=key, identical=True
            ) from answer

    def _holds(self, key: str, content: bytes) -> bool:
        """True if the object holds exactly ``content``."""
        try:
            with self.inner.get(key) as reader:
                stored = reader.read(len(content) + 1)
        except StoreError:
            return False  # absent or unreadable: the original answer stands
        return bool(stored == content)


def create_unique(store: ObjectStore, key: str, data: bytes) -> ObjectInfo | None:
    """CREATE ``data``, which must be unique to this writer; AlreadyExists if someone else won.

    Returns the object's info, or None when the create turned out to be our
    own after a lost answer (``AlreadyExists.identical``: nobody else can have
    written these bytes).
    """
    try:
        return store.put(key, data, mode=PutMode.CREATE)
    except AlreadyExists as exc:
        if not exc.identical:
            raise
        return None


def resolve_lost_answers(store: ObjectStore) -> ObjectStore:
    """``store`` wrapped so that a lost create answer is never read as a lost race."""
    return LostAnswerResolver(store)
