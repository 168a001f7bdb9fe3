"""Address configuration of the demo: DHCP from dnsmasq, static, and a clean SIGTERM exit."""
import ipaddress
import time

from e2e_helpers import STATIC_IP, DROP_REASONS, curl_download, get_stats, pattern_sha256


def test_dhcp_lease_from_dnsmasq(bed, dnsmasq_for, start_demo):
    dm = dnsmasq_for(bed)
    d = start_demo(bed, static=False)  # waits (20 s) for the "ip:" line
    ip = ipaddress.IPv4Address(d.ip)
    assert ipaddress.IPv4Address("198.18.0.100") <= ip <= ipaddress.IPv4Address("198.18.0.199"), d.ip
    assert d.prefix == 24
    assert d.gw == "198.18.0.1"

    # dnsmasq's lease file lists the address and the stack's MAC.
    deadline = time.monotonic() + 5
    lease = None
    while time.monotonic() < deadline:
        lease = next((l for l in dm.leases() if l["ip"] == d.ip), None)
        if lease:
            break
        time.sleep(0.1)
    assert lease, f"no lease for {d.ip} in {dm.leases()}\n{dm.log()}"
    assert f"DHCPACK(vp) {d.ip} {lease['mac']}" in dm.log()

    # The MAC in the lease is the one that answers ARP for the leased address,
    # and the stack serves on it.
    r = bed.peer(["ping", "-c", "2", "-i", "0.2", "-W", "2", d.ip], check=False, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert bed.peer_neigh_mac(d.ip) == lease["mac"]
    res = curl_download(bed, 5000, host=d.ip)
    assert res["code"] == 200 and res["sha256"] == pattern_sha256(5000)


def test_static_config_sends_no_dhcp(bed, start_demo):
    with bed.capture("udp port 67 or udp port 68") as cap:
        d = start_demo(bed, static=True)
        assert (d.ip, d.prefix, d.gw) == (STATIC_IP, 24, "198.18.0.1")
        r = bed.peer(["ping", "-c", "3", "-i", "0.2", "-W", "2", STATIC_IP], check=False,
                     timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
    from scapy.all import rdpcap
    pk = rdpcap(cap.path)
    assert len(pk) == 0, f"static configuration still sent DHCP: {[p.summary() for p in pk]}"
    res = curl_download(bed, 1000)
    assert res["code"] == 200 and res["sha256"] == pattern_sha256(1000)


def test_stats_endpoint_shape(demo):
    bed = demo.bed
    s0 = get_stats(bed)
    for k in ("rx_frames", "tx_frames", "rx_bytes", "tx_bytes", "rx_drops", "tx_failures",
              "rx_pool_high_water", "rx_pool_capacity", "tcp_open", "tcp_closed_by_peer",
              "tcp_aborted"):
        assert k in s0, f"/stats lacks {k}: {s0}"
    assert isinstance(s0["rx_drops"], dict)
    for r in DROP_REASONS:
        assert r in s0["rx_drops"], f"rx_drops lacks {r}: {s0['rx_drops']}"
    assert 0 < s0["rx_pool_high_water"] <= s0["rx_pool_capacity"]
    res = curl_download(bed, 200_000)
    assert res["sha256"] == pattern_sha256(200_000)
    s1 = get_stats(bed)
    assert s1["rx_frames"] > s0["rx_frames"] and s1["tx_frames"] > s0["tx_frames"]
    assert s1["tx_bytes"] - s0["tx_bytes"] >= 200_000
    assert s1["rx_bytes"] > s0["rx_bytes"]
    assert s1["tx_failures"] == 0


def test_sigterm_exits_zero_with_stats_line(demo):
    r = demo.bed.peer(["ping", "-c", "2", "-i", "0.2", "-W", "2", STATIC_IP], check=False,
                      timeout=20)
    assert r.returncode == 0
    rc = demo.stop(grace=10)
    assert rc == 0, demo.output()
    assert demo.stdout and demo.stdout[-1].startswith("stats: "), demo.output()
    st = demo.final_stats()
    assert st["tx_frames"] >= 2 and st["rx_frames"] >= 2
