"""Issue 7 §2 — floods (SYN, UDP, ICMP, ARP) for 10 s each, rate-limited and
count-bounded, while a legitimate download runs over the 100 Mbit/s tbf wire: the
download completes byte-exact, the pools and sockets return to their baseline, and
the stack's drop counters are reported. All traffic stays inside the bed's
namespaces, addresses in 198.18.0.0/15 only."""
import subprocess
import time

import pytest

import robust_helpers as rh
from robust_helpers import RESULTS, STATIC_IP, Transfer

FLOOD_S = 10
RATE_US = 100          # hping3 -i u100: at most 10 000 packets/s
COUNT = FLOOD_S * 1_000_000 // RATE_US
DL = 150_000_000       # ~13 s at 94 Mbit/s: outlasts the flood
SPOOF = "198.18.0.77"  # in the test range, nobody answers ARP for it
COLUMNS = ["flood", "sent", "pps", "download Mbit/s", "dl s", "stack rx", "stack tx",
           "pool_empty", "queue_full", "other drops", "pool hw", "queue hw", "baseline back after s",
           "new conn during flood"]


def _hping(kind: str):
    base = ["timeout", "-s", "INT", str(FLOOD_S), "hping3", "-q", "-i", f"u{RATE_US}", "-c", str(COUNT)]
    return {
        "syn":       base + ["-S", "-p", "80", STATIC_IP],
        "syn_spoof": base + ["-S", "-p", "80", "-a", SPOOF, STATIC_IP],
        "udp":       base + ["--udp", "-p", "9", "-d", "64", STATIC_IP],
        "icmp":      base + ["--icmp", "-d", "56", STATIC_IP],
    }[kind]


def _probe_connect(bed) -> str:
    r = bed.peer(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "--max-time",
                  "3", f"http://{STATIC_IP}/dl/1000"], check=False, timeout=10)
    return r.stdout.strip() if r.returncode == 0 else f"curl rc {r.returncode}"


