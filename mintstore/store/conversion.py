"""The engine's view of ``mintstore.convert`` (see config.Converter)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from mintstore.model import Study

from .config import StudyBuilderLike


class DicomConverter:
    """Part-10 <-> Study through ``mintstore.convert`` (imported on first use)."""

    def read_part10(self, stream: BinaryIO) -> Any:
        from mintstore.convert import read_part10

        return read_part10(stream)

    def new_builder(self, existing: Study | None, next_bid: int) -> StudyBuilderLike:
        from mintstore.convert import StudyBuilder

        builder: StudyBuilderLike = StudyBuilder(existing=existing, next_bid=next_bid)
        return builder

    def instance_to_dataset(
        self, study: Study, series_uid: str, sop_uid: str, read_item: Callable[[int], bytes]
    ) -> Any:
        from mintstore.convert import instance_to_dataset

        return instance_to_dataset(study, series_uid, sop_uid, read_item)

    def write_part10(self, dataset: Any, out: BinaryIO) -> None:
        from mintstore.convert import write_part10

        write_part10(dataset, out)

    def check_values(self, study: Study) -> None:
        from mintstore.convert.checking import check_rebuildable

        check_rebuildable(study)
