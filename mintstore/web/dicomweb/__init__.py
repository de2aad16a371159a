"""DICOMweb (PS3.18): QIDO-RS, WADO-RS and STOW-RS on the same store (MINT-SPEC 10).

The app factory calls :func:`mintstore.web.dicomweb.service.install_dicomweb`;
this package's ``__init__`` stays free of Flask imports so that the
server configuration can name :class:`DicomWebConfig` without cycles.
"""

from __future__ import annotations

from .config import DicomWebConfig

__all__ = ["DicomWebConfig"]
