"""The DIMSE gateway's section of the one configuration model (``[dimse]``).

``[dimse]`` in the TOML file, ``MINTSTORE_DIMSE_*`` variables and
``--dimse-*`` flags (``mintstore dimse`` also takes them without the prefix:
``--port``, ``--max-pdu``). :class:`DimseOptions` is what a person writes;
:meth:`DimseOptions.gateway_config` turns it into the
:class:`~mintstore.dimse.config.DimseConfig` the gateway runs with (AE titles
checked, destinations parsed, TLS files paired). This module imports neither
pynetdicom nor the web app: the gateway's fast start path reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from mintstore.configuration import Section, option
from mintstore.errors import ConfigurationError

from .config import DimseConfig, TlsConfig, check_ae_title, parse_destination

_DEFAULTS = DimseConfig()
#: Where ``mintstore dimse`` listens when ``port`` is unset.
DEFAULT_PORT = _DEFAULTS.port


@dataclass(frozen=True)
class DimseOptions:
    """Where the DIMSE gateway listens, whom it accepts, and its limits."""

    port: int | None = option(
        None,
        f"gateway port; with serve, setting it runs the gateway beside the HTTP API "
        f"(unset: serve runs none, mintstore dimse listens on {DEFAULT_PORT}; 0 picks a free port)",
        flag="--dimse-port",
    )
    host: str | None = option(
        None, "gateway listen address (unset: serve's host, or 127.0.0.1 for mintstore dimse)"
    )
    ae_title: str = option(_DEFAULTS.ae_title, "the gateway's AE title", flag="--ae-title")
    allowed_calling_aes: tuple[str, ...] = option(
        (), "a calling AE title allowed to associate (none: any)", flag="--allow-calling-ae"
    )
    destinations: tuple[str, ...] = option(
        (),
        "a C-MOVE destination / storage commitment requester, as AE=HOST:PORT",
        flag="--destination",
    )
    max_associations: int = option(_DEFAULTS.max_associations, "concurrent associations")
    max_pdu: int = option(_DEFAULTS.max_pdu, "largest PDU received, bytes (0: unlimited)")
    acse_timeout: float = option(_DEFAULTS.acse_timeout, "seconds to wait for A-ASSOCIATE etc.")
    dimse_timeout: float = option(_DEFAULTS.dimse_timeout, "seconds to wait for a DIMSE message")
    network_timeout: float = option(_DEFAULTS.network_timeout, "seconds of network silence")
    tls_cert: Path | None = option(None, "serve TLS with this certificate (PEM)")
    tls_key: Path | None = option(None, "the certificate's private key (PEM)")
    tls_ca: Path | None = option(None, "require peer certificates signed by this CA (PEM)")
    batch_max_instances: int = option(
        _DEFAULTS.batch_max_instances, "commit received instances when this many wait"
    )
    batch_max_delay: float = option(
        _DEFAULTS.batch_max_delay, "... or when the oldest has waited this many seconds"
    )
    orphan_age: timedelta = option(
        _DEFAULTS.orphan_age, "ingest another (dead) gateway's spool entries this old"
    )
    find_max_studies: int = option(
        _DEFAULTS.find_max_studies, "a C-FIND leaving more candidate studies is refused (A700)"
    )
    commitment_lookback: timedelta = option(
        _DEFAULTS.commitment_lookback, "storage commitment searches studies changed this recently"
    )
    commitment_delay: float = option(
        _DEFAULTS.commitment_delay, "seconds between N-ACTION response and N-EVENT-REPORT"
    )
    metrics_port: int | None = option(
        None,
        "serve the gateway's Prometheus counters on 127.0.0.1:PORT/metrics (unset: not served)",
    )

    def gateway_config(self, default_host: str = "127.0.0.1") -> DimseConfig:
        """The gateway's runtime configuration; every mistake is a ConfigurationError."""
        tls = None
        if self.tls_cert or self.tls_key or self.tls_ca:
            if not (self.tls_cert and self.tls_key):
                raise ConfigurationError("TLS needs both --tls-cert and --tls-key")
            tls = TlsConfig(self.tls_cert, self.tls_key, self.tls_ca)
        return DimseConfig(
            ae_title=check_ae_title(self.ae_title),
            host=self.host or default_host,
            port=DEFAULT_PORT if self.port is None else self.port,
            allowed_calling_aes=frozenset(check_ae_title(ae) for ae in self.allowed_calling_aes),
            destinations=dict(parse_destination(entry) for entry in self.destinations),
            max_associations=self.max_associations,
            max_pdu=self.max_pdu,
            acse_timeout=self.acse_timeout,
            dimse_timeout=self.dimse_timeout,
            network_timeout=self.network_timeout,
            tls=tls,
            batch_max_instances=self.batch_max_instances,
            batch_max_delay=self.batch_max_delay,
            orphan_age=self.orphan_age,
            find_max_studies=self.find_max_studies,
            commitment_lookback=self.commitment_lookback,
            commitment_delay=self.commitment_delay,
            metrics_port=self.metrics_port,
        )


#: The configuration section; serve also takes ``--dicom-port``, its historical spelling.
SECTION = Section("dimse", DimseOptions, flag_prefix="dimse-", aliases={"port": "--dicom-port"})
