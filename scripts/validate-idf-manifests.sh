#!/usr/bin/env bash
# Validate the components' idf_component.yml with the idf-component-manager
# package and their Kconfig files with esp-idf-kconfig's checker, both from
# PyPI in a venv under build/ (never system-wide).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/build/idf-tools-venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import idf_component_manager, kconfcheck' 2>/dev/null || \
    "$VENV/bin/pip" install -q "idf-component-manager>=3,<4" "esp-idf-kconfig>=2,<4"

rc=0
for c in esp_smoltcp_glue esp_smoltcp esp_smoltcp_lwip_compat; do
    dir="$ROOT/components/$c"
    if "$VENV/bin/python" - "$dir/idf_component.yml" <<'PY'
import os, sys
from idf_component_tools.manager import ManifestManager
path = sys.argv[1]
comp = os.path.dirname(path)
# load() validates against the manager's schema and raises on any violation.
ManifestManager(comp, os.path.basename(comp)).load()
print(f"  idf_component.yml OK: {path}")
PY
    then :; else echo "  idf_component.yml INVALID: $dir" >&2; rc=1; fi
    if [ -f "$dir/Kconfig" ]; then
        if (cd "$dir" && "$VENV/bin/python" -m kconfcheck Kconfig); then
            echo "  Kconfig OK: $dir/Kconfig"
        else
            echo "  Kconfig INVALID: $dir/Kconfig" >&2; rc=1
        fi
    fi
done
exit $rc
