"""The DIMSE gateway's options: one frozen dataclass, a documented default per field.

Built once by the command line (``mintstore dimse`` or ``mintstore serve
--dicom-port``) and passed down; nothing in the gateway reads the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mintstore.errors import ConfigurationError

_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE: no backslash, <= 16


def check_ae_title(title: str) -> str:
    """An AE title as PS3.5 allows it (1-16 printable characters, no backslash)."""
    stripped = title.strip()
    if not stripped or not _AE_TITLE.match(title):
        raise ConfigurationError(f"not a valid AE title: {title!r}")
    return stripped


@dataclass(frozen=True)
class Destination:
    """A peer the gateway may open associations to (C-MOVE target, commitment reply)."""

    host: str
    port: int


@dataclass(frozen=True)
class TlsConfig:
    """PS3.15 secure transport: the gateway's certificate and key; with ``ca_file``,
    a peer must present a certificate signed by that CA (mutual TLS)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None


@dataclass(frozen=True)
class DimseConfig:
    """Everything the DIMSE gateway needs to know about its deployment.

    * ``ae_title``: the gateway's own AE title (``MINTSTORE``); a request
      addressed to another called AE title is rejected.
    * ``host`` / ``port``: where it listens (127.0.0.1:11112; port 0 picks a
      free port, reported on start).
    * ``allowed_calling_aes``: when not empty, only these calling AE titles
      may associate; others are rejected (empty: anyone may).
    * ``destinations``: AE title -> host:port of C-MOVE destinations and of
      Storage Commitment requesters to call back (empty).
    * ``max_associations``: concurrent associations (10).
    * ``max_pdu``: the largest PDU the gateway receives (1 MiB; 0 means
      unlimited). Larger than dcmtk's 16 KiB default because pynetdicom
      spends its time per PDU: 1 MiB made storescu of a 512x512 CT 40%
      faster here.
    * ``acse_timeout`` / ``dimse_timeout`` / ``network_timeout``: seconds to
      wait for association messages, DIMSE messages, and any network traffic
      (30 / 60 / 120).
    * ``tls``: serve TLS instead of plain TCP (None).
    * ``batch_max_instances`` / ``batch_max_delay``: received instances are
      committed to the engine when this many are waiting or the oldest has
      waited this many seconds (200 / 0.25), and always at the end of an
      association; their success status never waits for that commit (the
      spool made them durable first).
    * ``orphan_age``: every ``orphan_age / 10`` the gateway also ingests spool
      entries at least this old that it is not committing itself: those of
      another gateway process on the same bucket that died (10 minutes; its
      own leftovers are recovered at start).
    * ``find_max_studies``: a C-FIND whose keys leave more candidate studies
      than this (after the index: PatientID, AccessionNumber, StudyDate,
      ModalitiesInStudy, StudyInstanceUID) is refused with 0xA700 rather than
      reading every study's metadata (10000).
    * ``commitment_lookback``: storage commitment looks for an instance the
      process did not receive itself among the studies changed this recently
      (24 hours).
    * ``commitment_delay``: seconds between the N-ACTION response and the
      N-EVENT-REPORT, so the requester is ready for it (0.05).
    * ``metrics_port``: serve the gateway's Prometheus counters on
      127.0.0.1 at this port (None: not served; see :mod:`.metrics`).
    """

    ae_title: str = "MINTSTORE"
    host: str = "127.0.0.1"
    port: int = 11112
    allowed_calling_aes: frozenset[str] = frozenset()
    destinations: Mapping[str, Destination] = field(default_factory=dict)
    max_associations: int = 10
    max_pdu: int = 1_048_576
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    network_timeout: float = 120.0
    tls: TlsConfig | None = None
    batch_max_instances: int = 200
    batch_max_delay: float = 0.25
    orphan_age: timedelta = timedelta(minutes=10)
    find_max_studies: int = 10_000
    commitment_lookback: timedelta = timedelta(hours=24)
    commitment_delay: float = 0.05
    metrics_port: int | None = None

    def __post_init__(self) -> None:
        check_ae_title(self.ae_title)
        for title in self.allowed_calling_aes:
            check_ae_title(title)
        for title in self.destinations:
            check_ae_title(title)
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"not a port: {self.port}")
        if self.max_associations < 1 or self.batch_max_instances < 1:
            raise ConfigurationError("max_associations and batch_max_instances must be >= 1")


def parse_destination(entry: str) -> tuple[str, Destination]:
    """``AE=host:port`` (the command-line form of one destination)."""
    title, equals, address = entry.partition("=")
    host, colon, port = address.rpartition(":")
    if not equals or not colon or not host or not port.isdigit():
        raise ConfigurationError(f"a destination is AE=host:port, not {entry!r}")
    return check_ae_title(title), Destination(host, int(port))
