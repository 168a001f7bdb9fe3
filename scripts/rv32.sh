#!/usr/bin/env bash
# Build the bare-metal rv32imafc image (rv32/) and the QEMU instruction-count
# plugin (rv32/plugin/). Same flags as the ESP32-P4 build in scripts/size.sh:
# C -Os with picolibc, Rust glue opt-level "s" with -Zbuild-std=core for
# riscv32imafc-unknown-none-elf (Debian's rustc-web), fat LTO from Cargo.toml.
# Comparison builds: RV32_LTO=false|thin, RV32_OPT_LEVEL=z, RV32_CFLAGS=... (and RV32_BUILD=dir).
#
#   scripts/rv32.sh            -> build/rv32/esp_smoltcp_rv32.elf, build/rv32/libfncount.so
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(realpath -m "${RV32_BUILD:-$ROOT/build/rv32}")"
"$ROOT/scripts/install-cross-deps.sh" >/dev/null
command -v qemu-system-riscv32 >/dev/null || {
    echo "rv32: installing qemu-system-misc" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-misc >&2
}

CC=riscv64-unknown-elf-gcc
ARCH=(-march=rv32imafc -mabi=ilp32f)
CFLAGS=("${ARCH[@]}" -Os -g -std=gnu11 -ffunction-sections -fdata-sections --specs=picolibc.specs
        -DESP_PLATFORM=1 -DFD_SETSIZE=64 -Wall -Wextra -Wno-unused-parameter)
# shellcheck disable=SC2206 # comparison builds: RV32_CFLAGS="-msave-restore" etc., split on spaces
CFLAGS+=(${RV32_CFLAGS:-})
RT="$ROOT/components/esp_smoltcp"
CP="$ROOT/components/esp_smoltcp_lwip_compat"
GLUE="$ROOT/components/esp_smoltcp_glue"
STUBS="$ROOT/host/idf_stubs"
INC=(-I"$STUBS/include" -I"$STUBS/libc" -I"$ROOT/host/idf_compat/include"
     -I"$RT/include" -I"$RT/src" -I"$RT/src/core" -I"$RT/src/port" -I"$RT/src/port/baremetal"
     -I"$RT/src/netdev/virtio_net" -I"$CP/include" -I"$CP/src" -I"$CP/src/port/idf" -I"$GLUE/include"
     -I"$ROOT/rv32")

compile_lib() { # name outdir sources...
    local name="$1" dir="$2"; shift 2
    mkdir -p "$dir"
    local objs=()
    for src in "$@"; do
        local obj="$dir/$(basename "$src").o"
        "$CC" "${CFLAGS[@]}" ${EXTRA_CFLAGS:-} "${INC[@]}" -c "$src" -o "$obj"
        objs+=("$obj")
    done
    rm -f "$dir/lib$name.a"
    riscv64-unknown-elf-ar rcs "$dir/lib$name.a" "${objs[@]}"
}

