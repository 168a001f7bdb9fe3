"""SNTP with servers from DHCP option 42 (server_from_dhcp, esp_sntp_servermode_dhcp).

The stack takes its lease from dnsmasq in the peer; chronyd (as in test_sntp.py) serves
time on the peer's address. tests/tools/sntp_tool runs with --dhcp-ntp and no server of
its own, so every server it uses came from the lease.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from test_sntp import ERROR_BOUND_US, chronyd, start_chrony, tool  # noqa: F401 (fixtures)

UNUSED_IP = "198.18.0.77"  # in the subnet, nobody there: NTP requests to it time out


def events(out: str) -> list:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_dhcp_tool(bed, tool, args, timeout: float = 60):
    r = bed.dut([str(tool), "--tap", bed.tap_name, "--warmup", bed.peer_ip, "--dhcp-ntp", *args],
                check=False, timeout=timeout)
    assert r.returncode == 0, f"sntp_tool failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    ev = events(r.stdout)
    sync = [e for e in ev if e["event"] == "sync"]
    assert sync, r.stdout + r.stderr
    return ev, sync[0], r.stderr


def test_sync_from_dhcp_option_42(bed, tool, chronyd, dnsmasq_for):
    start_chrony(bed, chronyd)
    dm = dnsmasq_for(bed, extra_args=[f"--dhcp-option=42,{bed.peer_ip}"])
    ev, s, log = run_dhcp_tool(bed, tool, ["--timeout-ms", "1000", "--burst", "4", "--burst-interval-ms", "200",
                                           "--samples", "20"])
    assert s["ok"], (s, log)
    # The client asked for option 42 (smoltcp's default list is 1, 3, 6 only).
    assert "42:ntp-server" in dm.log(), dm.log()[-3000:]
    assert s["server_from_dhcp"] and s["lease_ntp"] == [bed.peer_ip], s
    assert [(x["name"], x["from_dhcp"], x["status"]) for x in s["servers"]] == [(bed.peer_ip, True, "ok")], s
    good = s["servers"][0]
    assert good["addr"] == f"{bed.peer_ip}:123" and good["stratum"] == 8, good
    assert s["round_status"] == "ok" and s["last_server"] == 0 and s["sync_count"] == 1, s
    err = [e for e in ev if e["event"] == "clock"][0]["err_us"]
    worst = max(abs(e) for e in err)
    print(f"\nSNTP via DHCP option 42: worst clock error {worst} us over {len(err)} reads, "
          f"sync {s['ms']} ms after init")
    assert worst < ERROR_BOUND_US, err


def test_lease_without_option_42_says_no_server(bed, tool, dnsmasq_for):
    dnsmasq_for(bed)
    t0 = time.monotonic()
    ev, s, log = run_dhcp_tool(bed, tool, ["--wait-ms", "3000"], timeout=30)
    assert time.monotonic() - t0 < 25
    assert not s["ok"], s
    assert s["round_status"] == "no_server", (s, log)
    assert s["servers"] == [] and s["lease_ntp"] == [], s
    assert "no NTP server" in log, log
    lists = [e for e in ev if e["event"] == "list"]
    assert lists and lists[-1]["round_status"] == "no_server", lists


def test_follows_new_servers_on_renewal(bed, tool, chronyd, dnsmasq_for):
    """First lease: option 42 names a silent address; dnsmasq is then told (SIGHUP rereads its
    options file) to give chrony's address, and the renewal (T1 = 4 s) carries it: the client
    switches to it without a restart."""
    start_chrony(bed, chronyd)
    opts = os.path.join(bed.workdir, "ntp-opts")
    with open(opts, "w") as f:
        f.write(f"42,{UNUSED_IP}\n")
    dm = dnsmasq_for(bed, lease="2m", extra_args=[f"--dhcp-optsfile={opts}", "--dhcp-option=option:T1,4",
                                                  "--dhcp-option=option:T2,100"])
    proc = bed.run_dut([str(tool), "--tap", bed.tap_name, "--warmup", bed.peer_ip, "--dhcp-ntp",
                        "--timeout-ms", "1000", "--wait-ms", "30000", "--samples", "120"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 30
        # Wait until the client has tried the first lease's server and failed.
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                seen.append(json.loads(line))
                if seen[-1]["event"] == "list" and seen[-1]["round_status"] == "timeout":
                    break
        assert seen and seen[-1]["round_status"] == "timeout", (seen, proc.stderr.read() if proc.poll() else "")
        first = seen[-1]
        assert [(x["name"], x["from_dhcp"]) for x in first["servers"]] == [(UNUSED_IP, True)], first
        assert first["lease_ntp"] == [UNUSED_IP], first
        with open(opts, "w") as f:
            f.write(f"42,{bed.peer_ip}\n")
        with open(dm.pid_path) as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)
        out, err = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            bed.stop(proc)
    assert proc.returncode == 0, err
    ev = seen + events(out)
    s = [e for e in ev if e["event"] == "sync"][0]
    assert s["ok"], (ev, err)
    took = (s["ms"] - first["ms"]) / 1000  # from the first server's failure to the sync (tool's clock)
    assert s["lease_ntp"] == [bed.peer_ip], s
    assert [(x["name"], x["from_dhcp"], x["status"]) for x in s["servers"]] == [(bed.peer_ip, True, "ok")], s
    lists = [[x["name"] for x in e["servers"]] for e in ev if e["event"] == "list"]
    assert [UNUSED_IP] in lists and lists.index([UNUSED_IP]) < len(lists), lists
    acks = dm.log().count("DHCPACK(")
    assert acks >= 3, dm.log()[-3000:]  # the 6 s of clock samples (--samples 120) see another renewal
    # smoltcp reports every renewal ACK once it keeps the packet; the runtime applies (and logs,
    # and calls the IPv4 callback for) only the two leases that differ: the first and the new NTP server.
    applied = err.count("ipv4 198.18.0.")
    assert applied == 2, (applied, acks, err[-3000:])
    print(f"\nSNTP followed the renewed lease's NTP server: synced {took:.1f} s after the first server failed "
          f"(T1 = 4 s); {acks} ACKs, {applied} leases applied")
    assert took < 15, took
