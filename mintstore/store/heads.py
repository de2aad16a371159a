"""Which version of a study is the newest: the one question a read asks the bucket.

Everything else a read needs is immutable (commit records, documents, item
tables, blobs are named by version or digest and cached forever), so the
cost of a warm read is the cost of answering this question.

* Strict (``StoreConfig.freshness`` = 0): every resolution lists the study's
  log after the newest version already known (one LIST, usually empty), so a
  write anywhere is visible to the next read everywhere.
* With a window W: this process follows the system change log instead, one
  request for the whole store at most every W, and trusts what it knows in
  between. A commit made elsewhere becomes visible here within W (plus the
  time its writer takes to publish the change-log entry; a crashed writer's
  entry is backfilled later). This process's own commits are visible to it
  at once (read-your-writes).

The follow is sound because change-log entries are numbered without gaps in
creation order: the position is taken before any study is listed, so every
commit a listing did not see gets an entry after that position.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from mintstore.errors import StoreError

from .changelog import ChangeLog
from .layout import log_key
from .log import StudyLog

#: How many studies' newest versions one process remembers (LRU); a
#: forgotten study is simply listed again on its next read.
MAX_TRACKED = 200_000
_ABSENT = -1


class HeadTracker:
    """Resolves a study's newest version, strictly or within a freshness window."""

    def __init__(
        self,
        log: StudyLog,
        changes: ChangeLog,
        window_seconds: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        capacity: int = MAX_TRACKED,
    ) -> None:
        self._log = log
        self._changes = changes
        self._window = max(0.0, window_seconds)
        self._monotonic = monotonic
        self._capacity = capacity
        self._lock = threading.Lock()
        self._follow_lock = threading.Lock()
        self._known: OrderedDict[str, int] = OrderedDict()  # skey -> version, -1 = none
        self._position: int | None = None  # the last change-log entry followed
        self._followed_at: float | None = None

    @property
    def strict(self) -> bool:
        return self._window == 0.0

    def latest(self, skey: str) -> int | None:
        """The newest committed version of the study (None: never committed)."""
        if self.strict:
            return self._log.latest_version(skey)
        self._follow_if_due()
        with self._lock:
            known = self._known.get(skey)
            if known is not None:
                self._known.move_to_end(skey)
        if known is not None:
            return None if known == _ABSENT else known
        found = self._log.latest_version(skey)
        self._remember(skey, _ABSENT if found is None else found, only_newer=True)
        return found

    def newest_at_least(self, skey: str, version: int) -> int:
        """The newest version of a study whose ``version`` is known to exist.

        Costs no LIST: the known head is trusted within the window; otherwise
        one HEAD of the next version's record tells whether anything newer
        exists (versions have no gaps), and only then is the log listed.
        """
        if not self.strict:
            self._follow_if_due()
            with self._lock:
                known = self._known.get(skey)
            if known is not None and known >= version:
                return known
        newest = max(version, self._log.known_latest(skey) or version)
        if not self._log.objects.exists(log_key(skey, newest + 1)):
            self._remember(skey, newest, only_newer=True)
            return newest
        found = self._log.latest_version(skey)
        assert found is not None  # version exists, so the log is not empty
        self._remember(skey, found, only_newer=True)
        return found

    def note(self, skey: str, version: int) -> None:
        """This process committed ``version`` (read-your-writes)."""
        self._remember(skey, version, only_newer=True, add=True)

    def _remember(self, skey: str, version: int, *, only_newer: bool, add: bool = True) -> None:
        if self.strict:
            return
        with self._lock:
            old = self._known.get(skey)
            if old is None and not add:
                return
            if old is not None and only_newer and old > version:
                return
            self._known[skey] = version
            self._known.move_to_end(skey)
            while len(self._known) > self._capacity:
                self._known.popitem(last=False)

    def _follow_if_due(self) -> None:
        if self._due():
            with self._follow_lock:
                if self._due():
                    self._follow()

    def _due(self) -> bool:
        followed = self._followed_at
        return followed is None or self._monotonic() - followed >= self._window

    def _follow(self) -> None:
        started = self._monotonic()
        try:
            if self._position is None:
                self._position = self._changes.tail()
                self._followed_at = started
                return
            # Raw entries, not validated changes: an entry exists only once its
            # version's commit record does, so even a void duplicate names a
            # committed version. That spares the marker GET per entry a page
            # of valid changes costs (1 GET per new entry + 1, not 2 + 1).
            for entry in self._changes.entries_after(self._position):
                # Only studies this process has looked at are tracked; the
                # others are listed on their first read (after this position).
                self._remember(entry.study_key, entry.record.version, only_newer=True, add=False)
                self._position = entry.sequence
        except StoreError:
            # The store is unreachable: forget what we knew rather than serve
            # it beyond the window; the next read retries (and lists).
            with self._lock:
                self._known.clear()
            self._position = None
            self._followed_at = None
            raise
        self._followed_at = started
