"""ARP (RFC 826, RFC 5227, RFC 1122 §2.3.2)."""
import time

import pytest

from conf_helpers import DUT_IP, DUT_MAC, frame, vhost

BCAST = "ff:ff:ff:ff:ff:ff"


def arp_req(host, pdst, eth_dst=BCAST, psrc=None, hwsrc=None, op=1, hwdst="00:00:00:00:00:00"):
    h = vhost(host)
    return frame(("Ether", {"dst": eth_dst, "src": hwsrc or h["mac"]}),
                 ("ARP", {"op": op, "hwsrc": hwsrc or h["mac"], "psrc": psrc or h["ip"],
                          "hwdst": hwdst, "pdst": pdst}), host=host)


def ping(host, seq, **ip):
    return frame(("IP", dict(ip)), ("ICMP", {"type": 8, "id": 0x4100 + host, "seq": seq}),
                 ("Raw", {"load": "arp-test"}), host=host)


@pytest.mark.rfc("RFC 826 (Packet Reception)")
def test_arp_request_for_own_address_is_answered(ag):
    """A broadcast request for the stack's address gets a unicast reply with its MAC."""
    r = ag.exchange([arp_req(1, DUT_IP)], {"l2": "arp", "op": 2}, timeout=1)
    assert r, "no ARP reply"
    a = r[0]
    assert a["hwsrc"] == DUT_MAC and a["psrc"] == DUT_IP
    assert a["hwdst"] == vhost(1)["mac"] and a["pdst"] == vhost(1)["ip"]
    assert a["eth_dst"] == vhost(1)["mac"], "reply must be unicast to the requester"


@pytest.mark.rfc("RFC 826 (Packet Reception)")
def test_arp_unicast_request_is_answered(ag):
    """A request sent to the stack's MAC (unicast poll, RFC 1122 §2.3.2.1) is answered too."""
    r = ag.exchange([arp_req(2, DUT_IP, eth_dst=DUT_MAC)], {"l2": "arp", "op": 2, "pdst": vhost(2)["ip"]})
    assert r and r[0]["hwsrc"] == DUT_MAC


@pytest.mark.rfc("RFC 826 (Packet Reception)")
@pytest.mark.parametrize("target", ["198.18.0.99", "198.18.0.1", "198.18.1.2", "10.0.0.2"])
def test_arp_request_for_other_address_is_ignored(ag, target):
    """A request for an address that is not the stack's gets no reply."""
    r = ag.exchange([arp_req(3, target)], {"l2": "arp", "eth_src": DUT_MAC}, timeout=0.6)
    assert not r, f"stack answered an ARP request for {target}: {r}"


@pytest.mark.rfc("RFC 826 (Packet Reception: merge)")
def test_arp_request_fills_cache_no_own_request_needed(ag):
    """After a request from X the stack answers X's ping without asking ARP for X first."""
    ag.exchange([arp_req(4, DUT_IP)], {"l2": "arp", "op": 2}, timeout=1)
    m = ag.mark()
    ag.send([ping(4, 1)])
    rep = ag.expect({"proto": "icmp", "type": 0, "dst": vhost(4)["ip"]}, m, timeout=1)
    assert rep and rep[0]["eth_dst"] == vhost(4)["mac"]
    asked = ag.expect({"l2": "arp", "op": 1, "pdst": vhost(4)["ip"]}, m, timeout=0.2)
    assert not asked, "the stack asked for an address it just learnt from a request"


@pytest.mark.rfc("RFC 826 (Packet Generation)")
def test_arp_request_for_unknown_sender(ag):
    """A ping from an unknown sender makes the stack ask ARP for it (broadcast, from its own address)."""
    time.sleep(1.1)  # smoltcp rate-limits ARP requests globally (see the case below)
    m = ag.mark()
    ag.send([ping(5, 1)])
    req = ag.expect({"l2": "arp", "op": 1, "pdst": vhost(5)["ip"]}, m, timeout=2)
    assert req, "the stack did not ask ARP for the sender of a ping"
    assert req[0]["eth_dst"] == "ff:ff:ff:ff:ff:ff" and req[0]["psrc"] == DUT_IP
    assert req[0]["hwsrc"] == DUT_MAC


@pytest.mark.rfc("RFC 826 (Packet Reception)")
def test_arp_reply_to_own_request_is_used(ag):
    """Once its request was answered, the stack sends to the MAC it learnt."""
    time.sleep(1.1)
    m = ag.mark()
    ag.send([ping(11, 1)])
    ag.expect({"l2": "arp", "op": 1, "pdst": vhost(11)["ip"]}, m, timeout=2)  # answered by the agent
    m = ag.mark()
    ag.send([ping(11, 2)])
    rep = ag.expect({"proto": "icmp", "type": 0, "dst": vhost(11)["ip"]}, m, timeout=2)
    assert rep and rep[0]["eth_dst"] == vhost(11)["mac"], "echo reply not sent to the resolved MAC"


@pytest.mark.rfc("RFC 1122 §2.3.2.2")
@pytest.mark.xfail(strict=True, reason="smoltcp drops the packet that triggered ARP resolution (the echo "
                   "reply to an unknown sender is lost); RFC 1122 says the link layer SHOULD keep at least "
                   "the latest packet per unresolved address")
