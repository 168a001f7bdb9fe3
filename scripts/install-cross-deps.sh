#!/usr/bin/env bash
# Install what `make size` needs to cross-build for the ESP32-P4 ABI
# (rv32imafc / ilp32f) without Espressif's toolchain, on Debian 12:
#
#   gcc-riscv64-unknown-elf       C compiler (multilib rv32imafc/ilp32f)
#   picolibc-riscv64-unknown-elf  the C library for it
#   rustc-web cargo-web rust-web-src  Debian's rustc with the std sources, for
#                                 -Zbuild-std=core (rustup cannot fetch targets here)
#
# Idempotent: checks first, installs only what is missing.
#   scripts/install-cross-deps.sh           install what is missing
#   scripts/install-cross-deps.sh --check   report only; exit 1 if something is missing
set -euo pipefail

CHECK_ONLY=0
[ "${1:-}" = "--check" ] && CHECK_ONLY=1

# package:file that proves it is installed
CHECKS=(
    "gcc-riscv64-unknown-elf:/usr/bin/riscv64-unknown-elf-gcc"
    "binutils-riscv64-unknown-elf:/usr/bin/riscv64-unknown-elf-size"
    "picolibc-riscv64-unknown-elf:/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs"
    "rustc-web:/usr/bin/rustc"
    "cargo-web:/usr/bin/cargo"
    "rust-web-src:/usr/src/rustc-src"
)

missing=()
for entry in "${CHECKS[@]}"; do
    pkg="${entry%%:*}"
    file="${entry#*:}"
    if [ ! -e "$file" ]; then
        # the -web sources have a versioned directory name; accept any
        if [ "$pkg" = "rust-web-src" ] && ls -d /usr/src/rustc-*/library/core >/dev/null 2>&1; then
            continue
        fi
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-cross-deps: cross toolchain present"
    exit 0
fi
echo "install-cross-deps: missing: ${missing[*]}"
[ "$CHECK_ONLY" -eq 1 ] && exit 1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-cross-deps: not root and no sudo" >&2; exit 1; }
    SUDO="sudo"
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
