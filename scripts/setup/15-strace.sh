#!/usr/bin/env bash
# strace: the syscall-level durability test of the file store
# (tests/adapters/test_filesystem_durability.py) watches mkdir and fsync.
set -euo pipefail
if command -v strace >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show strace >/dev/null 2>&1; then
    apt-get update -q
fi
apt-get install -y -q --no-install-recommends strace
