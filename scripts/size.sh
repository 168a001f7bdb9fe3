#!/usr/bin/env bash
# make size: cross-build the three components for the ESP32-P4 ABI
# (rv32imafc/ilp32f, -Os, picolibc; Rust glue with -Zbuild-std=core for
# riscv32imafc-unknown-none-elf, opt-level "s") into one linked image per
# profile, print code / data / bss per component and for smoltcp, and check
# the budget. Exits non-zero when a profile is over budget or a build fails.
#
# Profiles (what the size image's main() reaches, host/idf_stubs/link/size_main.c):
#   all   every feature a user can turn on: IPv4 + IPv6 glue, runtime, BSD shim +
#         esp_netif shim, DHCP, DNS, and the optional services SNTP, PTP (Kconfig
#         ESP_SMOLTCP_PTP), mDNS/DNS-SD (Kconfig ESP_SMOLTCP_MDNS), L2 tap API,
#         ping, native DNS/multicast calls.
#                                               code <= 100 KiB, static RAM <= 64 KiB
#   core  as "all" without the optional services (no budget: shows what they cost)
#   ipv4  glue without the "ipv6" feature; runtime + BSD shim + esp_netif shim,
#         DHCP, DNS; no optional service (SNTP, PTP, mDNS, L2 tap API). code <= 60 KiB
# A new public function: call it in size_main.c (under SIZE_SERVICES if optional).
#
# "code" = .text + .rodata of our C, the glue, smoltcp, Rust core and
# compiler_builtins; "static RAM" = .data + .bss of the same. Not counted:
# picolibc, libgcc and host/idf_stubs/link (IDF's own code in a real image).
#
#   scripts/size.sh [--profile all|core|ipv4]... (default: all three)
#   SIZE_REPORT_ONLY=1: print the budget verdicts but exit 0 when only a budget is
#   over (make size-report, run by make test); build errors still fail.
#
# Experiments (docs/configuration.md "Code size" lists what each measured):
#   SIZE_LTO=false|thin|fat (default: Cargo.toml's, fat), SIZE_OPT_LEVEL=s|z,
#   SIZE_RUSTFLAGS="-Ctarget-feature=+relax -Zunstable-options -Cpanic=immediate-abort",
#   SIZE_CFLAGS="..." (added to the C flags), SIZE_BUILD=dir; SIZE_TOP=N lists the N
#   largest code symbols of each image.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(realpath -m "${SIZE_BUILD:-$ROOT/build/size}")"
"$ROOT/scripts/install-cross-deps.sh"

PROFILES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILES+=("$2"); shift 2 ;;
        *) echo "size.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#PROFILES[@]} -eq 0 ] && PROFILES=(all core ipv4)

CC=riscv64-unknown-elf-gcc
ARCH=(-march=rv32imafc -mabi=ilp32f)
CFLAGS=("${ARCH[@]}" -Os -std=gnu11 -ffunction-sections -fdata-sections --specs=picolibc.specs
        -DESP_PLATFORM=1 -DFD_SETSIZE=64 -Wall -Wextra -Wno-unused-parameter
        -D_POSIX_TIMERS=1 -D_POSIX_MONOTONIC_CLOCK=200112L) # IDF's newlib has clock_gettime(CLOCK_MONOTONIC); picolibc hides it
# shellcheck disable=SC2206 # experiments: SIZE_CFLAGS="-flto" etc., split on spaces
CFLAGS+=(${SIZE_CFLAGS:-})
RT="$ROOT/components/esp_smoltcp"
CP="$ROOT/components/esp_smoltcp_lwip_compat"
GLUE="$ROOT/components/esp_smoltcp_glue"
STUBS="$ROOT/host/idf_stubs"
INC=(-I"$STUBS/include" -I"$STUBS/libc" -I"$ROOT/host/idf_compat/include"
     -I"$RT/include" -I"$RT/src" -I"$RT/src/core" -I"$RT/src/port" -I"$RT/src/port/freertos"
     -I"$CP/include" -I"$CP/src" -I"$CP/src/port/idf" -I"$GLUE/include")

compile_lib() { # name outdir sources...
    local name="$1" dir="$2"; shift 2
    mkdir -p "$dir"
    local objs=()
    for src in "$@"; do
        local obj="$dir/$(basename "$src").o"
        "$CC" "${CFLAGS[@]}" "${INC[@]}" -c "$src" -o "$obj"
        objs+=("$obj")
    done
    rm -f "$dir/lib$name.a"
    riscv64-unknown-elf-ar rcs "$dir/lib$name.a" "${objs[@]}"
}

