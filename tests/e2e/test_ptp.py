"""PTP slave (esp_smoltcp_ptp.h) against linuxptp's ptp4l as master.

eth_basic runs with `--ptp l2|udp4` in the dut namespace; ptp4l (`-2`/`-4 -S`: software
timestamps, CLOCK_REALTIME as its clock) runs in the peer, config and log in the bed's
workdir, stopped by PID. Both namespaces share this host's CLOCK_REALTIME, so the
stack's PTP clock minus CLOCK_REALTIME, read back to back in the demo (its "err_ns"
report, every 250 ms) is the slave's true error.

Stated bound: |error| < 100 us for 90 % of the reports over 20 s after SLAVE, median
|error| < 50 us (software stamps on a TAP through a bridge and a veth on a shared 2-CPU
machine; measured here: median 5-9 us, p90 12-23 us, max 21-37 us, path delay 22-30 us).

Each test runs over Ethernet (`--ptp l2`, ptp4l -2) and over UDP/IPv4 (`--ptp udp4`,
ptp4l -4: ports 319/320, group 224.0.1.129, which the stack joins).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time

import pytest

from e2e_helpers import get_stats

PTP4L = shutil.which("ptp4l") or "/usr/sbin/ptp4l"
REPORT_MS = 250
ERR_BOUND_NS = 100_000
MEDIAN_BOUND_NS = 50_000


@pytest.fixture(scope="module", autouse=True)
def _need_ptp4l():
    if not os.path.exists(PTP4L):
        pytest.skip("ptp4l not installed: apt-get install linuxptp (scripts/install-deps.sh)")


def start_ptp4l(bed, name: str, priority1: int = 128, extra: str = "", mac: str | None = None,
                transport: str = "l2", ip: str | None = None):
    """ptp4l as master on a (new) veth pair end in the peer namespace."""
    conf = os.path.join(bed.workdir, f"{name}.conf")
    with open(conf, "w") as f:
        f.write("[global]\n"
                f"priority1 {priority1}\n"
                "logSyncInterval -3\n"          # 8 Sync/s
                "logAnnounceInterval -2\n"      # 4 Announce/s
                "logMinDelayReqInterval -3\n"
                "announceReceiptTimeout 3\n"
                "masterOnly 1\n"                # a master only: never follows our clock (3.1's name)
                f"uds_address {bed.workdir}/{name}.sock\n"
                + extra)
    log = open(os.path.join(bed.workdir, f"{name}.log"), "w")
    iface = bed.peer_veth if mac is None else name
    if mac is not None:
        # A second master needs its own port on the wire: a macvlan on the peer's veth.
        bed.peer(["ip", "link", "add", name, "link", bed.peer_veth, "address", mac, "type", "macvlan",
                  "mode", "bridge"])
        if ip:
            bed.peer(["ip", "addr", "add", f"{ip}/24", "dev", name])
        bed.peer(["ip", "link", "set", name, "up"])
    tflag = "-2" if transport == "l2" else "-4"
    proc = bed.run_peer([PTP4L, tflag, "-S", "-m", "-i", iface, "-f", conf], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    time.sleep(0.5)
    if proc.poll() is not None:
        raise AssertionError(f"{name} exited: " + open(os.path.join(bed.workdir, f"{name}.log")).read())
    return proc


def ptp_reports(demo, start: int = 0):
    out = []
    with demo.cond:
        lines = demo.stdout[start:]
    for line in lines:
        if line.startswith("ptp: {"):
            out.append(json.loads(line[len("ptp: "):]))
    return out


def wait_report(demo, pred, timeout: float, start: int = 0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in ptp_reports(demo, start):
            if pred(r):
                return r
        time.sleep(0.1)
    raise AssertionError("no matching ptp report\n" + demo.output())


def ptp_demo(bed, start_demo, transport: str = "l2"):
    return start_demo(bed, extra=["--ptp", transport, "--ptp-report-ms", str(REPORT_MS)])


TRANSPORTS = ["l2", "udp4"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_slave_locks_to_ptp4l_within_bound(bed, start_demo, transport):
    t0 = time.monotonic()
    master = start_ptp4l(bed, "ptp4l-a", transport=transport)
    demo = ptp_demo(bed, start_demo, transport)
    demo.wait_line(r"^ptp: state LISTENING -> UNCALIBRATED", 15)
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30)
    t_slave = time.monotonic() - t0
    mark = demo.mark()
    time.sleep(20)
    reps = [r for r in ptp_reports(demo, mark) if r["state"] == "SLAVE"]
    assert len(reps) >= 40, demo.output()
    errs = [r["err_ns"] for r in reps]
    abs_sorted = sorted(abs(e) for e in errs)
    p90 = abs_sorted[int(len(abs_sorted) * 0.9) - 1]
    med = statistics.median(abs_sorted)
    delays = [r["delay_ns"] for r in reps]
    # Convergence: from SLAVE until the error stays within the bound.
    print(f"\nPTP vs ptp4l ({transport}, software stamps): SLAVE {t_slave:.1f} s after start; over {len(errs)} "
          f"reports in 20 s: error mean {statistics.mean(errs) / 1000:.1f} us, median |err| {med / 1000:.1f} us, "
          f"p90 {p90 / 1000:.1f} us, max {abs_sorted[-1] / 1000:.1f} us, stdev {statistics.pstdev(errs) / 1000:.1f} us; "
          f"path delay median {statistics.median(delays) / 1000:.1f} us; freq {reps[-1]['freq_ppb']} ppb")
    last = reps[-1]
    assert p90 < ERR_BOUND_NS and med < MEDIAN_BOUND_NS, errs
    assert last["clock_set"] and last["steps"] >= 1
    assert last["rx_sync"] > 100 and last["rx_follow_up"] > 100 and last["rx_delay_resp"] > 20
    assert last["tx_delay_req"] >= last["rx_delay_resp"]
    assert last["rx_malformed"] == 0 and last["rx_unmatched"] <= 2 and last["rx_no_timestamp"] <= 2
    assert 0 < statistics.median(delays) < 2_000_000
    assert last["gm"] == gm_id(bed.peer_mac()) and last["gm_priority1"] == 128, last
    # /stats over HTTP carries the same object.
    st = get_stats(bed)
    assert st["ptp"]["state"] == "SLAVE" and st["ptp"]["gm"] == last["gm"], st["ptp"]
    bed.stop(master)


def gm_id(mac: str) -> str:
    """ptp4l's clockIdentity: the MAC with ff:fe in the middle (EUI-64)."""
    b = mac.lower().split(":")
    return "".join(b[:3] + ["ff", "fe"] + b[3:])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_master_loss_back_to_listening_then_relock(bed, start_demo, transport):
    master = start_ptp4l(bed, "ptp4l-a", transport=transport)
    demo = ptp_demo(bed, start_demo, transport)
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30)
    mark = demo.mark()
    t_stop = time.monotonic()
    bed.stop(master)
    # announceReceiptTimeout 3 x 250 ms: LISTENING within about 0.75 s (+ the 100 ms timer, + load).
    demo.wait_line(r"^ptp: state SLAVE -> LISTENING", 5, start=mark)
    lost_after = time.monotonic() - t_stop
    r = wait_report(demo, lambda r: r["state"] == "LISTENING", 5, start=mark)
    assert r["announce_timeouts"] == 1 and r["clock_set"], r
    # Holdover: the clock keeps running at its last rate; after 3 s it is still near.
    time.sleep(3)
    hold = ptp_reports(demo, demo.mark() - 2)[-1]
    print(f"\nmaster loss noticed after {lost_after:.2f} s; holdover error after ~3 s {hold['err_ns'] / 1000:.1f} us")
    assert hold["state"] == "LISTENING" and abs(hold["err_ns"]) < 500_000, hold
    mark = demo.mark()
    start_ptp4l(bed, "ptp4l-a2", transport=transport)
    demo.wait_line(r"^ptp: state LISTENING -> UNCALIBRATED", 10, start=mark)
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30, start=mark)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_better_master_selected_and_fallback(bed, start_demo, transport):
    start_ptp4l(bed, "ptp4l-a", priority1=128, transport=transport)
    demo = ptp_demo(bed, start_demo, transport)
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30)
    a_id = gm_id(bed.peer_mac())
    wait_report(demo, lambda r: r["state"] == "SLAVE" and r["gm"] == a_id, 5)
    mark = demo.mark()
    b_mac = "02:00:00:00:00:0b"
    better = start_ptp4l(bed, "ptpb", priority1=100, mac=b_mac, transport=transport, ip="198.18.0.11")
    r = wait_report(demo, lambda r: r["gm"] == gm_id(b_mac), 10, start=mark)
    assert r["gm_priority1"] == 100 and r["master_changes"] == 2, r
    demo.wait_line(r"^ptp: state SLAVE -> UNCALIBRATED", 5, start=mark)
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30, start=mark)
    r = wait_report(demo, lambda r: r["state"] == "SLAVE" and r["gm"] == gm_id(b_mac), 10, start=mark)
    assert r["rx_not_from_master"] > 0, r  # A's Syncs, still arriving, are not used now
    # A worse master appearing changes nothing; the better one leaving falls back to A.
    mark = demo.mark()
    bed.stop(better)
    r = wait_report(demo, lambda r: r["gm"] == a_id, 10, start=mark)
    assert r["master_changes"] == 3 and r["announce_timeouts"] == 1, r
    demo.wait_line(r"^ptp: state UNCALIBRATED -> SLAVE", 30, start=mark)


def test_other_domain_ignored(bed, start_demo):
    start_ptp4l(bed, "ptp4l-d5", extra="domainNumber 5\n")
    demo = ptp_demo(bed, start_demo)
    r = wait_report(demo, lambda r: r["rx_wrong_domain"] >= 20, 10)
    time.sleep(1)
    r = ptp_reports(demo)[-1]
    assert r["state"] == "LISTENING" and r["rx_announce"] == 0 and r["rx_sync"] == 0, r
    assert not any("ptp: state" in l for l in demo.stdout), demo.output()
