#!/usr/bin/env bash
# OpenStack Swift servers in their own venv (.tools/swift-venv): the swift
# package pins libraries we do not want in the project's venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.tools/swift-venv
if [ -x "$venv/bin/swift-proxy-server" ] && [ -x "$venv/bin/swift-ring-builder" ]; then
    exit 0
fi
mkdir -p .tools
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check swift
