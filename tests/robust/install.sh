#!/usr/bin/env bash
# Extra packages of the robustness suite (tests/robust), beyond scripts/install-deps.sh:
#   hping3  SYN/UDP/ICMP floods from the peer namespace
# Idempotent; root or sudo; Debian 12. Called by the `hping3` fixture when missing.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v hping3 >/dev/null 2>&1 && [ ! -x /usr/sbin/hping3 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends hping3
fi
echo "robust install: hping3 present"
