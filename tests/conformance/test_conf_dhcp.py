"""DHCPv4 client (RFC 2131): the demo in DHCP mode against the agent as the DHCP
server (a virtual host 198.18.0.254). A short lease (12 s, T1 3 s, T2 6 s) makes
renewal, rebinding, NAK and expiry happen within the run. The cases run in order
on one client and build on each other."""
import re
import time

import pytest

import conf_helpers as ch

SERVER = {"mac": "02:00:00:00:aa:fe", "ip": "198.18.0.254"}
YIADDR = "198.18.0.150"
LEASE, T1, T2 = 12, 3, 6


class DhcpEnv:
    def __init__(self, bed, demo, agent):
        self.bed, self.demo, self.agent = bed, demo, agent

    def server(self, **kw):
        args = dict(server=SERVER, yiaddr=YIADDR, lease=LEASE, t1=T1, t2=T2, dns="198.18.0.254")
        args.update(kw)
        self.agent.call("dhcp_server", **args)

    def log(self, since=0):
        return self.agent.call("dhcp_log", since=since)["log"]

    def wait(self, match, since, timeout):
        return self.agent.call("dhcp_wait", match=match, since=since, timeout=timeout, rpc_timeout=timeout + 10)["log"]

    def stderr_has(self, regex, start=0):
        with self.demo.cond:
            return any(re.search(regex, line) for line in self.demo.stderr[start:])


@pytest.fixture(scope="module")
def dh(demo_bin):
    with ch.netbed.Bed() as bed:
        agent = ch.Agent(bed, dut_ip=YIADDR)
        env = DhcpEnv(bed, None, agent)
        env.server()
        env.demo = ch.Demo(bed, demo_bin, ["--mac", ch.DUT_MAC])
        try:
            env.demo.wait_ip(20)
            yield env
        finally:
            agent.close()
            env.demo.stop()


@pytest.fixture
def d(request, dh):
    request.node._esst_demos = [dh.demo]
    request.node._esst_agent = dh.agent
    yield dh
    assert dh.demo.proc.poll() is None, "the stack exited"


@pytest.mark.rfc("RFC 2131 §4.1, §4.4.1 (DHCPDISCOVER)")
def test_dhcp_discover_is_broadcast_from_zero(d):
    """The first DISCOVER goes from 0.0.0.0 to 255.255.255.255, Ethernet broadcast."""
    disc = [e for e in d.log() if e["type"] == "discover"]
    assert disc, "no DISCOVER seen"
    assert disc[0]["ip_src"] == "0.0.0.0" and disc[0]["ip_dst"] == "255.255.255.255"
    assert disc[0]["eth_dst"] == "ff:ff:ff:ff:ff:ff"


@pytest.mark.rfc("RFC 2131 §4.3.2, §4.4.1 (DHCPREQUEST, SELECTING)")
def test_dhcp_request_selecting_fields(d):
    """The REQUEST after the OFFER names the server and the offered address, with ciaddr 0."""
    req = [e for e in d.log() if e["type"] == "request"]
    assert req
    r = req[0]
    assert r["server_id"] == SERVER["ip"] and r["requested"] == YIADDR and r["ciaddr"] == "0.0.0.0"
    assert r["ip_dst"] == "255.255.255.255"
    disc = [e for e in d.log() if e["type"] == "discover"][0]
    assert r["xid"] == disc["xid"], "REQUEST must carry the xid of the OFFER it answers (§4.4.1)"


@pytest.mark.rfc("RFC 2131 §4.4.1 (DHCPACK: configured)")
def test_dhcp_ack_configures_address(d):
    """After the ACK the interface has the offered address, the router and the lease."""
    assert d.demo.ip == YIADDR and d.demo.prefix == 24 and d.demo.gw == SERVER["ip"]


@pytest.mark.rfc("RFC 2131 §4.4.5 (RENEWING)", "RFC 2131 §4.3.2 (RENEWING fields)")
def test_dhcp_renewal_unicast_at_t1(d):
    """At T1 the client unicasts a REQUEST to its server, ciaddr set, no server id or requested address."""
    start = len(d.log())
    got = d.wait({"type": "request", "phase": "renewing"}, start, T1 + 4)
    assert got, f"no renewal within T1 + 4 s: {d.log(start)}"
    r = got[0]
    assert r["ip_dst"] == SERVER["ip"] and r["ciaddr"] == YIADDR
    assert r["server_id"] is None and r["requested"] is None


