"""Multicast joins are real: the shim's IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP and
their drops put IGMPv2 and MLDv2 reports on the wire (RFC 2236 §3, RFC 3810 §5.2),
seen by the peer's capture while the differential case udp_mcast_receive runs.

    python3 -m pytest -q tests/diff/test_mcast_wire.py      (root; ~10 s)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diff_bed import DUT_MAC, binary, netbed, parse, run_in_bed  # noqa: E402

scapy_all = pytest.importorskip("scapy.all")
from scapy.layers.igmp import IGMP  # noqa: E402
from scapy.layers.inet6 import ICMPv6MLReport2  # noqa: E402

GROUP4, GROUP6 = "239.1.2.3", "ff15::1234"
MLD_CHANGE_TO_EXCLUDE, MLD_CHANGE_TO_INCLUDE = 4, 3  # RFC 3810 §5.2.12: join / leave with no sources


@pytest.fixture(scope="module")
def capture():
    prog = binary("bsd_diff_shim")
    if not prog.exists():
        pytest.skip(f"{prog} not built (make build)")
    packets: list = []
    rc, out, err = run_in_bed("shim", prog, ["--only", "udp_mcast_receive"], timeout=60,
                              capture_bpf="igmp or ip6", packets=packets)
    assert not netbed.leftovers(pid=os.getpid()), "namespaces left behind"
    cases = parse(out)
    assert rc == 0 and cases and all(c[0] == "ok" for c in cases.values()), f"{out}\n{err}"
    return [p for p in packets if p.src.lower() == DUT_MAC]


def test_igmp_report_and_leave(capture):
    igmp = [(p[IGMP].type, p[IGMP].gaddr, p[scapy_all.IP].dst) for p in capture if p.haslayer(IGMP)]
    reports = [i for i, g in enumerate(igmp) if g[0] == 0x16 and g[1] == GROUP4 and g[2] == GROUP4]
    leaves = [i for i, g in enumerate(igmp) if g[0] == 0x17 and g[1] == GROUP4 and g[2] == "224.0.0.2"]
    assert reports, f"no IGMPv2 membership report for {GROUP4}: {igmp}"
    assert leaves, f"no IGMPv2 leave for {GROUP4}: {igmp}"
    assert reports[0] < leaves[-1], f"leave before report: {igmp}"


def test_mldv2_report_and_leave(capture):
    records = []
    for p in capture:
        if p.haslayer(ICMPv6MLReport2):
            assert p[scapy_all.IPv6].dst == "ff02::16" and p[scapy_all.IPv6].hlim == 1
            records += [(r.rtype, r.dst) for r in p[ICMPv6MLReport2].records]
    ours = [t for t, g in records if g == GROUP6]
    # smoltcp 0.13.1 sends these two the wrong way round; the glue corrects them (fixups.rs)
    assert ours and ours[0] == MLD_CHANGE_TO_EXCLUDE, f"first MLDv2 record for {GROUP6} is not a join: {records}"
    assert ours[-1] == MLD_CHANGE_TO_INCLUDE, f"last MLDv2 record for {GROUP6} is not a leave: {records}"
