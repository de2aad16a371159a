"""mintstore: a web-based DICOM store in the MINT tradition on object storage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mintstore")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
