"""Project-wide pytest setup: the store fixtures of mintstore.testing.

Any test taking ``object_store`` (or ``make_object_store``,
``object_store_spec``) runs once per backend; see
mintstore/testing/pytest_plugin.py and docs/testing.md.
"""

pytest_plugins = ["mintstore.testing.pytest_plugin"]

import pytest  # noqa: E402 - after pytest_plugins, which pytest reads first

from mintstore.store import partitions  # noqa: E402


@pytest.fixture
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many row groups per index partition, so scans and reads cross their boundaries."""
    monkeypatch.setattr(partitions, "ROW_GROUP_ROWS", 32)
    monkeypatch.setattr(partitions, "EXACT_ROW_GROUP_ROWS", 8)
