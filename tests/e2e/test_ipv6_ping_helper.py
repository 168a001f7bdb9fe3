"""esp_smoltcp_ping() (tests/tools/ping_tool) against the peer kernel: IPv4, IPv6 over the
SLAAC address from a dnsmasq router, and a host that does not answer."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from e2e_helpers import REPO, STATIC_IP

TOOL = Path(os.environ.get("ESP_SMOLTCP_PING_TOOL") or REPO / "build" / "host" / "tests" / "tools" / "ping_tool")


@pytest.fixture(scope="module")
def tool() -> Path:
    if not TOOL.exists():
        pytest.skip(f"ping tool not built: {TOOL}")
    return TOOL


def run(bed, tool, args, timeout=60):
    t0 = time.monotonic()
    r = bed.dut([str(tool), "--tap", bed.tap_name, "--static", f"{STATIC_IP}/24", "--gw", bed.peer_ip, *args],
                timeout=timeout, check=False)
    assert r.returncode == 0, f"ping_tool rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    lines = r.stdout.splitlines()
    return json.loads(lines[-1]), lines[:-1], time.monotonic() - t0


def check_output(lines, who, count, size=56):
    assert lines[0] == f"PING {who}: {size} data bytes", lines
    seqs = []
    for line in lines[1:1 + count]:
        m = re.fullmatch(rf"{size + 8} bytes from {re.escape(who)}: icmp_seq=(\d+) time=(\d+\.\d{{3}}) ms", line)
        assert m, line
        seqs.append(int(m.group(1)))
        # Below 2 s, not 1 s: a request waiting for ARP/NDP resolution is sent when it completes,
        # and when the first exchange is lost (seen once in CI, at the start of a fresh bed) the
        # stack asks again after 1 s, as Linux and lwIP do; the held requests then all read
        # ~1000 ms minus their send offset. Anything slower is a real stall.
        assert 0 < float(m.group(2)) < 2000, line
    assert seqs == list(range(1, count + 1)), lines
    assert lines[1 + count] == f"--- {who} ping statistics ---", lines
    assert re.fullmatch(rf"{count} packets transmitted, {count} received, 0% packet loss, time \d+ms",
                        lines[2 + count]), lines
    assert re.fullmatch(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", lines[3 + count]), lines


def test_ping_helper_ipv4(bed, tool):
    with bed.capture("icmp[icmptype] == icmp-echo", name="echo.pcap") as cap:
        res, lines, _ = run(bed, tool, ["--count", "4", "--interval", "200", bed.peer_ip])
        time.sleep(0.5)
    assert res["err"] == "ESP_OK" and res["transmitted"] == 4 and res["received"] == 4, res
    assert res["duplicates"] == 0 and 0 < res["min_us"] <= res["avg_us"] <= res["max_us"], res
    assert 600 <= res["total_ms"] < 3000, res  # three 200 ms intervals, then the last reply
    check_output(lines, bed.peer_ip, 4)
    seen = bed.peer(["tcpdump", "-nn", "-r", cap.path], check=False).stdout
    assert len(re.findall(r"ICMP echo request", seen)) == 4, seen


def test_ping_helper_ipv6_global(bed, tool, dnsmasq_for):
    dnsmasq_for(bed, extra_args=["--enable-ra", "--dhcp-range=2001:db8:1::,ra-only,64,2h"])
    res, lines, _ = run(bed, tool, ["--wait", "both", "--count", "3", "--interval", "200", "--size", "100",
                                    bed.peer_ip6])
    assert res["err"] == "ESP_OK" and res["received"] == 3, (res, lines)
    check_output(lines, bed.peer_ip6, 3, size=100)


def test_ping_helper_no_answer_times_out(bed, tool):
    res, lines, took = run(bed, tool, ["--count", "2", "--interval", "300", "--timeout", "500", "198.18.0.77"])
    assert res["err"] == "ESP_ERR_TIMEOUT" and res["transmitted"] == 2 and res["received"] == 0, res
    assert "2 packets transmitted, 0 received, 100% packet loss" in "\n".join(lines)
    assert res["total_ms"] < 2000 and took < 20, (res, took)
