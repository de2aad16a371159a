"""DICOM <-> MINT conversion: pure functions over datasets and streams, no storage I/O.

* :class:`StudyBuilder` turns Part-10 instances into a normalized, lossless
  :class:`~mintstore.model.Study` and hands back binary items as it goes.
* :func:`instance_to_dataset` / :func:`write_part10` rebuild an instance.
* :func:`read_part10` reads input eagerly and raises InvalidDicom on garbage;
  :func:`study_instance_uid` tells which study (which builder) it belongs to.

Typical ingest::

    ds = read_part10(stream)
    builder = builders.setdefault(study_instance_uid(ds), StudyBuilder(existing=..., next_bid=...))
    try:
        for bid, content in builder.add_dataset(ds):
            write_blob(bid, content)        # then drop it
    except DuplicateInstance as dup:        # same SOP Instance UID already in the study
        ...                                 # identical -> nothing to do; else conflict
    study = builder.study                   # normalized metadata to commit
"""

from mintstore.convert.builder import StudyBuilder
from mintstore.convert.reading import read_part10, study_instance_uid
from mintstore.convert.to_dicom import instance_to_dataset, write_part10

__all__ = [
    "StudyBuilder",
    "instance_to_dataset",
    "read_part10",
    "study_instance_uid",
    "write_part10",
]
