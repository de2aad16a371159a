#!/usr/bin/env bash
# Chromium (headless) for the browser-view test of the HTTP API (tests/web/test_browser.py).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know chromium yet.
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -q
fi
apt-get install -y -q --no-install-recommends chromium chromium-driver
