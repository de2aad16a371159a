"""DICOM <-> MINT conversion: pure functions over datasets and streams, no storage I/O.

* :class:`StudyBuilder` turns Part-10 instances into a normalized, lossless
  :class:`~mintstore.model.Study` and hands back binary items as it goes.
* :func:`instance_to_dataset` / :func:`write_part10` rebuild an instance.
* :func:`read_part10` reads input eagerly and raises InvalidDicom on garbage.
"""

from mintstore.convert.builder import StudyBuilder
from mintstore.convert.reading import read_part10
from mintstore.convert.to_dicom import instance_to_dataset, write_part10

__all__ = ["StudyBuilder", "instance_to_dataset", "read_part10", "write_part10"]
