"""IPv6 router-side tools for tests/e2e/test_ipv6_slaac.py, run in the peer namespace.

    python3 ra_peer.py ra IFACE JSON      send router advertisements (scapy) from IFACE's
                                          link-local address to ff02::1; JSON keys: prefix,
                                          valid, preferred, lifetime, other (O flag), rdnss
                                          (list), count, interval. Prints {"sent": N}.
    python3 ra_peer.py defend IFACE SECONDS
                                          answer every DAD neighbour solicitation (from ::)
                                          with a neighbour advertisement for its target, as a
                                          node that already owns the address; prints
                                          {"defended": [targets]} after SECONDS.
"""
from __future__ import annotations

import json
import sys
import time


def ra(iface: str, args: dict) -> None:
    from scapy.all import (ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS,  # noqa: E402
                           ICMPv6NDOptSrcLLAddr, IPv6, Ether, get_if_hwaddr, sendp)
    from scapy.arch import in6_getifaddr  # noqa: E402
    ll = [a[0] for a in in6_getifaddr() if a[2] == iface and a[0].startswith("fe80")][0]
    mac = get_if_hwaddr(iface)
    pkt = (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1", hlim=255)
           / ICMPv6ND_RA(routerlifetime=int(args.get("lifetime", 1800)), O=int(bool(args.get("other"))))
           / ICMPv6NDOptSrcLLAddr(lladdr=mac))
    if args.get("prefix"):
        pkt = pkt / ICMPv6NDOptPrefixInfo(prefix=args["prefix"], prefixlen=int(args.get("prefixlen", 64)),
                                          L=1, A=1, validlifetime=int(args.get("valid", 86400)),
                                          preferredlifetime=int(args.get("preferred", 14400)))
    if args.get("rdnss"):
        pkt = pkt / ICMPv6NDOptRDNSS(dns=args["rdnss"], lifetime=int(args.get("rdnss_lifetime", 600)))
    n = int(args.get("count", 1))
    for i in range(n):
        sendp(pkt, iface=iface, verbose=False)
        if i + 1 < n:
            time.sleep(float(args.get("interval", 1)))
    print(json.dumps({"sent": n}))


def defend(iface: str, seconds: float) -> None:
    from scapy.all import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6, Ether,  # noqa: E402
                           get_if_hwaddr, sendp, sniff)
    mac = get_if_hwaddr(iface)
    defended = []

    def on(p):
        if ICMPv6ND_NS in p and p[IPv6].src == "::":
            t = p[ICMPv6ND_NS].tgt
            na = (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=t, dst="ff02::1", hlim=255)
                  / ICMPv6ND_NA(tgt=t, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac))
            sendp(na, iface=iface, verbose=False)
            defended.append(t)
            print(json.dumps({"defending": t}), flush=True)

    sniff(iface=iface, filter="icmp6", prn=on, timeout=seconds, store=False)
    print(json.dumps({"defended": defended}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "ra":
        ra(sys.argv[2], json.loads(sys.argv[3]))
    elif sys.argv[1] == "defend":
        defend(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: ra_peer.py ra IFACE JSON | defend IFACE SECONDS")
