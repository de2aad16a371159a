"""Shared pieces of the engine tests: Part-10 ingest, and small hand-made MINT studies."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mintstore.model import PIXEL_DATA_TAG, Attribute, Instance, Series, Study
from mintstore.store import Actor, CommitResult, StudyStore
from mintstore.store.engine import Engine

Items = dict[int, Callable[[], BinaryIO]]


def ingest_paths(store: StudyStore, paths: list[Path], actor: Actor) -> list[CommitResult]:
    """Send Part-10 files through one ingest session, as the HTTP layer does."""
    with store.begin_ingest() as session:
        for path in paths:
            with path.open("rb") as stream:
                session.add_part10(stream)
        return session.commit(actor)


def item_bytes(seed: str, size: int = 1000) -> bytes:
    """Deterministic content per seed, so re-sends carry identical bytes."""
    pattern = (seed.encode() + b"|") * (size // (len(seed) + 1) + 1)
    return pattern[:size]


def mint_study(
    study_uid: str,
    series_uid: str,
    sop_uids: list[str],
    *,
    patient_id: str = "PAT1",
    modality: str = "CT",
    study_date: str = "20020711",
    size: int = 1000,
) -> tuple[Study, Items]:
    """A study of one series; instance i has pixel data item bid i."""
    study = Study(study_uid)
    study.attributes = {
        0x00100020: Attribute(0x00100020, "LO", patient_id),
        0x00080020: Attribute(0x00080020, "DA", study_date),
        0x00080030: Attribute(0x00080030, "TM", "144114.000"),
        0x0020000D: Attribute(0x0020000D, "UI", study_uid),
        0x00080050: Attribute(0x00080050, "SH", "ACC-" + patient_id),
    }
    series = Series(series_uid)
    series.attributes = {0x00080060: Attribute(0x00080060, "CS", modality)}
    items: Items = {}
    for bid, sop in enumerate(sop_uids):
        content = item_bytes(sop, size)
        series.instances[sop] = Instance(
            sop,
            "1.2.840.10008.1.2.1",
            {
                0x00080018: Attribute(0x00080018, "UI", sop),
                PIXEL_DATA_TAG: Attribute(PIXEL_DATA_TAG, "OW", bid=bid, bsize=len(content)),
            },
        )
        items[bid] = _opener(content)
    study.series[series_uid] = series
    return study, items


def _opener(content: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(content)


def unique_uid(prefix: str = "1.2.826.0.1.3680043.8.498") -> str:
    return f"{prefix}.{int.from_bytes(os.urandom(8), 'big')}"


def engine(store: StudyStore) -> Engine:
    """The engine behind a store, for white-box tests of its parts (log, blobs...)."""
    parts: Engine = store._engine
    return parts
