"""Limits for metadata documents from clients: size, node count, set size, time.

A metadata document's cost is not its size: 12 MiB of GPB holds a million
empty attributes, which took 23.5 s and 1.65 GiB to ingest. So besides the
size ceiling, a decoder given :class:`DocumentLimits` counts what it builds
(attributes, items, instances, series; XML elements and JSON objects while
parsing) and watches the clock, and refuses the document (InvalidMetadata,
a 400) as soon as one budget runs out -- before the model, not after.

The store's own documents are decoded without these limits (they were
checked when they came in, and a study may grow past any one upload).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mintstore.errors import InvalidMetadata

#: Largest metadata document accepted (after gunzip). A 5,000-instance study
#: is a few tens of MB as XML; anything near this is a mistake or an attack.
DEFAULT_MAX_DOCUMENT_SIZE = 256 * 1024 * 1024


@dataclass(frozen=True)
class DocumentLimits:
    """What decoding one client document may cost.

    These are configuration options (``[limits]`` section, ``documents.*``).
    Part-10 instances are limited to 250,000 elements
    (convert.structure.Part10Limits), so what was stored from a file fits
    within max_set_size too.

    * ``max_size``: largest metadata document (after gunzip), bytes; the
      smaller of this and http.max_metadata_bytes applies
    * ``max_nodes``: attributes + sequence items + instances + series in one
      document (XML: elements, JSON: objects); a 20,000-instance study with
      20 attributes per instance after normalization needs about 450,000
    * ``max_set_size``: attributes in one set (a data set, an item), items in
      one sequence; real data sets hold a few hundred, an enhanced
      multi-frame instance one functional-group item per frame
    * ``max_json_separators``: separators (,) in a JSON document, a bound on
      the values and members the parser builds (each costs it about 200 bytes)
    * ``max_seconds``: wall-clock budget for decoding one document, seconds
    """

    max_size: int = DEFAULT_MAX_DOCUMENT_SIZE
    max_nodes: int = 500_000
    max_set_size: int = 100_000
    max_json_separators: int = 2_000_000
    max_seconds: float = 20.0


class Budget:
    """The running count of one decode against its limits (no limits: counts only)."""

    def __init__(self, limits: DocumentLimits | None) -> None:
        self.limits = limits
        self.nodes = 0
        self.deadline = time.monotonic() + limits.max_seconds if limits else 0.0

    def take(self, count: int, where: str = "document") -> None:
        """``count`` more nodes; refuse the document past the node or time budget."""
        limits = self.limits
        if limits is None:
            return
        self.nodes += count
        if self.nodes > limits.max_nodes:
            raise InvalidMetadata(
                f"{where}: the document has more than {limits.max_nodes} attributes, items, "
                "instances and series"
            )
        if time.monotonic() > self.deadline:
            raise InvalidMetadata(f"decoding the document took more than {limits.max_seconds} s")

    def check_markup(self, markers: int, what: str) -> None:
        """Refuse a text document before parsing when its markup alone is over budget.

        ``markers`` is a byte count (``{`` in JSON, element tags in XML): an upper
        bound of the objects or elements parsing would build, found in
        milliseconds with nothing allocated. Every node takes at least one,
        wrappers take some more, hence the allowance of 1.5 per node.
        """
        limits = self.limits
        if limits is not None and markers > limits.max_nodes * 3 // 2:
            raise InvalidMetadata(
                f"the document has {markers} {what}: more than its "
                f"{limits.max_nodes} attributes, items, instances and series can need"
            )

    def check_separators(self, separators: int) -> None:
        """Refuse a JSON document with more separators than the limit, before parsing."""
        limits = self.limits
        if limits is not None and separators > limits.max_json_separators:
            raise InvalidMetadata(
                f"the document has {separators} JSON values and members "
                f"(at most {limits.max_json_separators})"
            )

    def check_xml_attributes(self, count: int) -> None:
        """Refuse XML with more attributes than 4 per allowed node, before parsing.

        libxml2 keeps about 270 bytes per XML attribute: a 10 MiB element with a
        million of them cost 270 MiB before libxml2 gave up. A MINT ``<attr>``
        has 2 to 5 (``tag``, ``vr``, ``val`` or ``bid``, ...).
        """
        limits = self.limits
        if limits is not None and count > limits.max_nodes * 4:
            raise InvalidMetadata(
                f"the document has {count} XML attributes (at most {limits.max_nodes * 4})"
            )

    def check_size(self, size: int, where: str) -> None:
        """Refuse a set (or item list) of ``size`` members if that is too many."""
        limits = self.limits
        if limits is not None and size > limits.max_set_size:
            raise InvalidMetadata(
                f"{where}: {size} attributes or items in one set (at most {limits.max_set_size})"
            )

    def set_of(self, size: int, where: str) -> None:
        """One attribute set (or item list) of ``size`` members: checked and charged."""
        self.check_size(size, where)
        self.take(size, where)
