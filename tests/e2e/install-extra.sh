#!/usr/bin/env bash
# Extra tools some e2e tests need beyond scripts/install-deps.sh, installed
# without side effects on the host:
#
#   chrony  (tests/e2e/test_sntp.py: an NTP server in the peer namespace)
#     Debian's package enables and starts chronyd.service, which would take over
#     the host's clock (and replace systemd-timesyncd). So the .deb is only
#     downloaded and unpacked into build/extra/root; the tests run
#     build/extra/root/usr/sbin/chronyd with -x (never touches the system clock).
#     A chronyd already on PATH is used as is.
#
# Idempotent. apt-get download needs no root; apt-get update (run only when the
# package is unknown to apt) does.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
EXTRA="$ROOT/build/extra"

if command -v chronyd >/dev/null 2>&1 || [ -x "$EXTRA/root/usr/sbin/chronyd" ]; then
    exit 0
fi
mkdir -p "$EXTRA/debs"
cd "$EXTRA/debs"
if ! apt-get download chrony >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get download chrony
fi
dpkg-deb -x chrony_*.deb "$EXTRA/root"
"$EXTRA/root/usr/sbin/chronyd" -v