echo "rv32: C ($CC ${ARCH[*]} -Os, picolibc)"
OBJ="$OUT/obj"
compile_lib esp_smoltcp "$OBJ/esp_smoltcp" "$RT"/src/core/*.c "$RT"/src/port/baremetal/*.c \
    "$RT"/src/port/baremetal/*.S "$RT"/src/netdev/virtio_net/*.c
# The BSD shim without port/idf (its entry/VFS files need IDF): the app calls compat_*
# (what lwip_* resolve to in an IDF image) directly. The shim is taken from the last commit
# (git HEAD) unless RV32_SHIM=worktree: work in progress in the tree need not build for
# picolibc/IDF at every moment. IDF's newlib declares clock_gettime(CLOCK_MONOTONIC) and
# SSIZE_MAX; picolibc only with these defines (rv32/platform_virt.c has clock_gettime).
SHIM="$CP"
if [ "${RV32_SHIM:-head}" = head ] && git -C "$ROOT" rev-parse -q --verify HEAD >/dev/null; then
    SHIM="$OUT/shim-head"
    rm -rf "$SHIM" && mkdir -p "$SHIM/src" "$SHIM/include"
    for f in $(git -C "$ROOT" ls-tree --name-only HEAD components/esp_smoltcp_lwip_compat/src/ \
                   components/esp_smoltcp_lwip_compat/include/); do
        [ "$(git -C "$ROOT" cat-file -t "HEAD:$f")" = blob ] || continue
        sub=src; case "$f" in */include/*) sub=include ;; esac
        git -C "$ROOT" show "HEAD:$f" > "$SHIM/$sub/$(basename "$f")"
    done
fi
INC=(-I"$SHIM/include" -I"$SHIM/src" "${INC[@]}")
EXTRA_CFLAGS="-D_POSIX_TIMERS=1 -D_POSIX_MONOTONIC_CLOCK=1 -DSSIZE_MAX=0x7fffffff" \
    compile_lib esp_smoltcp_lwip_compat "$OBJ/compat" \
    $(for f in bsd_socket bsd_io fd_table sockopt inet_addr; do [ -f "$SHIM/src/$f.c" ] && echo "$SHIM/src/$f.c"; done)
compile_lib rv32app "$OBJ/app" $(ls "$ROOT"/rv32/*.c | grep -v mem_rv32.c)
# RV32_MEM=word (default): rv32/mem_rv32.c's word-at-a-time memcpy/memmove/memset for the whole
# image; RV32_MEM=builtins: whatever the link resolves (compiler_builtins' weak ones).
MEM_OBJ=()
if [ "${RV32_MEM:-word}" = word ]; then
    # RV32_MEM_STATS=1: count copies by call size (GET /stats "memcpy_*"; costs instructions per call)
    "$CC" "${CFLAGS[@]}" -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns \
        -DRV32_MEM_STATS="${RV32_MEM_STATS:-0}" ${RV32_MEM_CFLAGS:-} -c "$ROOT/rv32/mem_rv32.c" -o "$OBJ/mem_rv32.o"
    MEM_OBJ=("$OBJ/mem_rv32.o")
fi

echo "rv32: Rust glue (/usr/bin/cargo -Zbuild-std=core --target riscv32imafc-unknown-none-elf, opt-level s)"
TRIPLE=riscv32imafc-unknown-none-elf
(cd "$GLUE" && env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL="${RV32_OPT_LEVEL:-s}" CARGO_PROFILE_RELEASE_DEBUG=0 ${RV32_LTO:+CARGO_PROFILE_RELEASE_LTO=$RV32_LTO} \
    RUSTFLAGS="-Ctarget-feature=+relax" \
    /usr/bin/cargo build --release --locked -q -Zbuild-std=core --target "$TRIPLE" \
    --target-dir "$OUT/cargo" 2>&1 | grep -v "relax\|^\s*$\|warning\|-->\|^ *|\|^ *=" >&2 || true)
glue_lib="$OUT/cargo/$TRIPLE/release/libesp_smoltcp_glue.a"

# RAM layout of the issue: code at 0x80000000 (2 MiB), RAM at 0x80200000; 8 MiB of RAM
# here so the heap is never the limit (the figures report what was used). picolibc's boot
# stack stays 2 KiB (a --defsym'd __stack_size comes too late for its DEFINED()): main()
# only starts the app task and the scheduler.
link() { # elf app-lib
    "$CC" "${CFLAGS[@]}" -o "$1" -Wl,--gc-sections -Wl,-Map="${1%.elf}.map" \
        -Wl,--defsym=__flash=0x80000000,--defsym=__flash_size=0x200000 \
        -Wl,--defsym=__ram=0x80200000,--defsym=__ram_size=0x800000 \
        "${MEM_OBJ[@]}" "$2" \
        -Wl,--start-group "$OBJ/esp_smoltcp/libesp_smoltcp.a" "$OBJ/compat/libesp_smoltcp_lwip_compat.a" \
        "$glue_lib" -Wl,--end-group
}
ELF="$OUT/esp_smoltcp_rv32${RV32_SUFFIX:-}.elf"
link "$ELF" "$OBJ/app/librv32app.a"
riscv64-unknown-elf-size "$ELF"
# The stress image (bench/rv32_bench.py --stress): the same with smoltcp's SLAAC on, whose stuck
# router-solicitation deadline makes the engine ask for an immediate poll for ever (12 s after
# boot when no router answers): the poll task must still let the driver run.
EXTRA_CFLAGS="-DRV32_IPV6_SLAAC=1" compile_lib rv32app "$OBJ/app-slaac" $(ls "$ROOT"/rv32/*.c | grep -v mem_rv32.c)
link "$OUT/esp_smoltcp_rv32${RV32_SUFFIX:-}-slaac.elf" "$OBJ/app-slaac/librv32app.a"

echo "rv32: QEMU plugin"
gcc -O2 -shared -fPIC -Wall -Wextra -o "$OUT/libfncount.so" "$ROOT/rv32/plugin/fncount.c"
echo "rv32: $ELF"
