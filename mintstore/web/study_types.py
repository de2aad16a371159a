"""The study types this server holds (MINT types; only DICOM here)."""

from __future__ import annotations

from mintstore.errors import ItemNotFound

TYPES = ("DICOM",)


def check_type(type_name: str) -> None:
    """404 for a type the study does not have."""
    if type_name not in TYPES:
        raise ItemNotFound(f"no type {type_name[:40]!r} in this study (only DICOM)")