# The C of one Kconfig variant into $OUT/obj-<variant>: "dual" (the defaults) or "ipv4"
# (ESP_SMOLTCP_IPV6=n: host/idf_stubs/ipv4_only/sdkconfig.h, and src/core/ipv4_only/ip6_off.c
# instead of src/core/ip6_*.c, as components/esp_smoltcp/CMakeLists.txt selects them).
compile_variant() { # variant
    local variant="$1" obj="$OUT/obj-$1" core=()
    [ -f "$obj/done" ] && return
    echo "size: C ($variant), $CC ${ARCH[*]} -Os, picolibc"
    if [ "$variant" = ipv4 ]; then
        INC=(-I"$STUBS/ipv4_only" "${INC[@]}")
        for f in "$RT"/src/core/*.c; do
            case "$(basename "$f")" in ip6_*.c) ;; *) core+=("$f") ;; esac
        done
        core+=("$RT"/src/core/ipv4_only/ip6_off.c)
    else
        core=("$RT"/src/core/*.c)
    fi
    compile_lib esp_smoltcp "$obj/esp_smoltcp" "${core[@]}" "$RT"/src/port/freertos/*.c "$RT"/src/netdev/esp_eth/*.c
    # Optional services in their own archive, so the report shows what they cost.
    compile_lib esp_smoltcp_services "$obj/services" "$RT"/src/services/*.c
    compile_lib esp_smoltcp_lwip_compat "$obj/compat" "$CP"/src/*.c "$CP"/src/port/idf/*.c
    compile_lib idf_stubs "$obj/stubs" "$STUBS"/link/*.c
    touch "$obj/done"
}
rm -f "$OUT"/obj-*/done # C is compiled afresh by every run (seconds), once per variant

WRAPS=()
while read -r sym; do
    case "$sym" in ''|'#'*|'['*) continue ;; esac
    WRAPS+=("-Wl,--wrap=$sym")
done < "$CP/linker_wraps.txt"

# Debian's rustc-web, never rustup's (it cannot fetch a target here).
RUST_ENV=(env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
          CARGO_PROFILE_RELEASE_OPT_LEVEL="${SIZE_OPT_LEVEL:-s}" CARGO_PROFILE_RELEASE_DEBUG=0
          ${SIZE_LTO:+CARGO_PROFILE_RELEASE_LTO=$SIZE_LTO}
          RUSTFLAGS="${SIZE_RUSTFLAGS:--Ctarget-feature=+relax}")
TRIPLE=riscv32imafc-unknown-none-elf
rc=0
over=0
for prof in "${PROFILES[@]}"; do
    case "$prof" in
        all)  features=(); budget=(--code-max 102400 --ram-max 65536); main_defs=(-DSIZE_SERVICES); variant=dual
              includes="IPv4+IPv6, DHCP, DNS, BSD+esp_netif shim, SNTP, PTP, mDNS, L2 tap, ping, native DNS/mcast" ;;
        core) features=(); budget=(); main_defs=(); variant=dual
              includes="IPv4+IPv6, DHCP, DNS, BSD+esp_netif shim; no SNTP/PTP/mDNS/L2 tap API" ;;
        ipv4) features=(--no-default-features --features panic-handler); budget=(--code-max 61440); main_defs=(); variant=ipv4
              includes="IPv4 only, DHCP, DNS, BSD+esp_netif shim; no SNTP/PTP/mDNS/L2 tap API" ;;
        *) echo "size.sh: unknown profile $prof" >&2; exit 2 ;;
    esac
    (compile_variant "$variant") # subshell: the ipv4 variant's include path stays its own
    OBJ="$OUT/obj-$variant"
    tdir="$OUT/cargo-${prof/core/all}" # same glue features as "all"
    echo "size: Rust glue ($prof), /usr/bin/cargo -Zbuild-std=core --target $TRIPLE, opt-level s"
    (cd "$GLUE" && "${RUST_ENV[@]}" /usr/bin/cargo build --release --locked -q -Zbuild-std=core \
        --target "$TRIPLE" --target-dir "$tdir" "${features[@]}" 2>&1 | grep -v "relax\|^\s*$" >&2 || true)
    glue_lib="$tdir/$TRIPLE/release/libesp_smoltcp_glue.a"
    elf="$OUT/size-$prof.elf"
    inc=("${INC[@]}")
    [ "$variant" = ipv4 ] && inc=(-I"$STUBS/ipv4_only" "${INC[@]}")
    "$CC" "${CFLAGS[@]}" "${inc[@]}" "${main_defs[@]}" -o "$elf" "$STUBS/link/size_main.c" \
        -Wl,--gc-sections -Wl,-Map="$OUT/size-$prof.map" "${WRAPS[@]}" \
        -Wl,--defsym=__flash=0x40000000 -Wl,--defsym=__flash_size=0x1000000 \
        -Wl,--defsym=__ram=0x4ff00000 -Wl,--defsym=__ram_size=0x100000 -Wl,--defsym=__stack_size=0x2000 \
        -Wl,--start-group "$OBJ/esp_smoltcp/libesp_smoltcp.a" "$OBJ/services/libesp_smoltcp_services.a" "$OBJ/compat/libesp_smoltcp_lwip_compat.a" \
        "$glue_lib" "$OBJ/stubs/libidf_stubs.a" -Wl,--end-group
    python3 "$ROOT/scripts/size_report.py" --map "$OUT/size-$prof.map" --profile "$prof" --includes "$includes" "${budget[@]}" \
        --json "$OUT/size-$prof.json" --elf "$elf" --top "${SIZE_TOP:-0}" || { s=$?; [ "$s" -eq 3 ] && over=1 || rc=$s; }
done
if [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
if [ "$over" = 1 ]; then
    [ "${SIZE_REPORT_ONLY:-0}" = 1 ] && { echo "size: over budget (reported, not failed: SIZE_REPORT_ONLY=1)"; exit 0; }
    exit 1
fi
exit 0
