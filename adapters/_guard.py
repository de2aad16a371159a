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

from mintstore.errors import StoreError

T = TypeVar("T")

Translate = Callable[[BaseException, str | None], StoreError]
"""An adapter's error table: (SDK exception, key) -> mintstore error."""


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