def test_arp_queues_packet_while_resolving(ag):
    """The reply that triggered the ARP request is sent once the address is resolved."""
    time.sleep(1.1)
    m = ag.mark()
    ag.send([ping(12, 1)])
    rep = ag.expect({"proto": "icmp", "type": 0, "dst": vhost(12)["ip"], "icmp_seq": 1}, m, timeout=2)
    assert rep, "the echo reply that needed ARP resolution never came"


@pytest.mark.rfc("RFC 1122 §2.3.2.1")
@pytest.mark.xfail(strict=True, reason="smoltcp's ARP rate limit is one request per second for the whole "
                   "neighbour cache, not per destination: a second unknown address within 1 s is not asked "
                   "for and its packet is dropped")
def test_arp_rate_limit_is_per_destination(ag):
    """Two unknown senders within a second: the stack asks ARP for both (the limit is per address)."""
    time.sleep(1.1)
    m = ag.mark()
    ag.send([ping(13, 1), ping(14, 1)])
    a = ag.expect({"l2": "arp", "op": 1, "pdst": vhost(13)["ip"]}, m, timeout=0.5)
    b = ag.expect({"l2": "arp", "op": 1, "pdst": vhost(14)["ip"]}, m, timeout=0.5)
    assert a and b, f"ARP requests: first {bool(a)}, second {bool(b)}"


@pytest.mark.rfc("RFC 826 (Packet Reception)")
def test_arp_unsolicited_reply_for_us_fills_cache(ag):
    """A reply addressed to the stack (not asked for) fills its cache (smoltcp fills from any ARP for it)."""
    h = vhost(6)
    ag.call("responders", arp=False)
    ag.send([arp_req(6, DUT_IP, eth_dst=DUT_MAC, op=2, hwdst=DUT_MAC)])
    m = ag.mark()
    ag.send([ping(6, 1)])
    rep = ag.expect({"proto": "icmp", "type": 0, "dst": h["ip"]}, m, timeout=1.5)
    assert rep and rep[0]["eth_dst"] == h["mac"]


@pytest.mark.rfc("RFC 826 (Packet Reception: merge)", "RFC 5227 §3")
@pytest.mark.xfail(strict=True, reason="smoltcp only processes ARP whose target address is its own: a "
                   "gratuitous ARP (target = sender) does not update an existing cache entry, as RFC 826's "
                   "merge step would")
def test_arp_gratuitous_updates_existing_entry(ag):
    """A gratuitous ARP moving a known address to a new MAC updates the stack's cache."""
    h = vhost(7)
    ag.exchange([arp_req(7, DUT_IP)], {"l2": "arp", "op": 2}, timeout=1)   # cache: h -> old MAC
    new_mac = "02:00:00:00:bb:07"
    ag.send([arp_req(7, h["ip"], psrc=h["ip"], hwsrc=new_mac)])               # announcement
    m = ag.mark()
    ag.send([ping(7, 2)])
    rep = ag.expect({"proto": "icmp", "type": 0, "dst": h["ip"]}, m, timeout=1)
    assert rep and rep[0]["eth_dst"] == new_mac, f"reply still to {rep[0]['eth_dst'] if rep else None}"


@pytest.mark.rfc("RFC 5227 §2.1.1", "RFC 826 (Packet Reception)")
@pytest.mark.xfail(strict=True, reason="smoltcp discards ARP whose sender protocol address is not unicast, "
                   "so a probe (sender 0.0.0.0) for the stack's own address is never answered and the prober "
                   "cannot see the conflict")
def test_arp_probe_for_own_address_is_answered(ag):
    """An ARP probe (sender IP 0.0.0.0) for the stack's address is answered, so the prober backs off."""
    r = ag.exchange([arp_req(8, DUT_IP, psrc="0.0.0.0")], {"l2": "arp", "eth_src": DUT_MAC}, timeout=0.8)
    assert r, "no answer to a probe for the stack's own address"


@pytest.mark.rfc("RFC 826 (Packet Reception)")
@pytest.mark.parametrize("variant", ["hw_type_6", "proto_ipv6", "hlen_8", "op_3", "truncated"])
def test_arp_malformed_is_ignored(ag, variant):
    """Requests with a wrong hardware/protocol type, length or opcode, or cut short, get no reply."""
    spec = arp_req(9, DUT_IP)
    fields = spec["layers"][1][1]
    if variant == "hw_type_6":
        fields["hwtype"] = 6
    elif variant == "proto_ipv6":
        fields["ptype"] = 0x86DD
    elif variant == "hlen_8":
        fields["hwlen"] = 8
    elif variant == "op_3":
        fields["op"] = 3
    else:
        spec["truncate"] = 14 + 20
    r = ag.exchange([spec], {"l2": "arp", "eth_src": DUT_MAC}, timeout=0.6)
    assert not r, f"reply to a malformed ARP ({variant}): {r}"


@pytest.mark.rfc("RFC 826 (Packet Reception)", "RFC 1122 §2.3.2.1")
def test_arp_request_from_broadcast_sender_is_ignored(ag):
    """A request whose sender MAC is broadcast is not answered and not cached."""
    r = ag.exchange([arp_req(10, DUT_IP, hwsrc="ff:ff:ff:ff:ff:ff")], {"l2": "arp", "eth_src": DUT_MAC},
                    timeout=0.6)
    assert not r
