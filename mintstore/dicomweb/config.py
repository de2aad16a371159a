"""The DICOMweb front-end's own options (MINT-SPEC section 10).

One frozen value made at the edge (the CLI) and handed to the app factory
inside :class:`mintstore.web.ServerConfig`; nothing in this package reads the
environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mintstore.errors import ConfigurationError


@dataclass(frozen=True)
class DicomWebConfig:
    """Where DICOMweb is mounted and how it answers."""

    #: Mount point, below the server's base path. Default ``/dicom-web``.
    root: str = "/dicom-web"
    #: Absolute URL clients reach DICOMweb at, used in RetrieveURL and
    #: BulkDataURI (e.g. ``https://pacs.example/dicom-web``). Default None:
    #: built from each request's Host header. Set it when clients send a
    #: Host without the port (dicomweb-client does) or a proxy rewrites it.
    public_url: str | None = None
    #: Origins allowed to call DICOMweb from a browser (``*`` for any).
    #: Default: none (no CORS headers are sent).
    cors_origins: tuple[str, ...] = ()
    #: Most results one QIDO-RS answer carries when the client sends no
    #: ``limit`` (or a larger one). Default 1000.
    max_results: int = 1000
    #: Most studies a cross-study search reads the metadata of while it
    #: filters on attributes the index does not hold. Default 5000.
    max_scanned_studies: int = 5000
    #: What STOW-RS does with an instance whose SOP Instance UID is stored
    #: with different content: ``reject`` fails that instance (0111H);
    #: ``replace`` commits it as a new version of the study, the old content
    #: kept in history. Default ``reject``.
    duplicates: Literal["reject", "replace"] = "reject"
    #: Longest side of a thumbnail when the client gives no viewport. Default 128.
    thumbnail_size: int = 128

    def __post_init__(self) -> None:
        stripped = self.root.strip().strip("/")
        if not stripped or any(part in ("", ".", "..") for part in stripped.split("/")):
            raise ConfigurationError(f"invalid DICOMweb root {self.root!r}")
        object.__setattr__(self, "root", "/" + stripped)
        if self.public_url is not None:
            if not self.public_url.startswith(("http://", "https://")):
                raise ConfigurationError(f"DICOMweb URL {self.public_url!r} must be http(s)://...")
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if self.duplicates not in ("reject", "replace"):
            raise ConfigurationError(
                f"duplicates must be reject or replace, not {self.duplicates!r}"
            )
        if self.max_results < 1 or self.max_scanned_studies < 1 or self.thumbnail_size < 1:
            raise ConfigurationError("DICOMweb limits must be positive")
