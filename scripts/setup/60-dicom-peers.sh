#!/usr/bin/env bash
# dcmtk (echoscu, storescu, findscu, movescu, getscu, storescp, dcmdump) and
# Orthanc 1.10 with its DICOMweb plugin: the third-party DIMSE and DICOMweb
# peers of the interoperability tests and benchmarks.
#
# Orthanc binds 0.0.0.0 and has no bind option, so it must never run as a
# system service here: a policy-rc.d that refuses every start is in place
# while apt installs it, and tests run it inside their own network namespace
# (mintstore.testing.orthanc).
set -euo pipefail
if command -v storescu >/dev/null 2>&1 && command -v Orthanc >/dev/null 2>&1 \
    && [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show orthanc-dicomweb >/dev/null 2>&1 || ! apt-cache show dcmtk >/dev/null 2>&1; then
    apt-get update -q
fi
policy=/usr/sbin/policy-rc.d
had_policy=0
if [ -e "$policy" ]; then
    had_policy=1
    cp -p "$policy" "$policy.mintstore-saved"
fi
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod +x "$policy"
restore() {
    if [ "$had_policy" = 1 ]; then mv -f "$policy.mintstore-saved" "$policy"; else rm -f "$policy"; fi
}
trap restore EXIT
apt-get install -y -q --no-install-recommends dcmtk orthanc orthanc-dicomweb iproute2 util-linux
