"""The index manifest chain: which partitions make up the index, up to which entry.

``index/manifest/<generation>.json`` is created once; generation n+1 is only
written by a compactor (or reindex) that read generation n, and it wins by
create-if-absent (settled on Swift), so the chain never forks and a reader
always sees a complete, consistent set of partitions:

* ``base``: partitions with disjoint Study-UID ranges covering every UID
  (``low`` inclusive, the next one's ``low`` exclusive), one row per study;
* ``deltas``: small partitions of newer rows, oldest first, any UIDs;
* ``upto``: every change-log entry up to this number is folded into them
  (the index = these rows + the entries after ``upto``, newest version wins);
* ``retired``: partitions superseded recently, with when; they are deleted
  only once older than the grace, so a reader still using an older
  generation keeps working (and one that is slower than that reloads).

Old manifests are deleted after the same grace, so ``index/manifest/``
holds a handful of keys and listing it is cheap whatever the archive size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mintstore.adapters import ObjectStore
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import IntegrityError, NotFound

from .layout import MANIFEST_PREFIX, generation_of_manifest_key, manifest_key
from .records import dumps


@dataclass(frozen=True)
class PartitionRef:
    """One partition as a manifest names it."""

    name: str
    rows: int
    low: str = ""
    keys: str | None = None  # the lookup file's name (base partitions only)
    #: Both files' footers in one small object (base partitions written since
    #: run 6): a reader opens the partition with one GET, no HEAD.
    footers: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "rows": self.rows,
            "low": self.low,
            "keys": self.keys,
        }
        if self.footers is not None:
            doc["footers"] = self.footers
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PartitionRef:
        return cls(
            str(doc["name"]),
            int(doc["rows"]),
            str(doc.get("low", "")),
            doc.get("keys"),
            doc.get("footers"),
        )

    def files(self) -> list[str]:
        names = [self.name] if self.keys is None else [self.name, self.keys]
        return names if self.footers is None else [*names, self.footers]


@dataclass(frozen=True)
class Manifest:
    generation: int
    upto: int
    created: str
    base: tuple[PartitionRef, ...] = ()
    deltas: tuple[PartitionRef, ...] = ()
    retired: tuple[tuple[str, str], ...] = field(default=())  # (file name, retired at)

    def to_bytes(self) -> bytes:
        return dumps(
            {
                "format": 1,
                "generation": self.generation,
                "upto": self.upto,
                "created": self.created,
                "base": [p.to_json() for p in self.base],
                "deltas": [p.to_json() for p in self.deltas],
                "retired": [list(pair) for pair in self.retired],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            return cls(
                generation=int(doc["generation"]),
                upto=int(doc["upto"]),
                created=str(doc["created"]),
                base=tuple(PartitionRef.from_json(p) for p in doc["base"]),
                deltas=tuple(PartitionRef.from_json(p) for p in doc["deltas"]),
                retired=tuple((str(a), str(b)) for a, b in doc.get("retired", [])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"malformed index manifest: {exc}") from exc

    def live_files(self) -> set[str]:
        names: set[str] = set()
        for ref in (*self.base, *self.deltas):
            names.update(ref.files())
        return names


EMPTY = Manifest(generation=0, upto=0, created="")


def newest_generation(objects: ObjectStore) -> int:
    """The highest manifest generation present (0 = none): one short listing."""
    newest = 0
    for info in objects.list(MANIFEST_PREFIX):
        generation = generation_of_manifest_key(info.key)
        if generation is not None:
            newest = max(newest, generation)
    return newest


def read(objects: ObjectStore, generation: int) -> Manifest:
    if generation == 0:
        return EMPTY
    return Manifest.from_bytes(objects.get_bytes(manifest_key(generation)))


def newest(objects: ObjectStore) -> Manifest:
    """The newest manifest, probing past the listing (a listing may lag a create)."""
    generation = newest_generation(objects)
    while True:
        try:
            candidate = read(objects, generation + 1)
        except NotFound:
            break
        generation = candidate.generation
    try:
        return read(objects, generation)
    except NotFound:
        # deleted after the listing (superseded and past its grace): look again
        return newest(objects)


def following(objects: ObjectStore, current: Manifest) -> Manifest | None:
    """The newest manifest after ``current``, or None (a GET per newer generation)."""
    found = None
    generation = current.generation
    while True:
        try:
            found = read(objects, generation + 1)
        except NotFound:
            return found
        generation = found.generation


def create(objects: ObjectStore, manifest: Manifest, settle: object = None) -> None:
    """Create the next generation; AlreadyExists if another writer made it first.

    (On Swift the registry's wrapper settles the create; ``settle`` is unused.)
    """
    create_unique(objects, manifest_key(manifest.generation), manifest.to_bytes())
