"""Tests of the test bed itself (no demo binary needed): namespaces, links, shaping,
dnsmasq, capture, a Python TAP responder answering ARP/ping, and cleanup."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import netbed
from e2e_helpers import HERE


def _links(bed, side):
    ns = bed.dut_ns if side == "dut" else bed.peer_ns
    r = subprocess.run(["ip", "-n", ns, "-j", "-d", "link", "show"], capture_output=True,
                       text=True, check=True, timeout=10)
    return {l["ifname"]: l for l in json.loads(r.stdout)}


def test_netbed_topology_and_cleanup():
    with netbed.Bed() as bed:
        names = netbed.leftovers(pid=os.getpid())
        assert bed.dut_ns in names and bed.peer_ns in names
        dut = _links(bed, "dut")
        assert dut["br0"]["linkinfo"]["info_kind"] == "bridge"
        assert dut["tap0"]["linkinfo"]["info_kind"] == "tun"
        assert dut["tap0"].get("master") == "br0"
        assert dut["vd"].get("master") == "br0"
        assert "NO-CARRIER" in dut["tap0"]["flags"]  # nobody has the TAP open yet
        peer = _links(bed, "peer")
        assert peer["vp"]["linkinfo"]["info_kind"] == "veth"
        addrs = bed.peer(["ip", "-br", "addr", "show", "dev", "vp"]).stdout
        assert "198.18.0.1/24" in addrs and "2001:db8:1::1/64" in addrs
        # no kernel IPv6 chatter from the dut side
        assert bed.dut(["cat", "/proc/sys/net/ipv6/conf/br0/disable_ipv6"]).stdout.strip() == "1"
        q = bed.peer(["tc", "qdisc", "show", "dev", "vp"]).stdout
        assert "tbf" not in q
        workdir = bed.workdir
        p = bed.run_peer(["sleep", "30"])
    assert p.returncode is not None, "tracked process not stopped"
    assert bed.dut_ns not in netbed.leftovers() and bed.peer_ns not in netbed.leftovers()
    assert not os.path.exists(workdir)


def test_netbed_shaped():
    with netbed.Bed(shaped=True, ipv6=False) as bed:
        for ns, dev in ((bed.dut_ns, "vd"), (bed.peer_ns, "vp")):
            q = subprocess.run(["tc", "-n", ns, "qdisc", "show", "dev", dev], capture_output=True,
                               text=True, check=True, timeout=10).stdout
            assert "tbf" in q and "rate 100Mbit" in q, q
            assert "overhead 24" in q, q
        addrs = bed.peer(["ip", "-br", "addr", "show", "dev", "vp"]).stdout
        assert "2001:db8" not in addrs


def test_netbed_cleanup_on_exception():
    names = []
    with pytest.raises(RuntimeError):
        with netbed.Bed() as bed:
            names = [bed.dut_ns, bed.peer_ns]
            bed.run_peer(["sleep", "30"])
            raise RuntimeError("boom")
    assert names and not set(names) & set(netbed.leftovers())


def test_netbed_cleanup_on_sigterm(tmp_path):
    """A child that builds a bed and gets SIGTERM leaves no namespace behind."""
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "import netbed\n"
        "b = netbed.Bed(); b.setup(); b.run_peer(['sleep','60'])\n"
        "print(b.dut_ns, b.peer_ns, flush=True); time.sleep(60)\n"
    ) % str(Path(netbed.__file__).parent)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        names = p.stdout.readline().split()
        assert len(names) == 2
        assert set(names) <= set(netbed.leftovers())
        p.terminate()
        p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert not set(names) & set(netbed.leftovers())


def test_netbed_dnsmasq_starts(bed, dnsmasq_for):
    dm = dnsmasq_for(bed)
    assert dm.proc.poll() is None
    log = dm.log()
    assert "DHCP, IP range 198.18.0.100 -- 198.18.0.199" in log, log
    # It serves DNS on the peer address only.
    r = bed.peer(["ss", "-H", "-lnup"]).stdout
    assert "198.18.0.1:53" in r and "dnsmasq" in r, r
    assert "0.0.0.0:53" not in r
    assert os.path.exists(dm.lease_path)


def test_netbed_tap_responder_ping_and_capture(bed):
    """Open tap0 from a Python child in the dut namespace; the peer can ARP + ping it."""
    mac = "02:00:00:00:00:02"
    p = bed.run_dut([sys.executable, str(HERE / "tap_responder.py"), bed.tap_name,
                     "198.18.0.2", mac, "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 5
        while "NO-CARRIER" in _links(bed, "dut")["tap0"]["flags"]:
            assert time.monotonic() < deadline, "tap0 never got carrier"
            time.sleep(0.05)
        with bed.capture("icmp or arp") as cap:
            r = bed.peer(["ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"], check=False,
                         timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
        assert " 0% packet loss" in r.stdout
        assert bed.peer_neigh_mac("198.18.0.2") == mac
        # the pcap holds the echo requests and replies
        from scapy.all import rdpcap, ICMP
        pk = [x for x in rdpcap(cap.path) if x.haslayer(ICMP)]
        assert sum(1 for x in pk if x[ICMP].type == 8) >= 3
        assert sum(1 for x in pk if x[ICMP].type == 0) >= 3
    finally:
        bed.stop(p)
    summary = json.loads(p.stdout.read().strip().splitlines()[-1])
    assert summary["echo_replies"] >= 3 and summary["arp_replies"] >= 1


def test_netbed_no_leftovers_of_this_session_yet():
    assert netbed.leftovers(pid=os.getpid()) == []
