"""Keeping SDK exceptions inside an adapter.

Each cloud adapter owns one translation function (its error table); this
module applies it uniformly: around a call, and around every step of an
iterator, because a streaming download or a paged listing fails while the
caller iterates, long after the adapter method has returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from mintstore.errors import (
    AccessDenied,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)

T = TypeVar("T")

Translate = Callable[[BaseException, str | None], StoreError]
"""An adapter's error table: (SDK exception, key) -> mintstore error."""


def error_for_status(status: int, *, throttled: tuple[int, ...] = (429,)) -> type[StoreError]:
    """The error an HTTP status means when the SDK gave no more specific code.

    The one fallback every cloud adapter shares: 401/403 denied, 404 missing,
    412 precondition, throttling and 5xx unavailable (retry later), anything
    else a plain store error. ``throttled`` adds a backend's own rate-limit
    statuses (Swift's 498).
    """
    if status in (401, 403):
        return AccessDenied
    if status == 404:
        return NotFound
    if status == 412:
        return PreconditionFailed
    if status in throttled or status == 429 or status >= 500:
        return StoreUnavailable
    return StoreError


class ErrorGuard:
    """Translates the exceptions of one SDK with one table."""

    def __init__(self, sdk_errors: tuple[type[BaseException], ...], translate: Translate) -> None:
        self._sdk_errors = sdk_errors
        self._translate = translate

    @contextmanager
    def around(self, key: str | None) -> Iterator[None]:
        """Translate SDK exceptions raised inside the ``with`` block."""
        try:
            yield
        except self._sdk_errors as exc:
            raise self._translate(exc, key) from exc

    def iterate(self, items: Iterable[T], key: str | None) -> Iterator[T]:
        """Yield from ``items``, translating SDK exceptions raised while iterating."""
        with self.around(key):
            yield from items

    def call(self, function: Callable[[], T], key: str | None) -> T:
        """Call ``function`` with translation (for callbacks such as close)."""
        with self.around(key):
            return function()
