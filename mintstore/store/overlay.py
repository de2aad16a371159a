"""The recent rows of the index, in memory: the delta partitions and the log's tail.

Bounded by construction (compaction keeps the delta partitions under
``IndexConfig.delta_rows`` and the tail under ``compact_every``-ish), so a
process holds the same small amount whatever the archive size. Rows are
folded by version (the highest wins; deletions are rows too), so applying a
row twice, or an older one late, changes nothing.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable

from .records import IndexRow
from .search import date_bounds
from .types import SearchQuery


class Overlay:
    """Recent rows by study UID, with lookup maps for each search driver."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rows: dict[str, IndexRow] = {}
        self.keys: dict[str, str] = {}
        self._order: list[str] = []
        self._dates: list[tuple[str, str]] = []
        self._by_patient: dict[str, set[str]] = {}
        self._by_accession: dict[str, set[str]] = {}
        self._by_modality: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def _link(self, row: IndexRow) -> None:
        uid = row.study_uid
        if row.patient_id:
            self._by_patient.setdefault(row.patient_id, set()).add(uid)
        if row.accession_number:
            self._by_accession.setdefault(row.accession_number, set()).add(uid)
        for modality in row.modalities:
            self._by_modality.setdefault(modality.upper(), set()).add(uid)
        if row.study_date:
            bisect.insort(self._dates, (row.study_date, uid))

    def _unlink(self, row: IndexRow) -> None:
        uid = row.study_uid
        for mapping, values in (
            (self._by_patient, [row.patient_id]),
            (self._by_accession, [row.accession_number]),
            (self._by_modality, [m.upper() for m in row.modalities]),
        ):
            for value in values:
                if value and value in mapping:
                    mapping[value].discard(uid)
        if row.study_date:
            position = bisect.bisect_left(self._dates, (row.study_date, uid))
            if position < len(self._dates) and self._dates[position] == (row.study_date, uid):
                del self._dates[position]

    def apply(self, skey: str, row: IndexRow) -> None:
        with self.lock:
            uid = row.study_uid
            old = self.rows.get(uid)
            if old is not None and old.version > row.version:
                return
            if old is None:
                bisect.insort(self._order, uid)
                self.keys[uid] = skey
            else:
                self._unlink(old)
            self.rows[uid] = row
            self._link(row)

    def apply_all(self, rows: Iterable[tuple[str, IndexRow]]) -> None:
        for skey, row in rows:
            self.apply(skey, row)

    def get(self, uid: str) -> IndexRow | None:
        return self.rows.get(uid)

    def items(self) -> list[tuple[str, IndexRow]]:
        with self.lock:
            return [(self.keys[uid], row) for uid, row in self.rows.items()]

    def candidates(self, query: SearchQuery, after: str | None) -> list[str]:
        """The UIDs that can match, in UID order, after ``after`` (a superset)."""
        with self.lock:
            if query.study_instance_uid:
                uid = query.study_instance_uid
                return [uid] if uid in self.rows and _after(uid, after) else []
            options: list[tuple[int, Callable[[], Iterable[str]]]] = []
            if query.patient_id:
                chosen = self._by_patient.get(query.patient_id, set())
                options.append((len(chosen), lambda: chosen))
            if query.accession_number:
                acc = self._by_accession.get(query.accession_number, set())
                options.append((len(acc), lambda: acc))
            modalities = {m.strip().upper() for m in query.modalities_in_study if m.strip()}
            if modalities:
                sets = [self._by_modality.get(m, set()) for m in modalities]
                options.append((sum(len(x) for x in sets), lambda: set().union(*sets)))
            low, high = date_bounds(query)
            if low or high:
                start = bisect.bisect_left(self._dates, (low or "",))
                stop = bisect.bisect_right(self._dates, (high or "99999999", "\uffff"))
                dates = self._dates
                options.append((max(0, stop - start), lambda: [u for _, u in dates[start:stop]]))
            if not options:
                first = bisect.bisect_right(self._order, after) if after is not None else 0
                return self._order[first:]
            _, produce = min(options, key=lambda option: option[0])
            return sorted(uid for uid in produce() if _after(uid, after))


def _after(uid: str, after: str | None) -> bool:
    return after is None or uid > after
