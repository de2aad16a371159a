#!/usr/bin/env bash
# Azurite, the Azure Blob emulator, under .tools/azurite (3.35.0: newer needs Node 22).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=3.35.0
prefix=.tools/azurite
installed="$prefix/node_modules/azurite/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
    exit 0
fi
mkdir -p "$prefix"
npm install --prefix "$prefix" "azurite@$version" --no-save --no-audit --no-fund --loglevel=error
