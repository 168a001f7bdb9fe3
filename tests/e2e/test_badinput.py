"""Malformed frames from the peer (scapy sendp on vp): counted as drops, stack survives."""
from e2e_helpers import STATIC_IP, curl_download, drops, get_stats, pattern_sha256, peer_tool

# kind sent by peer_tools.badframes -> rx_drops reason it must be counted under
EXPECT = {
    "trunc_ip": "bad_ip_header",
    "bad_ip_csum": "bad_ip_checksum",
    "trunc_tcp": "bad_l4_header",
    "bad_tcp_csum": "bad_l4_checksum",
    "bad_udp_csum": "bad_l4_checksum",
    "bad_icmp_csum": "bad_l4_checksum",
}
N = 20


def _delta(a, b):
    da, db = drops(a), drops(b)
    return {k: db[k] - da[k] for k in da}


def test_bad_frames_counted_and_survived(demo):
    bed = demo.bed
    r = bed.peer(["ping", "-c", "1", "-W", "2", STATIC_IP], check=False, timeout=10)
    assert r.returncode == 0, r.stdout
    mac = bed.peer_neigh_mac(STATIC_IP)
    assert mac, "peer did not learn the stack's MAC"
    base = {"iface": bed.peer_veth, "dst_mac": mac, "dst_ip": STATIC_IP, "src_ip": bed.peer_ip}

    # garbage first: only survival is asserted
    res = peer_tool(bed, "badframes", dict(base, counts={"garbage": 60}, seed=11), timeout=60)
    assert res["ok"], res
    assert demo.proc.poll() is None, demo.output()

    counts = {kind: N for kind in EXPECT}
    res = peer_tool(bed, "badframes", dict(base, counts=counts, seed=12,
                                           stats_url=f"http://{STATIC_IP}/stats"), timeout=90)
    assert res["ok"], res
    failures = []
    for kind, reason in EXPECT.items():
        assert res["sent"][kind] == N, res
        d = _delta(res["stats"][kind]["before"], res["stats"][kind]["after"])
        print(f"{kind}: sent {N}, rx_drops delta {d}")
        if d[reason] < N:
            failures.append(f"{kind}: expected rx_drops.{reason} += {N}, got deltas {d}")
    assert demo.proc.poll() is None, demo.output()
    res = curl_download(bed, 1_000_000)
    assert res["code"] == 200 and res["sha256"] == pattern_sha256(1_000_000)
    assert not failures, "\n".join(failures)
