"""Test support shared by the test suite and the benchmarks.

``servers`` starts real emulators (moto, Azurite, Swift) on loopback,
``backends`` hands out fresh stores on each backend, and ``pytest_plugin``
turns those into the ``object_store`` fixtures. See docs/testing.md.
"""
