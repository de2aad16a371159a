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
the object back; byte-identical content means the create was ours (it
succeeded), anything else (other bytes, absent, unreadable) leaves the
original answer standing.

That is only sound because every object the engine arbitrates with CREATE
carries content unique to its writer (a commit record names its writer's
nonce, a lease its random token; a change-log entry embeds its commit record
and a marker names its entry, so two writers producing identical bytes agree
on what the object means). Content-addressed blobs and manifests are
identical for every writer by construction, where "already there" is success
anyway. Streams and objects above :data:`READBACK_LIMIT` are passed through
unresolved: the engine only streams or writes large content for blobs.

The wrapper is independent of any other wrapper (it only uses the contract),
so it composes with, e.g., a settle-and-confirm wrapper for Swift.
"""

from __future__ import annotations

from collections.abc import Iterator

from mintstore.errors import AlreadyExists, StoreError, StoreUnavailable

from .base import ObjectInfo, ObjectReader, ObjectStore, PutData, PutMode

#: Largest in-memory create that is read back to resolve an ambiguous answer.
#: Commit records, change-log entries, markers and leases are a few KiB.
READBACK_LIMIT = 256 * 1024

#: Backends reached over the network, whose SDKs retry: the registry wraps these.
REMOTE_SCHEMES = frozenset({"s3", "azure", "swift"})


class LostAnswerResolver(ObjectStore):
    """An ObjectStore whose ambiguous CREATE answers are settled by a read-back."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.atomic_create = inner.atomic_create
        #: How many ambiguous creates turned out to be our own (for tests/metrics).
        self.resolved = 0

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        if mode is not PutMode.CREATE or not isinstance(data, bytes | bytearray | memoryview):
            return self.inner.put(key, data, mode=mode)
        content = bytes(data)
        if len(content) > READBACK_LIMIT:
            return self.inner.put(key, content, mode=mode)
        try:
            return self.inner.put(key, content, mode=mode)
        except (AlreadyExists, StoreUnavailable):
            info = self._holding(key, content)
            if info is None:
                raise
            self.resolved += 1
            return info

    def _holding(self, key: str, content: bytes) -> ObjectInfo | None:
        """The object's info if it holds exactly ``content``, else None."""
        try:
            with self.inner.get(key) as reader:
                stored = reader.read(len(content) + 1)
                info = reader.info
        except StoreError:
            return None  # absent or unreadable: the original answer stands
        return info if stored == content else None

    def get(self, key: str) -> ObjectReader:
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return self.inner.get_range(key, start, end)

    def head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        return self.inner.list(prefix, start_after=start_after)

    def close(self) -> None:
        self.inner.close()


def resolve_lost_answers(store: ObjectStore) -> ObjectStore:
    """``store`` wrapped so that a lost create answer is never read as a lost race."""
    return LostAnswerResolver(store)
