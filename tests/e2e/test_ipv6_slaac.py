"""IPv6 autoconfiguration of the stack (issue 8) against real routers in the peer namespace:
router discovery, SLAAC with lifetimes, default route, RDNSS, stateless DHCPv6, DAD.

The demo keeps its static IPv4 address, so /stats is read over IPv4 while IPv6 changes;
the expected SLAAC address is 2001:db8:1:: + the interface identifier of the link-local
address the stack reports (EUI-64 from its MAC).
"""
from __future__ import annotations

import ipaddress
import json
import re
import sys
import time
from pathlib import Path

from e2e_helpers import curl_download, get_stats, pattern_sha256

RA_PEER = str(Path(__file__).resolve().parent / "ra_peer.py")
PREFIX = "2001:db8:1::"


def v6(stats: dict) -> dict:
    return stats["ipv6"]


def expected_global(stats: dict, prefix: str = PREFIX) -> str:
    ll = ipaddress.IPv6Address(v6(stats)["addrs"][0]["addr"])
    assert ll.is_link_local, stats
    iid = int(ll) & ((1 << 64) - 1)
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address(prefix)) | iid))


def addr_entry(stats: dict, addr: str):
    for a in v6(stats)["addrs"]:
        if a["addr"] == addr:
            return a
    return None


def wait_stats(bed, pred, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        st = get_stats(bed)
        if pred(st):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}\n{json.dumps(st.get('ipv6'))}")
        time.sleep(0.3)


def send_ra(bed, **kw) -> None:
    r = bed.peer([sys.executable, RA_PEER, "ra", bed.peer_veth, json.dumps(kw)], timeout=60)
    assert json.loads(r.stdout.strip().splitlines()[-1])["sent"] >= 1


def ping6(bed, addr: str, count: int = 3):
    return bed.peer(["ping", "-6", "-n", "-c", str(count), "-i", "0.2", "-W", "2", addr], check=False, timeout=30)


def test_slaac_and_rdnss_from_dnsmasq_router(bed, start_demo, dnsmasq_for):
    """dnsmasq as the router: RA with 2001:db8:1::/64 and RDNSS; ping -6 and curl -6 reach the
    SLAAC address, the resolver list gets the IPv6 server after the static IPv4 one."""
    dnsmasq_for(bed, extra_args=["--enable-ra", f"--dhcp-range={PREFIX},ra-only,64,2h",
                                 "--ra-param=" + bed.peer_veth + ",10,600",
                                 f"--dhcp-option=option6:dns-server,[{bed.peer_ip6}]"])
    demo = start_demo(bed)
    st = wait_stats(bed, lambda s: any(a["state"] == "preferred" and a["addr"].startswith("2001:db8:1:")
                                       for a in v6(s)["addrs"]), 20, "SLAAC address preferred")
    addr = expected_global(st)
    a = addr_entry(st, addr)
    assert a and a["prefix"] == 64 and 0 < a["valid"] <= 7200 and 0 < a["preferred"] <= a["valid"], st["ipv6"]
    assert ipaddress.IPv6Address(v6(st)["router"]).is_link_local and 0 < v6(st)["router_lifetime"] <= 600
    assert v6(st)["dns"] == [bed.peer_ip6], st["ipv6"]
    assert st["dns_servers"] == [bed.peer_ip, bed.peer_ip6], st["dns_servers"]
    r = ping6(bed, addr)
    assert r.returncode == 0 and "3 received" in r.stdout, r.stdout + r.stderr
    res = curl_download(bed, 2_000_000, host=f"[{addr}]")
    assert res["code"] == 200 and res["size"] == 2_000_000 and res["sha256"] == pattern_sha256(2_000_000)
    assert "ipv6 slaac: " + addr + "/64 assigned" in "\n".join(demo.stderr), demo.output()
