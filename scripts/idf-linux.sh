#!/usr/bin/env bash
# Build examples/eth_basic for ESP-IDF's `linux` target and run it in a netbed
# namespace: the real esp_http_server on esp-smoltcp (our FreeRTOS port on
# IDF's POSIX FreeRTOS simulator, the TAP netdev instead of esp_eth,
# CONFIG_LWIP_ENABLE=y with the shim's --wrap), curl /dl/N for N = 0, 1460,
# 1 MB, 10 MB, byte count + pattern checked, Mbit/s printed.
#
# Needs IDF_PATH (an ESP-IDF tree with its submodules and its Python
# requirements installed, docs/porting.md "IDF linux target"); without it the
# script says "skipped" and exits 0. Never downloads anything.
#   IDF_PYTHON    python with IDF's requirements (default: $IDF_PYTHON_ENV_PATH/bin/python, else python3)
#   IDF_LINUX_BUILD  build dir (default build/idf-linux, recreated each run)
#   IDF_LINUX_NO_RUN=1  build only
set -euo pipefail

if [ -z "${IDF_PATH:-}" ]; then
    echo "skipped: IDF_PATH not set"
    exit 0
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="${IDF_LINUX_BUILD:-$ROOT/build/idf-linux}"
STANDINS="$ROOT/scripts/idf-linux-standins"
if [ -z "${IDF_PYTHON:-}" ]; then
    if [ -n "${IDF_PYTHON_ENV_PATH:-}" ] && [ -x "$IDF_PYTHON_ENV_PATH/bin/python" ]; then
        IDF_PYTHON="$IDF_PYTHON_ENV_PATH/bin/python"
    else
        IDF_PYTHON=python3
    fi
fi
[ -f "$IDF_PATH/tools/idf.py" ] || { echo "IDF_PATH=$IDF_PATH has no tools/idf.py" >&2; exit 2; }
[ -d "$IDF_PATH/components/lwip/lwip/src" ] || {
    echo "IDF_PATH has no lwIP (components/lwip/lwip is a submodule; see docs/porting.md)" >&2; exit 2; }

# Only what the example reaches is built (no unity/cmock/... submodules needed).
extra_dirs=""
if [ ! -d "$IDF_PATH/components/mbedtls/mbedtls/include" ]; then
    extra_dirs="$STANDINS"
    echo "note: $IDF_PATH/components/mbedtls/mbedtls is absent: header-only stand-in (no WebSocket)"
fi
# Workarounds for the IDF tree (scripts/idf-linux-standins/idf_linux_workarounds.h says which).
export CFLAGS="${CFLAGS:-} -Wno-error=maybe-uninitialized -include $STANDINS/idf_linux_workarounds.h"
# Local components only (override_path); the component manager would want the network.
export IDF_COMPONENT_MANAGER=0
# A venv from requirements.core.txt has no constraints file from install.sh.
export IDF_PYTHON_CHECK_CONSTRAINTS="${IDF_PYTHON_CHECK_CONSTRAINTS:-no}"
export PATH="$(dirname "$IDF_PYTHON"):$PATH"

rm -rf "$B"
mkdir -p "$(dirname "$B")" # not $B itself: set-target's fullclean refuses a non-CMake dir
idf() {
    "$IDF_PYTHON" "$IDF_PATH/tools/idf.py" --preview -C "$ROOT/examples/eth_basic" -B "$B" \
        -DSDKCONFIG="$B/sdkconfig" -DCOMPONENTS=main -DETH_BASIC_EXTRA_COMPONENT_DIRS="$extra_dirs" "$@"
}
echo "== idf.py set-target linux (log $B/set-target.log)"
idf set-target linux > "$B.set-target.log" 2>&1 || { tail -30 "$B.set-target.log"; exit 1; }
mv "$B.set-target.log" "$B/set-target.log"
for opt in CONFIG_IDF_TARGET_LINUX=y CONFIG_LWIP_ENABLE=y CONFIG_LWIP_COMPAT_ENABLE=y; do
    grep -qx "$opt" "$B/sdkconfig" || { echo "sdkconfig lacks $opt" >&2; exit 1; }
done
echo "== idf.py build (log $B/build.log)"
IDF_PY_BUILD_JOBS="${IDF_PY_BUILD_JOBS:-2}" idf build > "$B/build.log" 2>&1 || { grep -E "error|FAILED" "$B/build.log" | head -30; exit 1; }
elf="$B/eth_basic.elf"
[ -x "$elf" ] || { echo "no $elf" >&2; exit 1; }
echo "built $elf ($(stat -c %s "$elf") bytes)"
if [ "${IDF_LINUX_NO_RUN:-0}" = 1 ]; then
    exit 0
fi
echo "== run in a netbed namespace"
exec python3 "$ROOT/scripts/idf_linux_run.py" "$elf"
