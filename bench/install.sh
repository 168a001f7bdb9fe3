#!/bin/sh
# What `make bench` needs on top of scripts/install-deps.sh (Debian 12, root or sudo):
#   liblwip-dev  lwIP 2.1.3 (headers + liblwip.so, unix port with pthread sys_arch)
#   wrk          HTTP load generator (64 keep-alive connections)
#   valgrind     callgrind instruction counts
#   python3-matplotlib  the PNG plot of docs/benchmarks.md (Debian's, used with /usr/bin/python3)
#   iproute2 (ss, nstat, tc), curl, iputils-ping  (normally there already via install-deps.sh)
set -eu
PKGS="liblwip-dev wrk valgrind python3-matplotlib iproute2 curl iputils-ping"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "bench/install.sh: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