@pytest.mark.parametrize("kind", ["syn", "syn_spoof", "udp", "icmp", "arp"])
def test_flood_during_download(make_bed, start_demo, hping3, kind):
    bed = make_bed(shaped=True)
    demo = start_demo(bed)
    base = rh.get_stats(bed)
    t = Transfer(bed, "dl", DL, timeout=120)
    time.sleep(1.0)
    if kind == "arp":
        fl = rh.start_peer_load(bed, "rawflood", {"iface": bed.peer_veth, "kind": "arp", "dst_ip": STATIC_IP,
                                                  "pps": 1_000_000 // RATE_US, "count": COUNT,
                                                  "seconds": FLOOD_S})
    else:
        fl = bed.run_peer(_hping(kind), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t_flood = time.monotonic()
    time.sleep(FLOOD_S / 2)
    probe = _probe_connect(bed) if kind != "syn_spoof" else "(see test_listener_recovers_*)"
    if kind == "arp":
        fr = rh.finish_peer_load(bed, fl, timeout=FLOOD_S + 20)
        sent = fr["sent"]
    else:
        so, se = fl.communicate(timeout=FLOOD_S + 20)
        bed.stop(fl)
        import re
        m = re.search(r"(\d+) packets transmitted", so + se)
        sent = int(m.group(1)) if m else -1
    flood_s = time.monotonic() - t_flood
    assert t.running(), "download finished before the flood ended: make DL bigger"
    res = t.wait()
    assert res["ok"], f"download under {kind} flood not byte-exact: {res}"

    if kind == "syn_spoof":
        # Known: the listener's backlog sockets stay in SYN-RECEIVED for ever (see
        # test_listener_recovers_after_spoofed_syns); the pools must recover all the same.
        st = None
        recovered = "n/a (listener blocked)"
        demo.stop()
        fin = demo.final_stats()
        after = fin
        assert fin["rx_pool_in_use"] == 0
    else:
        t0 = time.monotonic()

        def back():
            s = rh.get_stats(bed)
            return s if (s["sockets_open"] <= base["sockets_open"] and
                         s["rx_pool_in_use"] <= base["rx_pool_in_use"]) else None
        after = rh.wait_for(back, 30, 0.5)
        assert after, f"sockets/pool not back to baseline 30 s after the {kind} flood: {rh.get_stats(bed)}"
        recovered = round(time.monotonic() - t0, 1)
        # and the server still serves
        r = rh.Transfer(bed, "dl", 1_000_000, timeout=20).wait()
        assert r["ok"]
    d = after["rx_drops"]
    RESULTS.add("floods during a 150 MB download (10 s, <= 10 kpps, 100 Mbit/s tbf)", COLUMNS, {
        "flood": kind, "sent": sent, "pps": round(sent / flood_s) if sent > 0 else "",
        "download Mbit/s": res["mbit_s"], "dl s": res["time"],
        "stack rx": after["rx_frames"] - base["rx_frames"], "stack tx": after["tx_frames"] - base["tx_frames"],
        "pool_empty": d["pool_empty"] - base["rx_drops"]["pool_empty"],
        "queue_full": d["queue_full"] - base["rx_drops"]["queue_full"],
        "other drops": rh.drops_sum(after, ("runt", "bad_ip_header", "bad_ip_checksum", "bad_l4_header",
                                            "bad_l4_checksum")) - rh.drops_sum(base, ("runt", "bad_ip_header",
                                            "bad_ip_checksum", "bad_l4_header", "bad_l4_checksum")),
        "pool hw": after["rx_pool_high_water"], "queue hw": after["rx_queue_high_water"],
        "baseline back after s": recovered, "new conn during flood": probe})


def _cpu_s(pid: int) -> float:
    import os
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
# Was a bug: backlog sockets had no timeout, so half-open connections from addresses that never
# answer held all backlog slots for ever. A handshake now times out after 30 s (sock.c).
def test_listener_recovers_after_spoofed_syns(make_bed, start_demo, hping3):
    bed = make_bed(shaped=False)
    start_demo(bed)
    assert _probe_connect(bed).startswith("200")
    bed.peer(["hping3", "-q", "-S", "-p", "80", "-a", SPOOF, "-i", "u10000", "-c", "4", STATIC_IP],
             check=False, timeout=20)
    # Linux gives up on a half-open connection after 5 SYN-ACK retries (~63 s); lwIP's
    # SYN_RCVD timeout is 20 s. Allow 75 s.
    ok = rh.wait_for(lambda: _probe_connect(bed).startswith("200"), 75, 2.0)
    assert ok, "listener still refuses connections 75 s after 4 spoofed SYNs"


# Was a spin: smoltcp 0.13.1's SLAAC keeps a past deadline after three unanswered router
# solicitations, which shows whenever a socket (here the half-open one) has a timer. smoltcp's
# SLAAC is never on now (glue test upstream_slaac_busy_poll documents the upstream bug); the
# runtime's own (ip6_slaac.c, on by default) sends its three solicitations in this window too.
def test_no_busy_poll_after_unresolvable_syn(make_bed, start_demo, hping3):
    bed = make_bed(shaped=False)
    demo = start_demo(bed)
    pid = demo.proc.pid
    bed.peer(["hping3", "-q", "-S", "-p", "80", "-a", SPOOF, "-i", "u10000", "-c", "1", STATIC_IP],
             check=False, timeout=20)
    time.sleep(25)
    c0 = _cpu_s(pid)
    time.sleep(5)
    load = (_cpu_s(pid) - c0) / 5
    demo.stop()
    polls = demo.final_stats()["polls"]
    print(f"demo CPU {load:.2f} cores 25-30 s after one unresolvable SYN; polls {polls}")
    assert load < 0.05, f"idle demo uses {load:.2f} of a core (polls {polls})"
