"""The DIMSE gateway: modalities and PACS store, query and retrieve over DICOM networking.

A pynetdicom Application Entity in front of the same :class:`StudyStore` the
HTTP API uses (no second copy of the data, no side database):

* :mod:`.config` - the gateway's own options (AE title, peers, limits, TLS);
* :mod:`.reads` - every store read the gateway makes, in one place;
* :mod:`.spool` - C-STORE durability: each instance is made durable in the
  bucket before its success status, then committed to the engine in batches;
* :mod:`.storage` - the C-STORE handler;
* :mod:`.matching` - PS3.4 C.2.2.2 attribute matching (pure);
* :mod:`.query` - C-FIND at PATIENT / STUDY / SERIES / IMAGE level;
* :mod:`.retrieve` - C-MOVE and C-GET;
* :mod:`.commitment` - Storage Commitment Push Model;
* :mod:`.server` - the Application Entity, its contexts and handlers.

The package itself imports only the configuration, so the command line can
build its parser without loading pynetdicom; ``mintstore.dimse.server.DimseServer``
is the gateway.
"""

from mintstore.dimse.config import Destination, DimseConfig, TlsConfig

__all__ = ["Destination", "DimseConfig", "TlsConfig"]
