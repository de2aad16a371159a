"""Project-wide pytest setup: the store fixtures of mintstore.testing.

Any test taking ``object_store`` (or ``make_object_store``,
``object_store_spec``) runs once per backend; see
mintstore/testing/pytest_plugin.py and docs/testing.md.
"""

pytest_plugins = ["mintstore.testing.pytest_plugin"]
