"""Engine fixtures: a StudyStore over the shared per-backend ``object_store``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mintstore.adapters import ObjectStore
from mintstore.store import StoreConfig, StudyStore


@pytest.fixture
def config() -> StoreConfig:
    return StoreConfig(upload_workers=4)


@pytest.fixture
def store(object_store: ObjectStore, config: StoreConfig) -> Iterator[StudyStore]:
    yield StudyStore(object_store, config)
