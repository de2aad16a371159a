#!/usr/bin/env bash
# memcached: Swift's tempauth keeps its tokens there (used by the Swift test server).
set -euo pipefail
if command -v memcached >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know memcached yet.
if ! apt-cache show memcached >/dev/null 2>&1; then
    apt-get update -q
fi
apt-get install -y -q memcached
