"""Tunables of the partitioned search index (one frozen dataclass, documented defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class IndexOptions:
    """How the index is partitioned, compacted and cached.

    * ``partition_rows`` (200,000): a base partition is split in two once a
      merge makes it larger; a merge rewrites at most ``merge_partitions`` of
      them, so compaction work is bounded whatever the archive size.
    * ``delta_rows`` (20,000) / ``max_deltas`` (8): once the delta partitions
      hold more rows or files than this, a compaction folds them into the
      base partitions they touch most. Every process holds the delta rows in
      memory, so this bounds per-process memory.
    * ``merge_partitions`` (2): base partitions rewritten by one compaction.
    * ``tail_batch`` (10,000): change-log entries folded by one compaction.
    * ``retire_grace`` (10 min): superseded partitions and manifests are
      deleted only once retired this long, so a reader using an older
      manifest is not broken (it reloads if it is slower still). A
      compaction that takes longer than half of it gives up its work.
    * ``claim_ttl`` (5 min): a compaction claim expires after this, so a
      crashed compactor does not stop compaction for good.
    * ``cache_bytes`` (48 MiB): decoded row groups kept per process.
    * ``manifest_check`` (5 s): how often a reader looks for a newer manifest
      when its tail is short (it looks at once when the tail is long).
    * ``read_ahead_groups`` (16): a scan that goes on (a continued read-all or
      modality page, a StudyDate range) fetches up to this many adjacent row
      groups with one ranged GET (at most 4 MiB; kept encoded in a quarter of
      ``cache_bytes`` until used); 1 turns it off.
    * ``background`` (True): compaction runs in a background thread of the
      process that sees it is due (claimed, so once for all processes);
      False leaves it to explicit ``compact_now`` calls (tests, jobs).
    """

    partition_rows: int = 200_000
    delta_rows: int = 20_000
    max_deltas: int = 8
    merge_partitions: int = 2
    tail_batch: int = 10_000
    retire_grace: timedelta = timedelta(minutes=10)
    claim_ttl: timedelta = timedelta(minutes=5)
    cache_bytes: int = 48 * 1024 * 1024
    manifest_check: timedelta = timedelta(seconds=5)
    read_ahead_groups: int = 16
    background: bool = True
