"""Compaction: fold the change log's tail into index partitions, a bounded step at a time.

One step reads the entries after the newest manifest's ``upto`` (at most
``tail_batch``), writes them as one delta partition and, when the deltas
have grown past their bound, folds them into the ``merge_partitions`` base
partitions they touch most (splitting any that grow past
``partition_rows``); the remaining delta rows become one delta. Then it
creates the next manifest generation. Work per step is bounded whatever the
archive size; nothing waits on it (commits only append to the change log;
searches keep using the manifest they hold until the new one exists).

Run once, not per process: the step for generation n+1 is claimed first by
create-if-absent of ``index/claim/<n+1>/<attempt>.json`` (an expired claim
lets attempt+1 in), and the manifest create decides anyway if two run (the
loser deletes the partitions it wrote: nothing references them). A crash at
any point leaves the previous manifest, complete and readable, plus
unreferenced partitions that a later step deletes once past the grace.
"""

from __future__ import annotations

import bisect
import logging
import math
import secrets
import time
from collections.abc import Iterable
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from mintstore.adapters import ObjectStore
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import AlreadyExists, NotFound

from . import manifest as manifests
from . import partitions
from .changelog import ChangeLog
from .config import StoreConfig
from .layout import (
    CLAIM_PREFIX,
    MANIFEST_PREFIX,
    PARTITION_PREFIX,
    claim_key,
    generation_of_manifest_key,
    partition_key,
    partition_name,
)
from .manifest import Manifest, PartitionRef
from .records import IndexRow, SeqEntry, dumps, loads

_log = logging.getLogger(__name__)

Rows = dict[str, tuple[str, IndexRow]]  # study UID -> (study key, row)


class CompactionAbandoned(Exception):
    """The step took longer than half the grace: its partitions may be collected."""


def fold(target: Rows, rows: Iterable[tuple[str, IndexRow]]) -> None:
    """Keep the highest version of each study."""
    for skey, row in rows:
        old = target.get(row.study_uid)
        if old is None or old[1].version <= row.version:
            target[row.study_uid] = (skey, row)


