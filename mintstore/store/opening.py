"""The one place a study store is built from a URL (server, copy, maintenance, tests).

Opening the object store (the registry picks the adapter and wraps it with
whatever that backend needs) and putting the engine on top of it happen
together here, so every entry point gets the same store for the same URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mintstore.adapters.registry import open_store

from .config import StoreConfig
from .facade import StudyStore
from .migration import MigrationReport, migrate


def open_study_store(
    url: str, environ: Mapping[str, str] | None = None, config: StoreConfig | None = None
) -> StudyStore:
    """The study store in the bucket ``url`` names (credentials from ``environ``)."""
    settle = config.create_settle if config is not None else None
    objects = open_store(url, environ, settle=settle)
    try:
        return StudyStore(objects, config)
    except BaseException:
        objects.close()
        raise


def migrate_study_store(
    url: str,
    environ: Mapping[str, str] | None = None,
    config: StoreConfig | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> MigrationReport:
    """Convert a store written in the layout before the partitioned change log (in place).

    Opened without :class:`StudyStore`, which refuses such a store; see
    mintstore.store.migration.
    """
    engine = config if config is not None else StoreConfig()
    objects = open_store(url, environ, settle=engine.create_settle)
    try:
        return migrate(objects, engine, progress=progress)
    finally:
        objects.close()
