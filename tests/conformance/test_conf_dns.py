"""DNS resolver (RFC 1035, RFC 5452, RFC 7766): tests/tools/resolve_tool resolves
through the stack (getaddrinfo over smoltcp's DNS client) against the agent as the
DNS server (198.18.0.253), which answers with crafted responses. A bad response is
followed by a good one: the good address must win (the bad one ignored)."""
import json
import os
from pathlib import Path

import pytest

import conf_helpers as ch

SERVER = {"mac": "02:00:00:00:aa:fd", "ip": "198.18.0.253"}
TOOL = Path(os.environ.get("ESP_SMOLTCP_RESOLVE_TOOL")
            or ch.REPO / "build" / "host" / "tests" / "tools" / "resolve_tool")
GOOD, BAD = "198.18.0.77", "198.18.0.66"


@pytest.fixture(scope="module")
def dn():
    tool = TOOL
    if not tool.exists():
        pytest.skip(f"resolve tool not built: {tool} (make build)")
    with ch.netbed.Bed() as bed:
        agent = ch.Agent(bed)
        try:
            yield bed, agent, tool
        finally:
            agent.close()


def resolve(dn, modes, name="host.esst.test", family=4):
    bed, agent, tool = dn
    agent.call("dns_server", server=SERVER, modes=modes, answer=GOOD)
    start = len(agent.call("dns_log")["log"])
    r = bed.dut([str(tool), "--tap", bed.tap_name, "--static", "198.18.0.2/24", "--gw", "198.18.0.1",
                 "--dns", SERVER["ip"], f"{name}:{family}"], timeout=40, check=False)
    assert r.returncode == 0, f"resolve_tool failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    out = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{") and '"name"' in line]
    assert out, r.stdout
    return out[0], agent.call("dns_log", since=start)["log"]


@pytest.mark.rfc("RFC 1035 §4.1, §4.1.1")
def test_dns_good_answer_resolves(dn):
    """A well-formed answer resolves (baseline); the query has RD set, one question, type A."""
    res, log = resolve(dn, ["good"])
    assert res["rc"] == "OK" and res["addrs"] == [GOOD]
    assert log and log[0]["qtype"] == 1 and log[0]["qname"].rstrip(".") == "host.esst.test"


@pytest.mark.rfc("RFC 5452 §9.2 (ID and port randomisation)")
def test_dns_query_id_and_port_vary(dn):
    """Two runs use different query IDs and source ports."""
    _, l1 = resolve(dn, ["good"])
    _, l2 = resolve(dn, ["good"])
    assert (l1[0]["id"], l1[0]["sport"]) != (l2[0]["id"], l2[0]["sport"])
    assert l1[0]["sport"] != 53 and l2[0]["sport"] != 53


BAD_THEN_GOOD = {
    "wrong_id": ("RFC 5452 §4.3 (ID must match)", None),
    "wrong_port": ("RFC 5452 §4.2 (port must match)", None),
    "not_response": ("RFC 1035 §4.1.1 (QR bit)", None),
    "cut": ("RFC 1035 §4.1 (malformed message)", None),
    "header_only": ("RFC 1035 §4.1 (malformed message)", None),
    "short": ("RFC 1035 §4.1.1 (shorter than the header)", None),
    "ptr_loop": ("RFC 1035 §4.1.4 (compression pointer loop)", None),
    "garbage": ("RFC 1035 §4.1", None),
    "wrong_source": ("RFC 5452 §4.1 (source address must be the server queried)", None),
    "truncated_tc": ("RFC 1035 §4.2.1, RFC 7766 §5 (TC: retry over TCP)",
                     "a truncated (TC=1) response ends the query: smoltcp takes its empty answer section as a "
                     "final failure and has no TCP fallback (RFC 7766 §5 requires retrying over TCP)"),
}


@pytest.mark.parametrize("bad", list(BAD_THEN_GOOD))
def test_dns_bad_response_ignored(request, dn, bad):
    """A bad response before the good one is ignored: the name resolves to the good address."""
    ref, xfail = BAD_THEN_GOOD[bad]
    request.node.add_marker(pytest.mark.rfc(ref))
    if xfail:
        request.applymarker(pytest.mark.xfail(strict=True, reason=xfail))
    res, log = resolve(dn, [bad, "good"])
    assert res["rc"] == "OK" and res["addrs"] == [GOOD], res


@pytest.mark.rfc("RFC 1035 §4.1.1 (RCODE 3)", "RFC 2308 §2.1")
def test_dns_nxdomain_is_noname(dn):
    """NXDOMAIN ends the query at once with EAI_NONAME."""
    res, _ = resolve(dn, ["nxdomain"])
    assert res["rc"] == "EAI_NONAME" and res["ms"] < 2000, res


@pytest.mark.rfc("RFC 1035 §4.1.1 (RCODE 2)")
def test_dns_servfail_is_failure_not_answer(dn):
    """SERVFAIL gives no address (and is not reported as the name not existing... nor hangs)."""
    res, _ = resolve(dn, ["servfail"])
    assert res["rc"] != "OK" and not res["addrs"], res


@pytest.mark.rfc("RFC 3596 §2.1 (AAAA)")
def test_dns_aaaa_answer(dn):
    """An AAAA query gets the IPv6 address."""
    res, log = resolve(dn, ["good"], family=6)
    assert res["rc"] == "OK" and res["addrs"] == ["2001:db8:1::77"], res
    assert log[0]["qtype"] == 28
