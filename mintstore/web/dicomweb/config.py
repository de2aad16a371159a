"""The DICOMweb front-end's own options (MINT-SPEC section 10).

One frozen dataclass, a section of ``mintstore serve``'s configuration
(``[dicomweb]`` in the TOML file, ``MINTSTORE_DICOMWEB_*`` variables,
``--dicomweb-*`` flags); the app finds it as
``ServerConfig.component(DicomWebConfig)``. Nothing in this package reads the
environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from mintstore.configuration import Section, option
from mintstore.errors import ConfigurationError


@dataclass(frozen=True)
class DicomWebConfig:
    """Where DICOMweb is mounted and how it answers."""

    root: str = option("/dicom-web", "DICOMweb mount point, below the base path")
    public_url: str | None = option(
        None,
        "absolute URL clients reach DICOMweb at, for RetrieveURL and BulkDataURI (unset: "
        "from each request's Host; set it when clients drop the port from Host, as "
        "dicomweb-client does)",
    )
    cors_origins: tuple[str, ...] = option(
        (), "an origin allowed to call DICOMweb from a browser, or * (none: no CORS headers)"
    )
    max_results: int = option(1000, "most results of one QIDO-RS answer")
    max_scanned_studies: int = option(
        5000, "most studies a cross-study QIDO-RS reads while filtering beyond the index"
    )
    thumbnail_size: int = option(128, "longest side of a thumbnail without a viewport")

    def __post_init__(self) -> None:
        stripped = self.root.strip().strip("/")
        if not stripped or any(part in ("", ".", "..") for part in stripped.split("/")):
            raise ConfigurationError(f"invalid DICOMweb root {self.root!r}")
        object.__setattr__(self, "root", "/" + stripped)
        if self.public_url is not None:
            if not self.public_url.startswith(("http://", "https://")):
                raise ConfigurationError(f"DICOMweb URL {self.public_url!r} must be http(s)://...")
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if self.max_results < 1 or self.max_scanned_studies < 1 or self.thumbnail_size < 1:
            raise ConfigurationError("DICOMweb limits must be positive")


#: The configuration section: ``--dicomweb-*`` flags, plus the short spellings.
#: ``duplicates`` was this front-end's own copy of the engine's duplicate policy;
#: STOW-RS follows ``[store] duplicates`` like every write path (``--duplicates``
#: is now that option's short spelling), and the old file key, variable and
#: flag are refused with this pointer.
SECTION = Section(
    "dicomweb",
    DicomWebConfig,
    flag_prefix="dicomweb-",
    aliases={"cors_origins": "--cors-origin", "public_url": "--dicomweb-url"},
    retired={
        "duplicates": "[store] duplicates (--store-duplicates or --duplicates, "
        "MINTSTORE_STORE_DUPLICATES): one policy for every write path"
    },
)
