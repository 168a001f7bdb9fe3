#!/usr/bin/env bash
# Compile-check the target-only code — port/freertos, netdev/esp_eth, the
# shim's port/idf and core/ipv4_only (only IDF's ESP_SMOLTCP_IPV6=n build
# compiles it) — with -Werror:
#   1. rv32imafc gcc + picolibc against host/idf_stubs (always; CI);
#   2. when IDF_PATH is set: against the real ESP-IDF headers (check_idf_stubs).
# Also validates idf_component.yml and Kconfig (scripts/validate-idf-manifests.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/install-cross-deps.sh" >/dev/null

RT="$ROOT/components/esp_smoltcp"
CP="$ROOT/components/esp_smoltcp_lwip_compat"
STUBS="$ROOT/host/idf_stubs"
SRCS=("$RT"/src/port/freertos/*.c "$RT"/src/netdev/esp_eth/*.c "$CP"/src/port/idf/*.c "$RT"/src/core/ipv4_only/*.c)
INC=(-I"$STUBS/include" -I"$ROOT/host/idf_compat/include" -I"$RT/include" -I"$RT/src" -I"$RT/src/core"
     -I"$RT/src/port" -I"$RT/src/port/freertos" -I"$CP/include" -I"$CP/src" -I"$CP/src/port/idf"
     -I"$ROOT/components/esp_smoltcp_glue/include")
WARN=(-std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -DESP_PLATFORM=1 -DFD_SETSIZE=64)
OUT="$ROOT/build/check-idf-ports"
mkdir -p "$OUT"

n=0
for src in "${SRCS[@]}"; do
    riscv64-unknown-elf-gcc -march=rv32imafc -mabi=ilp32f -Os --specs=picolibc.specs "${WARN[@]}" \
        -I"$STUBS/libc" "${INC[@]}" -c "$src" -o "$OUT/$(basename "$src").rv32.o"
    n=$((n + 1))
done
echo "check-idf-ports: $n files compile for rv32imafc against host/idf_stubs"

if [ -n "${IDF_PATH:-}" ]; then
    python3 "$ROOT/scripts/check_idf_stubs.py" --idf "$IDF_PATH" --stubs "$STUBS/include"
else
    echo "check-idf-ports: IDF_PATH not set; stubs not compared with real IDF headers (skipped)"
fi
"$ROOT/scripts/validate-idf-manifests.sh"
