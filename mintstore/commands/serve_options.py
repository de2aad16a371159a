"""The sections of ``mintstore serve``'s configuration, and how they become a ServerConfig.

Each component contributes one frozen options dataclass and one line in
:data:`SECTIONS`; its values then come from ``[name]`` in the TOML file,
``MINTSTORE_NAME_FIELD`` variables and ``--name-field`` flags (or the flags its
fields name), and reach the application as
``ServerConfig.component(TheOptionsClass)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mintstore.configuration import Loaded, Section, option
from mintstore.dimse.options import SECTION as DIMSE_SECTION
from mintstore.serving.options import ServingOptions
from mintstore.store import StoreConfig
from mintstore.store.wiring import DicomConverter
from mintstore.web.dicomweb.config import SECTION as DICOMWEB_SECTION
from mintstore.web.input_limits import InputLimits

DEFAULT_STORE_DIR = "mint-data"


@dataclass(frozen=True)
class HttpOptions:
    """What the HTTP API serves, to whom, and its request limits."""

    store: str | None = option(
        None,
        "store URL: file:///path, s3://bucket/prefix, swift://container/prefix, "
        "azure://container/prefix, memory:// (unset: a file store in ./mint-data)",
    )
    base_path: str = option("/", "mount point of the API, e.g. /MINTServer")
    tokens: Path | None = option(
        None, "JSON file of bearer tokens and their scopes (unset: no authentication)"
    )
    insecure: bool = option(False, "allow listening on a non-loopback address without tokens")
    max_request_bytes: int = option(8 * 1024**3, "largest request body accepted (413 beyond)")
    max_metadata_bytes: int = option(
        256 * 1024**2, "largest metadata document (XML/GPB/JSON) accepted in an upload"
    )
    spool_dir: Path | None = option(
        None, "directory for spooled upload parts (unset: the system temporary directory)"
    )
    copy_targets: tuple[str, ...] = option(
        (), "a store that ?action=copy&target=NAME may copy to, as NAME=URL", flag="--copy-target"
    )
    copy_tokens: Path | None = option(
        None,
        "JSON file mapping other mintstore servers' URLs to the bearer token sent when "
        'copying to them: {"http://other:8080": "secret"} (unset: copies send no token)',
    )


#: Every section of the serve configuration, in the order ``config show`` prints them.
SECTIONS: tuple[Section, ...] = (
    Section("server", ServingOptions),
    Section("http", HttpOptions),
    Section(
        "store",
        StoreConfig,
        flag_prefix="store-",
        # The short spellings serve has always had; --duplicates set the
        # retired DICOMweb-only policy and now sets the engine's one.
        aliases={
            "lock_ttl": "--lock-ttl",
            "freshness": "--freshness",
            "duplicates": "--duplicates",
        },
    ),
    Section("limits", InputLimits, flag_prefix="limits-"),
    DICOMWEB_SECTION,
    DIMSE_SECTION,
)

#: Sections whose options class the app finds in ``ServerConfig.components``.
CORE_SECTIONS = frozenset({"server", "http", "store"})


def engine_config(loaded: Loaded) -> StoreConfig:
    """The store's configuration, its converter reading Part-10 within ``[limits]``."""
    limits = loaded.get(InputLimits)
    return replace(loaded.get(StoreConfig), converter=DicomConverter(limits.part10))
