"""What one upload may cost the server: the ``[limits]`` section of the configuration.

Three components refuse hostile input within bounds of their own (Part-10
structure, metadata documents, the multipart spool); this gathers their limit
classes into one options section, so each bound is a documented option (TOML
``[limits]``, ``MINTSTORE_LIMITS_*``, ``--limits-*``) built once by the CLI and
passed down: the Part-10 limits to the store's converter, the others to the
upload reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mintstore.convert.structure import Part10Limits
from mintstore.formats.limits import DocumentLimits
from mintstore.multipart.spool import SpoolLimits


@dataclass(frozen=True)
class InputLimits:
    """Bounds on what reading one upload may cost (400/413 beyond them).

    * ``part10``: limits of reading one Part-10 instance
    * ``documents``: limits of decoding one client metadata document
    * ``spool``: memory and part-count limits of one upload's spool
    """

    part10: Part10Limits = field(default_factory=Part10Limits)
    documents: DocumentLimits = field(default_factory=DocumentLimits)
    spool: SpoolLimits = field(default_factory=SpoolLimits)