@pytest.mark.rfc("RFC 2131 §4.4.5 (REBINDING)")
def test_dhcp_rebinding_broadcast_at_t2(d):
    """With its server silent the client broadcasts a REQUEST (ciaddr set) once T2 passes, and keeps the lease."""
    d.server(ignore=["renewing"])
    start = len(d.log())
    t0 = time.monotonic()
    got = d.wait({"type": "request", "phase": "rebinding"}, start, T2 + 4)
    assert got, f"no rebinding REQUEST: {d.log(start)}"
    assert got[0]["ip_dst"] == "255.255.255.255" and got[0]["ciaddr"] == YIADDR
    assert time.monotonic() - t0 >= T1 - 1, "rebinding before the renewal attempt"


@pytest.mark.rfc("RFC 2131 §4.4.5 (DHCPNAK while RENEWING)", "RFC 2131 §3.1 step 5")
def test_dhcp_nak_on_renewal_restarts_configuration(d):
    """A NAK to the renewal makes the client drop the address and start over with DISCOVER."""
    d.server(nak=["renewing", "rebinding"], nak_selecting=1)
    mark = len(d.demo.stderr)
    d.nak_mark = mark
    start = len(d.log())
    d.nak_start = start
    naked = d.wait({"type": "request", "answered": "nak"}, start, T2 + 4)
    assert naked, "no REQUEST was NAKed"
    disc = d.wait({"type": "discover"}, start, 5)
    assert disc and disc[0]["t"] > naked[0]["t"], "no DISCOVER after the NAK"
    time.sleep(0.3)
    assert d.stderr_has(r"dhcp lease lost", mark), "address kept after a NAK"


@pytest.mark.rfc("RFC 2131 §4.4.1 (DHCPNAK in REQUESTING)", "RFC 2131 §3.1 step 4")
def test_dhcp_nak_in_requesting_restarts_discovery(d):
    """A NAK to the REQUEST that follows an OFFER sends the client back to DISCOVER."""
    start = getattr(d, "nak_start", 0)
    naked = d.wait({"type": "request", "phase": "selecting", "answered": "nak"}, start, 10)
    assert naked, "no selecting REQUEST NAKed"
    disc = d.wait({"type": "discover"}, start, 10)
    assert [e for e in disc if e["t"] > naked[0]["t"]], "no DISCOVER after a NAK in REQUESTING"


@pytest.mark.rfc("RFC 2131 §4.4.1", "RFC 2131 §4.4.5")
def test_dhcp_reconfigures_after_nak(d):
    """Once the server ACKs again the client is configured again with the offered address."""
    d.server(nak=["renewing", "rebinding"])  # the next selecting REQUEST is ACKed
    with d.demo.cond:
        lines = list(d.demo.stderr[getattr(d, "nak_mark", 0):])
    lost = [i for i, line in enumerate(lines) if "dhcp lease lost" in line]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with d.demo.cond:
            lines = list(d.demo.stderr[getattr(d, "nak_mark", 0):])
        lost = [i for i, line in enumerate(lines) if "dhcp lease lost" in line]
        if lost and any("ipv4 198.18.0.150/24" in line for line in lines[lost[0]:]):
            break
        time.sleep(0.2)
    assert lost and any("ipv4 198.18.0.150/24" in line for line in lines[lost[0]:]), "not configured again"
    d.server()


@pytest.mark.rfc("RFC 2131 §4.4.5 (lease expiry)")
def test_dhcp_lease_expiry_deconfigures(d):
    """With no answer to renewing and rebinding, the address is given up when the lease ends."""
    d.server(ignore=["renewing", "rebinding"])
    mark = len(d.demo.stderr)
    start = len(d.log())
    deadline = time.monotonic() + LEASE + 6
    while time.monotonic() < deadline and not d.stderr_has(r"dhcp lease lost", mark):
        time.sleep(0.3)
    assert d.stderr_has(r"dhcp lease lost", mark), "lease not given up after expiry"
    assert d.wait({"type": "discover"}, start, 5), "no DISCOVER after expiry"
    d.server()
