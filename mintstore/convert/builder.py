"""StudyBuilder: DICOM instances in, one normalized MINT study out.

The builder keeps only metadata. Each ``add_*`` call returns the new binary
items of that instance (bid, content) for the caller to write out and drop, so
a study of any size is converted with one instance's bulk data in memory.
"""

from __future__ import annotations

from copy import deepcopy

from pydicom.dataset import Dataset

from mintstore.convert.extract import ConversionMemo, Extracted, extract_dataset
from mintstore.convert.normalize import (
    effective_attributes,
    merge_instance,
    merge_shared_level,
    split_by_placement,
)
from mintstore.convert.reading import Source, read_part10
from mintstore.dictionary import DEFAULT, TypeDictionary
from mintstore.errors import DuplicateInstance, InvalidDicom
from mintstore.file_range import ItemContent
from mintstore.model import (
    SERIES_INSTANCE_UID_TAG,
    SOP_INSTANCE_UID_TAG,
    STUDY_INSTANCE_UID_TAG,
    Attributes,
    Instance,
    Series,
    Study,
    ordered_walk,
)

NewItems = list[tuple[int, ItemContent]]


class StudyBuilder:
    """Converts instances of ONE study into a normalized :class:`Study`.

    ``existing`` continues a stored study (it is copied, not modified, unless
    ``adopt`` says the caller hands it over: the storage engine decodes a
    fresh copy for every commit, and copying a large study again per append
    would make each commit cost grow with the study's history);
    ``next_bid`` is the first free binary item id (raised past every bid the
    existing study references). Adding an instance already in the study raises
    :class:`~mintstore.errors.DuplicateInstance` and changes nothing.

    ``memo`` remembers converted elements so that the instances of a series,
    which repeat most elements byte for byte, are not converted again element
    by element (a fresh one per builder unless the caller shares one; used
    from the second instance on).
    """

    def __init__(
        self,
        dictionary: TypeDictionary = DEFAULT,
        *,
        existing: Study | None = None,
        next_bid: int = 0,
        adopt: bool = False,
        memo: ConversionMemo | None = None,
    ) -> None:
        self._dictionary = dictionary
        self._memo = memo if memo is not None else ConversionMemo()
        if existing is not None and not adopt:
            existing = deepcopy(existing)
        self._study = existing
        used = existing.referenced_bids() if existing is not None else set()
        self._next_bid = max([next_bid, *(bid + 1 for bid in used)])

    @property
    def study(self) -> Study:
        """The study built so far (normalized); raises if nothing was added."""
        if self._study is None:
            raise InvalidDicom("no instance has been added to the study yet")
        return self._study

    @property
    def next_bid(self) -> int:
        """The first binary item id not used by the study."""
        return self._next_bid

    def add_part10(self, source: Source) -> NewItems:
        """Read one Part-10 file (path, bytes or stream) and add its instance."""
        return self.add_dataset(read_part10(source))

    def add_dataset(self, ds: Dataset) -> NewItems:
        """Add one instance; returns its binary items (bid, content)."""
        # Remembering costs a copy per element: worth it only once a second
        # instance shows that this is a series, not a single upload.
        memo = self._memo if self._study is not None and self._study.instance_count else None
        return self.add_extracted(_extract(ds, self._next_bid, memo))

    def add_extracted(self, extracted: Extracted) -> NewItems:
        """Add one instance already in MINT form, its bids numbered from :attr:`next_bid`.

        ``extracted.items`` pairs each of its bids with whatever stands for
        that item's content (bytes from :meth:`add_dataset`; a caller that
        re-adds an instance whose items are already stored passes their
        digests): a :class:`DuplicateInstance` hands those back, paired with
        the stored bids. No DICOM conversion happens here, so re-adding a
        stored instance to another version costs only metadata work.
        """
        attributes = extracted.attributes
        study_uid = _uid(attributes, STUDY_INSTANCE_UID_TAG, "Study Instance UID")
        series_uid = _uid(attributes, SERIES_INSTANCE_UID_TAG, "Series Instance UID")
        sop_uid = _uid(attributes, SOP_INSTANCE_UID_TAG, "SOP Instance UID")
        if self._study is None:
            self._study = Study(study_uid)
        study = self._study
        if study.study_instance_uid != study_uid:
            raise InvalidDicom(
                f"instance {sop_uid} belongs to study {study_uid}, "
                f"not to {study.study_instance_uid}"
            )
        self._refuse_duplicate(study, sop_uid, extracted)

        groups = split_by_placement(attributes, self._dictionary)
        own = groups["instance"]
        first_in_study = study.instance_count == 0
        merge_shared_level(
            study.attributes, groups["study"], own, list(study.series.values()), first_in_study
        )
        series = study.series.get(series_uid)
        if series is None:
            series = study.series[series_uid] = Series(series_uid)
        merge_shared_level(series.attributes, groups["series"], own, [series], not series.instances)
        instance = Instance(
            sop_uid, extracted.transfer_syntax_uid, own, preamble=extracted.preamble
        )
        merge_instance(series, instance)
        self._next_bid += len(extracted.items)
        return extracted.items

    def _refuse_duplicate(self, study: Study, sop_uid: str, extracted: Extracted) -> None:
        for series in study.series.values():
            instance = series.instances.get(sop_uid)
            if instance is None:
                continue
            stored = effective_attributes(study, series, instance)
            stored_shape, stored_bids = _without_bids(stored)
            new_shape, new_bids = _without_bids(extracted.attributes)
            identical = (
                stored_shape == new_shape
                and instance.transfer_syntax_uid == extracted.transfer_syntax_uid
                and instance.preamble == extracted.preamble
            )
            pairs: NewItems = []
            if identical:
                contents = dict(extracted.items)
                pairs = [
                    (old, contents[new]) for old, new in zip(stored_bids, new_bids, strict=True)
                ]
            raise DuplicateInstance(sop_uid, identical_metadata=identical, items=pairs)


def _extract(ds: Dataset, first_bid: int, memo: ConversionMemo | None) -> Extracted:
    try:
        return extract_dataset(ds, first_bid, memo)
    except InvalidDicom:
        raise
    except Exception as exc:  # a broken value pydicom only notices when decoding
        raise InvalidDicom(f"malformed DICOM data set: {type(exc).__name__}: {exc}") from exc


def _uid(attributes: Attributes, tag: int, name: str) -> str:
    attribute = attributes.get(tag)
    value = ""
    if attribute is not None:
        value = attribute.val or ""
        if attribute.vr == "UN" and attribute.data:  # a UID written with VR UN
            value = attribute.data.decode("latin-1")
    value = value.strip(" \x00")
    if not value:
        raise InvalidDicom(f"the instance has no {name} ({tag:08x})")
    return value


def _without_bids(attributes: Attributes) -> tuple[Attributes, list[int]]:
    """A copy with bids blanked, and the bids in a stable (tag, depth-first) order."""
    shape = deepcopy(attributes)
    bids: list[int] = []
    for attribute in ordered_walk(shape):
        bids.extend(attribute.bids())
        attribute.bid = None
    return shape, bids
