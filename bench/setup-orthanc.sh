#!/usr/bin/env bash
# Orthanc 1.10 + its DICOMweb plugin, the comparison server of bench/http_api.py (idempotent).
set -euo pipefail
if command -v Orthanc >/dev/null 2>&1 && [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show orthanc-dicomweb >/dev/null 2>&1; then
    apt-get update -q
fi
apt-get install -y -q orthanc orthanc-dicomweb