def _name(kind: str, now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%S')}-{kind}-{secrets.token_hex(6)}"


class Writer:
    """Writes partitions for one step, remembering them so a lost step can remove them."""

    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.options = config.index
        self.now = config.clock()
        self.written: list[str] = []

    def delta(self, rows: Rows) -> PartitionRef:
        name = _name("delta", self.now)
        table = partitions.rows_table(rows.values())
        partitions.write(self.objects, name, table)
        self.written.append(name)
        return PartitionRef(name, table.num_rows)

    def base(self, table: pa.Table, low: str) -> list[PartitionRef]:
        """Base partitions of ``table`` (sorted by UID), the first starting at ``low``."""
        count = table.num_rows
        target = self.options.partition_rows
        pieces = 1 if count <= target else math.ceil(count / (target * 3 // 4))
        size = math.ceil(count / pieces) if count else 0
        refs = []
        for piece in range(pieces):
            part = table.slice(piece * size, size) if count else table
            piece_low = low if piece == 0 else str(part["study_uid"][0])
            name = _name("base", self.now)
            written = partitions.write_base(self.objects, name, part)
            self.written.extend(written)
            refs.append(PartitionRef(name, part.num_rows, piece_low, *written[1:]))
        return refs

    def discard(self) -> None:
        for name in self.written:
            self.objects.delete(partition_key(name))


def merge_table(old: pa.Table, rows: list[tuple[str, IndexRow]]) -> pa.Table:
    """``old`` with ``rows`` folded in (the higher version of a study wins)."""
    new = partitions.rows_table(rows)
    overlap = old.filter(pc.is_in(old["study_uid"], value_set=new["study_uid"]))
    new_versions = {row.study_uid: row.version for _, row in rows}
    newer_old = [
        uid
        for uid, version in zip(
            overlap["study_uid"].to_pylist(), overlap["version"].to_pylist(), strict=True
        )
        if version > new_versions[uid]
    ]
    if newer_old:
        new = new.filter(pc.invert(pc.is_in(new["study_uid"], value_set=pa.array(newer_old))))
    old = old.filter(pc.invert(pc.is_in(old["study_uid"], value_set=new["study_uid"])))
    return pa.concat_tables([old, new]).sort_by("study_uid")


def plan_merge(
    writer: Writer, base: list[PartitionRef], overlay: Rows, limit: int
) -> tuple[list[PartitionRef], Rows, list[str]]:
    """Fold overlay rows into at most ``limit`` base partitions.

    Returns the new base list, the rows left for the delta, and the files
    the new base supersedes.
    """
    objects = writer.objects
    if not base:
        table = partitions.rows_table(overlay.values())
        return writer.base(table, ""), {}, []
    lows = [ref.low for ref in base]
    by_part: dict[int, list[tuple[str, IndexRow]]] = {}
    for uid, pair in overlay.items():
        by_part.setdefault(bisect.bisect_right(lows, uid) - 1, []).append(pair)
    chosen = sorted(by_part, key=lambda i: len(by_part[i]), reverse=True)[:limit]
    superseded: list[str] = []
    new_base = list(base)
    for index in sorted(chosen, reverse=True):  # from the right: indexes stay valid
        ref = base[index]
        merged = merge_table(partitions.read_whole(objects, ref.name), by_part[index])
        new_base[index : index + 1] = writer.base(merged, ref.low)
        superseded.extend(ref.files())
    remaining: Rows = {}
    for index, pairs in by_part.items():
        if index not in chosen:
            for skey, row in pairs:
                remaining[row.study_uid] = (skey, row)
    return new_base, remaining, superseded


def read_delta_rows(objects: ObjectStore, deltas: Iterable[PartitionRef]) -> Rows:
    rows: Rows = {}
    for ref in deltas:
        fold(rows, partitions.table_rows(partitions.read_whole(objects, ref.name)))
    return rows


class Compactor:
    """Runs compaction steps over one store (any process may hold one)."""

    def __init__(self, objects: ObjectStore, changes: ChangeLog, config: StoreConfig) -> None:
        self.objects = objects
        self.changes = changes
        self.config = config
        self.options = config.index
        self.owner = secrets.token_hex(8)

    def claim(self, generation: int) -> bool:
        """Claim writing manifest ``generation``; False if someone else holds it."""
        now = self.config.clock()
        attempt = 0
        for info in self.objects.list(f"{CLAIM_PREFIX}{generation:016d}/"):
            stem = info.key.rsplit("/", 1)[-1].removesuffix(".json")
            if stem.isdigit():
                attempt = max(attempt, int(stem))
        if attempt:
            try:
                doc = loads(self.objects.get_bytes(claim_key(generation, attempt)), "claim")
                if datetime.fromisoformat(doc["expires"]) > now:
                    return False
            except NotFound:
                pass
        document = {"owner": self.owner, "expires": (now + self.options.claim_ttl).isoformat()}
        try:
            create_unique(self.objects, claim_key(generation, attempt + 1), dumps(document))
        except AlreadyExists:
            return False
        return True

    def step(self, current: Manifest, *, force: bool = False) -> Manifest | None:
        """One compaction step after ``current``; the new manifest, or None if not done.

        Without ``force`` nothing happens unless ``compact_every`` entries
        wait; with it the tail is folded and the deltas merged whatever
        their size (tests, reindex, jobs).
        """
        started = time.monotonic()
        if not force and not self.changes.exists(current.upto + self.config.compact_every):
            return None  # not due: one HEAD, before any claim or read
        if not self.claim(current.generation + 1):
            return None
        entries = self.changes.fetch_after(current.upto, self.options.tail_batch)
        if not entries and not (force and current.deltas):
            return None
        writer = Writer(self.objects, self.config)
        try:
            manifest = self._build(writer, current, entries, force=force, started=started)
            manifests.create(self.objects, manifest, self.config.create_settle)
        except AlreadyExists:
            writer.discard()
            return None
        except BaseException:
            writer.discard()
            raise
        self.clean(manifest)
        return manifest

    def _build(
        self,
        writer: Writer,
        current: Manifest,
        entries: list[SeqEntry],
        *,
        force: bool,
        started: float,
    ) -> Manifest:
        tail: Rows = {}
        fold(tail, ((e.study_key, e.record.index) for e in entries))
        deltas = list(current.deltas)
        base = list(current.base)
        superseded: list[str] = []
        delta_total = sum(ref.rows for ref in deltas) + len(tail)
        if (
            force
            or len(deltas) + 1 > self.options.max_deltas
            or delta_total > (self.options.delta_rows)
        ):
            overlay = read_delta_rows(self.objects, deltas)
            fold(overlay, tail.values())
            limit = len(base) + 1 if force else self.options.merge_partitions
            base, remaining, superseded = plan_merge(writer, base, overlay, limit)
            for ref in deltas:
                superseded.extend(ref.files())
            deltas = [writer.delta(remaining)] if remaining else []
        elif tail:
            deltas.append(writer.delta(tail))
        if time.monotonic() - started > self.options.retire_grace.total_seconds() / 2:
            raise CompactionAbandoned("compaction took longer than half the retire grace")
        return self._next(current, base, deltas, superseded, entries, writer.now)

    def _next(
        self,
        current: Manifest,
        base: list[PartitionRef],
        deltas: list[PartitionRef],
        superseded: list[str],
        entries: list[SeqEntry],
        now: datetime,
    ) -> Manifest:
        cutoff = now - self.options.retire_grace
        retired = [(n, t) for n, t in current.retired if datetime.fromisoformat(t) > cutoff]
        retired.extend((name, now.isoformat()) for name in superseded)
        return Manifest(
            generation=current.generation + 1,
            upto=entries[-1].sequence if entries else current.upto,
            created=now.isoformat(),
            base=tuple(base),
            deltas=tuple(deltas),
            retired=tuple(retired),
        )

    def replace(self, rows: Iterable[tuple[str, IndexRow]], upto: int) -> Manifest:
        """A new generation made of ``rows`` alone, up to entry ``upto`` (reindex)."""
        return self.replace_table(partitions.rows_table(rows), upto)

    def replace_table(self, table: pa.Table, upto: int) -> Manifest:
        """:meth:`replace` from an Arrow table of :data:`partitions.SCHEMA` (bulk loads)."""
        table = table.sort_by("study_uid")
        while True:
            current = manifests.newest(self.objects)
            writer = Writer(self.objects, self.config)
            try:
                base = writer.base(table, "")
                manifest = self._next(
                    current, base, [], sorted(current.live_files()), [], writer.now
                )
                manifest = Manifest(
                    manifest.generation,
                    upto,
                    manifest.created,
                    manifest.base,
                    (),
                    manifest.retired,
                )
                manifests.create(self.objects, manifest, self.config.create_settle)
            except AlreadyExists:
                writer.discard()
                continue
            except BaseException:
                writer.discard()
                raise
            self.clean(manifest)
            return manifest

    def clean(self, manifest: Manifest) -> None:
        """Delete what no reader can still need: retired files, old manifests and
        claims, unreferenced partitions; all only once past the grace."""
        now = self.config.clock()
        cutoff = now - self.options.retire_grace
        keep = manifest.live_files() | {name for name, _ in manifest.retired}
        try:
            for info in list(self.objects.list(PARTITION_PREFIX)):
                name = partition_name(info.key)
                young = info.last_modified is None or info.last_modified > cutoff
                if name not in keep and not young:
                    self.objects.delete(info.key)
            for info in list(self.objects.list(MANIFEST_PREFIX)):
                generation = generation_of_manifest_key(info.key)
                young = info.last_modified is None or info.last_modified > cutoff
                if generation is not None and generation < manifest.generation - 2 and not young:
                    self.objects.delete(info.key)
            for info in list(self.objects.list(CLAIM_PREFIX)):
                stem = info.key[len(CLAIM_PREFIX) :].split("/", 1)[0]
                if stem.isdigit() and int(stem) < manifest.generation:
                    self.objects.delete(info.key)
        except (OSError, NotFound):  # a competitor cleaning at the same time
            _log.debug("index clean-up raced", exc_info=True)
        for name, when in manifest.retired:
            if datetime.fromisoformat(when) <= cutoff:
                self.objects.delete(partition_key(name))
