#!/usr/bin/env bash
# Install what esp-smoltcp needs to build and test on a fresh Debian 12 machine.
#
# Idempotent: checks binaries and Python imports first and only calls apt/pip for
# what is missing. Run as root (or as a user with sudo).
#
#   scripts/install-deps.sh          # install what is missing
#   scripts/install-deps.sh --check  # only report, exit 1 if something is missing
#
# Rust: the project uses the preinstalled stable cargo; it is not installed here.
set -euo pipefail

CHECK_ONLY=0
[ "${1:-}" = "--check" ] && CHECK_ONLY=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    elif [ "$CHECK_ONLY" -eq 0 ]; then
        echo "install-deps: not root and no sudo; run as root" >&2
        exit 1
    fi
fi

# Debian package -> a binary (or file) that proves it is installed.
declare -a PKG_CHECKS=(
    "build-essential:/usr/bin/make"
    "build-essential:/usr/bin/gcc"
    "build-essential:/usr/bin/g++"
    "cmake:cmake"
    "ninja-build:ninja"
    "pkg-config:pkg-config"
    "clang:clang"
    "libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a"
    "hping3:/usr/sbin/hping3"
    "iproute2:ip"
    "iproute2:tc"
    "dnsmasq-base:/usr/sbin/dnsmasq"
    "curl:curl"
    "tcpdump:/usr/bin/tcpdump"
    "iputils-ping:/usr/bin/ping"
    "util-linux:unshare"
    "linuxptp:/usr/sbin/ptp4l"
    "libmbedtls-dev:/usr/include/mbedtls/ssl.h"
    "openssl:openssl"
    "mosquitto:/usr/sbin/mosquitto"
    "mosquitto-clients:mosquitto_sub"
    "avahi-daemon:/usr/sbin/avahi-daemon"
    "avahi-utils:avahi-browse"
    "dbus-daemon:/usr/bin/dbus-daemon"
    "bind9-dnsutils:dig"
    "libbsd-dev:/usr/include/bsd/string.h"  # IDF linux target (scripts/idf-linux.sh)
)

have() {
    case "$1" in
        /*) [ -e "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing_pkgs=()
for entry in "${PKG_CHECKS[@]}"; do
    pkg="${entry%%:*}"
    bin="${entry#*:}"
    if ! have "$bin"; then
        case " ${missing_pkgs[*]:-} " in
            *" $pkg "*) ;;
            *) missing_pkgs+=("$pkg") ;;
        esac
    fi
done

# The python3 that runs pytest (may be a pyenv interpreter, not Debian's).
PY="${PYTHON:-python3}"
if ! have "$PY"; then
    missing_pkgs+=("python3" "python3-pytest" "python3-scapy")
    PY=/usr/bin/python3
fi

is_system_python() {
    local exe
    exe="$("$PY" -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
    case "$exe" in
        /usr/bin/python3*) return 0 ;;
        *) return 1 ;;
    esac
}

pip_needed=()
if ! have "$PY"; then
    :  # Debian's python3 + its pytest and scapy are already queued above
elif is_system_python; then
    "$PY" -m pytest --version >/dev/null 2>&1 || missing_pkgs+=("python3-pytest")
    "$PY" -c 'import scapy.all' >/dev/null 2>&1 || missing_pkgs+=("python3-scapy")
else
    # pyenv/venv interpreter: Debian's python3-* packages are not importable from it.
    "$PY" -m pytest --version >/dev/null 2>&1 || pip_needed+=("pytest")
    "$PY" -c 'import scapy.all' >/dev/null 2>&1 || pip_needed+=("scapy")
fi

nothing_missing=0
if [ "${#missing_pkgs[@]}" -eq 0 ] && [ "${#pip_needed[@]}" -eq 0 ]; then
    nothing_missing=1
    echo "install-deps: all system packages and Python modules present"
else
    [ "${#missing_pkgs[@]}" -gt 0 ] && echo "install-deps: missing Debian packages: ${missing_pkgs[*]}"
    [ "${#pip_needed[@]}" -gt 0 ] && echo "install-deps: missing Python modules for $PY: ${pip_needed[*]}"
    if [ "$CHECK_ONLY" -eq 1 ]; then
        exit 1
    fi
fi

if [ "$CHECK_ONLY" -eq 0 ] && [ "${#missing_pkgs[@]}" -gt 0 ]; then
    echo "install-deps: apt-get update"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    echo "install-deps: apt-get install ${missing_pkgs[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing_pkgs[@]}"
fi

if [ "$CHECK_ONLY" -eq 0 ] && [ "${#pip_needed[@]}" -gt 0 ]; then
    echo "install-deps: $PY -m pip install ${pip_needed[*]}"
    "$PY" -m pip install --quiet "${pip_needed[@]}"
fi

# Final verification (only needed when something was installed).
rc=0
[ "$nothing_missing" -eq 1 ] || for entry in "${PKG_CHECKS[@]}"; do
    bin="${entry#*:}"
    have "$bin" || { echo "install-deps: still missing: $bin" >&2; rc=1; }
done
if [ "$nothing_missing" -eq 0 ]; then
    "$PY" -m pytest --version >/dev/null 2>&1 || { echo "install-deps: $PY cannot run pytest" >&2; rc=1; }
    "$PY" -c 'import scapy.all' >/dev/null 2>&1 || { echo "install-deps: $PY cannot import scapy" >&2; rc=1; }
fi
[ -e /dev/net/tun ] || echo "install-deps: warning: /dev/net/tun missing (TAP tests will fail)" >&2

if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<'EOF'
install-deps: cargo not found. The project builds with the preinstalled stable Rust.
Install it with:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable
or, from Debian's packages:
    apt-get install -y cargo rustc
EOF
    exit 1
fi

exit "$rc"
