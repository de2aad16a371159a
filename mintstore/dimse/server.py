"""The gateway's Application Entity: what it accepts and who handles what.

One pynetdicom AE serves Verification, every storage SOP class (all the
transfer syntaxes pynetdicom knows, accepted as offered, SCU and SCP roles so
C-GET can send back over the requester's association), Patient and Study Root
Find / Move / Get, and Storage Commitment Push Model. Handlers run on
pynetdicom's association threads; the store is shared (it is thread-safe and
stateless: every bit of state is in the bucket).
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.presentation import AllStoragePresentationContexts
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StorageCommitmentPushModel,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from mintstore.errors import MintError
from mintstore.store import StudyStore

from .commitment import CommitmentSCP
from .config import DimseConfig, TlsConfig
from .metrics import GatewayMetrics
from .query import FindSCP
from .reads import InstanceLocator
from .retrieve import RetrieveSCP
from .spool import BatchCommitter, Spool
from .storage import StorageSCP, actor_of
from .transport import no_delay

LOG = logging.getLogger("mintstore.dimse")

_QR_CLASSES = (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
)


def _ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.ca_file is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(str(tls.ca_file))
    return context


def build_ae(config: DimseConfig) -> AE:
    """The Application Entity with every context and limit of the configuration."""
    ae = AE(ae_title=config.ae_title)
    ae.maximum_associations = config.max_associations
    ae.maximum_pdu_size = config.max_pdu
    ae.acse_timeout = config.acse_timeout
    ae.dimse_timeout = config.dimse_timeout
    ae.network_timeout = config.network_timeout
    ae.connection_timeout = config.acse_timeout
    ae.require_called_aet = True
    if config.allowed_calling_aes:
        ae.require_calling_aet = sorted(config.allowed_calling_aes)
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        assert context.abstract_syntax is not None
        ae.add_supported_context(
            context.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True
        )
    for sop_class in _QR_CLASSES:
        ae.add_supported_context(sop_class)
    ae.add_supported_context(StorageCommitmentPushModel)
    return ae


class DimseServer:
    """The DIMSE gateway on one store: ``start`` it, ``stop`` it."""

    def __init__(self, store: StudyStore, config: DimseConfig) -> None:
        self.store = store
        self.config = config
        self.ae = build_ae(config)
        self.spool = Spool(store.objects)
        self.committer = BatchCommitter(
            store,
            self.spool,
            max_instances=config.batch_max_instances,
            max_delay=config.batch_max_delay,
        )
        locator = InstanceLocator(store, config.commitment_lookback)
        self.storage = StorageSCP(store, self.spool, self.committer, locator)
        self.find = FindSCP(store, self.committer, config.ae_title, config.find_max_studies)
        self.retrieve = RetrieveSCP(store, self.committer, config)
        self.commitment = CommitmentSCP(store, self.committer, locator, config, self.ae)
        self.metrics = GatewayMetrics()
        self._metrics_server: Any = None
        self._server: Any = None
        self._stopping = threading.Event()
        self._orphans = threading.Thread(target=self._adopt_orphans, name="dimse-orphans")
        self._orphans.daemon = True

    def _adopt_orphans(self) -> None:
        """Ingest what dead gateway processes on the same bucket left in the spool."""
        period = self.config.orphan_age.total_seconds() / 10
        while not self._stopping.wait(period):
            try:
                self.committer.recover(older_than=self.config.orphan_age)
            except MintError as error:
                LOG.warning("spool scan failed: %s", error)

    def _handlers(self) -> list[Any]:
        metrics = self.metrics
        return [
            (evt.EVT_CONN_OPEN, no_delay),
            (evt.EVT_C_ECHO, metrics.counted("C-ECHO", lambda event: 0x0000)),
            (evt.EVT_C_STORE, metrics.counted("C-STORE", self.storage.handle)),
            (evt.EVT_C_FIND, metrics.counted_generator("C-FIND", self.find.handle, 0x0000)),
            (evt.EVT_C_MOVE, metrics.counted_generator("C-MOVE", self.retrieve.handle_move)),
            (evt.EVT_C_GET, metrics.counted_generator("C-GET", self.retrieve.handle_get)),
            (evt.EVT_N_ACTION, metrics.counted("N-ACTION", self.commitment.handle)),
            (evt.EVT_ACCEPTED, self._accepted),
            (evt.EVT_REJECTED, self._rejected),
            (evt.EVT_RELEASED, self._ended),
            (evt.EVT_ABORTED, self._ended),
        ]

    def _accepted(self, event: Any) -> None:
        actor = actor_of(event.assoc)
        self.metrics.associations.labels(result="accepted").inc()
        LOG.info("association accepted from %s at %s", actor.user, actor.host)

    def _rejected(self, event: Any) -> None:
        actor = actor_of(event.assoc)
        self.metrics.associations.labels(result="rejected").inc()
        LOG.info("association rejected from %s at %s", actor.user, actor.host)

    def _ended(self, event: Any) -> None:
        self.storage.forget(event.assoc)

    @property
    def port(self) -> int:
        """The port actually listened on (useful when configured as 0)."""
        return int(self._server.server_address[1])

    def start(self) -> int:
        """Recover the spool, then listen (in background threads); returns the port."""
        recovered = self.committer.recover()
        if recovered:
            LOG.info("recovered %d instances left in the spool", recovered)
        tls = _ssl_context(self.config.tls) if self.config.tls is not None else None
        self._server = self.ae.start_server(
            (self.config.host, self.config.port),
            block=False,
            evt_handlers=self._handlers(),
            ssl_context=tls,
        )
        self._orphans.start()
        if self.config.metrics_port is not None:
            self._metrics_server = self.metrics.serve(self.config.metrics_port)
        return self.port

    def stop(self) -> None:
        """Stop accepting, finish what is spooled, stop the committer."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.committer.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server = None
