"""The allocator tuning the ``mintstore`` command applies at start-up."""

from __future__ import annotations

import platform

from mintstore.allocator import tune_allocator


def test_tuning_applies_on_glibc_and_is_idempotent() -> None:
    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert tune_allocator() is expected
    assert tune_allocator() is expected  # the command may be run in-process twice
    # Large buffers still round-trip after the change of thresholds.
    buffers = [bytes([n]) * (512 * 1024 + n) for n in range(8)]
    assert [len(b) for b in buffers] == [512 * 1024 + n for n in range(8)]
