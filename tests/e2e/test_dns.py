"""DNS through the stack (getaddrinfo over smoltcp's DNS client) against dnsmasq,
compared with what the Linux resolver answers for the same queries.

The server comes from the DHCP lease (dnsmasq option 6) or from static config.
Cases: A and AAAA for one name, A only, AAAA only, several A records, NXDOMAIN,
a dead first server, no server answering at all (bounded time, EAI_AGAIN); and the
same queries over an IPv6 server learned from router advertisements (RDNSS) with a
SLAAC address, where AF_UNSPEC puts AAAA first as Linux does (RFC 6724).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_helpers import REPO, STATIC_IP

TOOL = Path(os.environ.get("ESP_SMOLTCP_RESOLVE_TOOL")
            or REPO / "build" / "host" / "tests" / "tools" / "resolve_tool")

RECORDS = [
    "--host-record=both.esst.test,198.18.0.50,2001:db8:1::50",
    "--host-record=v4only.esst.test,198.18.0.51",
    "--host-record=v6only.esst.test,2001:db8:1::52",
    "--address=/multi.esst.test/198.18.0.53",
    "--address=/multi.esst.test/198.18.0.54",
    "--local=/esst.test/",  # authoritative: unknown names get NXDOMAIN, not REFUSED
]

QUERIES = [("both.esst.test", 4), ("both.esst.test", 6), ("both.esst.test", 0),
           ("v4only.esst.test", 4), ("v6only.esst.test", 6), ("multi.esst.test", 4),
           ("nx.esst.test", 4), ("nx.esst.test", 0)]


@pytest.fixture(scope="module")
def tool() -> Path:
    if not TOOL.exists():
        pytest.skip(f"resolve tool not built: {TOOL}")
    return TOOL


def run_tool(bed, tool: Path, args, queries, timeout=60):
    r = bed.dut([str(tool), "--tap", bed.tap_name, *args, *[f"{n}:{f}" for n, f in queries]],
                timeout=timeout, check=False)
    assert r.returncode == 0, f"resolve_tool failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    answers = {(d["name"], d["family"]): d for d in lines if "name" in d}
    extra = [d for d in lines if "name" not in d]
    return answers, extra


def linux_answers(bed, queries):
    """The Linux resolver in `peer`, pointed at the same dnsmasq through /etc/netns/<ns>/resolv.conf."""
    etc = Path("/etc/netns") / bed.peer_ns
    etc.mkdir(parents=True, exist_ok=True)
    try:
        (etc / "resolv.conf").write_text(f"nameserver {bed.peer_ip}\noptions timeout:2 attempts:1\n")
        script = (
            "import json, socket, sys\n"
            "names = {'OK': 0}\n"
            "for q in json.loads(sys.argv[1]):\n"
            "    fam = {4: socket.AF_INET, 6: socket.AF_INET6, 0: socket.AF_UNSPEC}[q[1]]\n"
            "    try:\n"
            "        r = socket.getaddrinfo(q[0], 80, fam, socket.SOCK_STREAM)\n"
            "        print(json.dumps([q[0], q[1], 'OK', [a[4][0] for a in r]]))\n"
            "    except socket.gaierror as e:\n"
            "        code = {socket.EAI_NONAME: 'EAI_NONAME', socket.EAI_AGAIN: 'EAI_AGAIN',\n"
            "                getattr(socket, 'EAI_NODATA', -5): 'EAI_NODATA'}.get(e.errno, str(e.errno))\n"
            "        print(json.dumps([q[0], q[1], code, []]))\n")
        r = bed.peer(["python3", "-c", script, json.dumps(queries)], timeout=60)
        out = {}
        for line in r.stdout.splitlines():
            name, fam, rc, addrs = json.loads(line)
            out[(name, fam)] = {"rc": rc, "addrs": addrs}
        return out
    finally:
        shutil.rmtree(etc, ignore_errors=True)


def test_resolver_matches_linux(bed, tool):
    bed.start_dnsmasq(extra_args=RECORDS)
    ours, extra = run_tool(bed, tool, [], QUERIES)  # DNS server learned from the DHCP lease
    theirs = linux_answers(bed, QUERIES)
    for q in QUERIES:
        a, b = ours[q], theirs[q]
        # No record of the asked type: glibc says EAI_NODATA or EAI_NONAME depending on the
        # answer's shape; smoltcp reports both as "failed", which the shim maps to EAI_NONAME.
        if b["rc"] == "EAI_NODATA":
            assert a["rc"] == "EAI_NONAME", (q, a, b)
            continue
        assert a["rc"] == b["rc"], (q, a, b)
        if q[1] == 0:
            # AF_UNSPEC: same set; order may differ (Linux sorts by RFC 6724 with its own global
            # IPv6 address; the device, without one, puts A first).
            assert sorted(a["addrs"]) == sorted(b["addrs"]), (q, a, b)
        else:
            assert sorted(a["addrs"]) == sorted(b["addrs"]), (q, a, b)
        assert a["ms"] < 5000, (q, a)
    assert ours[("both.esst.test", 0)]["addrs"][0] == "198.18.0.50"  # A first without IPv6 routes
    assert extra and extra[0]["gethostbyname_r_small"] == 34 and extra[0]["gethostbyname_r"] == 0  # ERANGE, ok


def test_dead_first_server_falls_over(bed, tool):
    bed.start_dnsmasq(extra_args=RECORDS)
    ours, _ = run_tool(bed, tool, ["--static", f"{STATIC_IP}/24", "--gw", bed.peer_ip,
                                   "--dns", f"198.18.0.99,{bed.peer_ip}"], [("both.esst.test", 4)])
    a = ours[("both.esst.test", 4)]
    assert a["rc"] == "OK" and a["addrs"] == ["198.18.0.50"], a


def test_no_server_answers_gives_eai_again_in_bounded_time(bed, tool):
    # No dnsmasq at all: the query times out within the shim's 5 s bound.
    ours, _ = run_tool(bed, tool, ["--static", f"{STATIC_IP}/24", "--gw", bed.peer_ip,
                                   "--dns", bed.peer_ip], [("both.esst.test", 4)])
    a = ours[("both.esst.test", 4)]
    assert a["rc"] == "EAI_AGAIN", a
    assert 4000 <= a["ms"] < 8000, a


def test_resolver_over_rdnss_server_with_slaac_matches_linux(bed, tool):
    """No IPv4 DNS server at all: the only server is dnsmasq's IPv6 address from the RA's RDNSS
    option. With a global IPv6 address both sides order AF_UNSPEC answers IPv6 first."""
    bed.start_dnsmasq(extra_args=RECORDS + [f"--listen-address={bed.peer_ip6}", "--enable-ra",
                                            "--dhcp-range=2001:db8:1::,ra-only,64,2h",
                                            f"--dhcp-option=option6:dns-server,[{bed.peer_ip6}]"])
    ours, _ = run_tool(bed, tool, ["--static", f"{STATIC_IP}/24", "--gw", bed.peer_ip, "--wait", "both"], QUERIES)
    theirs = linux_answers(bed, QUERIES)
    for q in QUERIES:
        a, b = ours[q], theirs[q]
        if b["rc"] == "EAI_NODATA":
            assert a["rc"] == "EAI_NONAME", (q, a, b)
            continue
        assert a["rc"] == b["rc"], (q, a, b)
        if q[1] == 0 and a["rc"] == "OK":
            assert a["addrs"] == b["addrs"], (q, a, b)  # the order too
        else:
            assert sorted(a["addrs"]) == sorted(b["addrs"]), (q, a, b)
        assert a["ms"] < 5000, (q, a)
    assert ours[("both.esst.test", 0)]["addrs"][0] == "2001:db8:1::50"
