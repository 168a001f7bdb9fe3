"""ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo in all sizes with the data echoed byte for
byte, checksums, message types a host must not answer, errors about live connections."""
import random

import pytest

from conf_helpers import DUT_IP, DUT_MAC, echo_frame, echo_replies, frame, prime_arp, stats, vhost

H = 3


@pytest.fixture(autouse=True)
def _primed(ag):
    prime_arp(ag, H)


SIZES = [0, 1, 7, 8, 18, 56, 63, 64, 100, 255, 256, 511, 512, 1000, 1024, 1400, 1472]


@pytest.mark.rfc("RFC 792 (Echo)", "RFC 1122 §3.2.2.6")
@pytest.mark.parametrize("size", SIZES)
def test_icmp_echo_size_data_echoed_exactly(ag, size):
    """Echo request with `size` data bytes: one reply, same id/seq, data byte-identical, addresses swapped."""
    data = random.Random(size).randbytes(size)
    r = echo_replies(ag, H, seq=size, data=data, timeout=1.5)
    assert len(r) == 1, f"{len(r)} replies"
    rep = r[0]
    assert bytes.fromhex(rep["data_hex"]) == data, "echo data changed"
    assert rep["src"] == DUT_IP and rep["dst"] == vhost(H)["ip"] and rep["code"] == 0
    assert rep["ip_len"] == 20 + 8 + size


@pytest.mark.rfc("RFC 792 (Echo)")
@pytest.mark.parametrize("pattern", ["zeros", "ones", "alternating", "checksum_ffff"])
def test_icmp_echo_data_patterns(ag, pattern):
    """Data patterns that stress checksum arithmetic (0x0000, 0xffff words) are echoed exactly."""
    data = {"zeros": b"\0" * 64, "ones": b"\xff" * 64, "alternating": b"\xaa\x55" * 32,
            "checksum_ffff": b"\xff\xff" * 31 + b"\x00\x01"}[pattern]
    r = echo_replies(ag, H, seq=300 + len(pattern), data=data)
    assert r and bytes.fromhex(r[0]["data_hex"]) == data


@pytest.mark.rfc("RFC 792 (Echo: identifier, sequence)")
@pytest.mark.parametrize("ident,seq", [(0, 0), (0xFFFF, 0xFFFF), (1, 0x8000)])
def test_icmp_echo_id_seq_extremes(ag, ident, seq):
    """Identifier and sequence number are returned unchanged, including 0 and 0xffff."""
    r = ag.exchange([echo_frame(H, seq, icmp={"id": ident})],
                    {"proto": "icmp", "type": 0, "icmp_id": ident, "icmp_seq": seq}, timeout=1)
    assert r


@pytest.mark.rfc("RFC 792 (Checksum)", "RFC 1122 §3.2.2")
def test_icmp_bad_checksum_dropped_and_counted(e, ag):
    """An echo request with a wrong ICMP checksum is not answered and is counted."""
    before = stats(e.bed)["rx_drops"]["bad_l4_checksum"]
    assert not echo_replies(ag, H, seq=400, icmp={"chksum": 0xBEEF}, timeout=0.5)
    assert stats(e.bed)["rx_drops"]["bad_l4_checksum"] == before + 1


@pytest.mark.rfc("RFC 792 (Checksum)", "RFC 791 §3.1 (Header Checksum)")
@pytest.mark.parametrize("size", [0, 1, 33, 1000])
def test_icmp_reply_checksums_valid(ag, size):
    """The reply's IPv4 header checksum and ICMP checksum verify (odd and even lengths)."""
    r = echo_replies(ag, H, seq=500 + size, data=bytes(range(256))[:size] * 4 if size > 256 else bytes(range(size)))
    assert r
    assert r[0]["ip_csum_ok"] is True and r[0]["l4_csum_ok"] is True, r[0]


@pytest.mark.rfc("RFC 792 (Echo)")
def test_icmp_truncated_echo_dropped(e, ag):
    """An ICMP message shorter than its 8-byte header is dropped and counted as a bad L4 header."""
    before = stats(e.bed)["rx_drops"]["bad_l4_header"]
    r = ag.exchange([frame(("IP", {"proto": 1}), ("Raw", {"load_hex": "0800f7ff"}), host=H)],
                    {"proto": "icmp", "eth_src": DUT_MAC}, timeout=0.5)
    assert not r
    assert stats(e.bed)["rx_drops"]["bad_l4_header"] == before + 1


@pytest.mark.rfc("RFC 792 (Echo: code 0)")
def test_icmp_echo_nonzero_code(ag):
    """Echo request with code 5: Linux answers (code 0); record that the stack answers or ignores, and survives."""
    echo_replies(ag, H, seq=403, icmp={"code": 5}, timeout=0.5)
    assert echo_replies(ag, H, seq=404)


@pytest.mark.rfc("RFC 1122 §3.2.2", "RFC 792")
@pytest.mark.parametrize("itype", [0, 13, 15, 17, 42, 255])
def test_icmp_types_not_answered(ag, itype):
    """Echo replies, timestamp/info/mask requests and unknown types draw no ICMP answer (they MAY be ignored)."""
    m = ag.mark()
    ag.send([frame(("IP", {}), ("ICMP", {"type": itype, "id": 0x55, "seq": itype}), ("Raw", {"load": "q" * 12}),
                   host=H)])
    r = ag.expect({"proto": "icmp", "eth_src": DUT_MAC}, m, timeout=0.5)
    assert not r, f"stack answered ICMP type {itype}: {r}"


@pytest.mark.rfc("RFC 1122 §3.2.2", "RFC 792 (Destination Unreachable)")
@pytest.mark.parametrize("code", [0, 1, 3, 4])
def test_icmp_error_about_unknown_flow_ignored(ag, code):
    """A destination-unreachable error quoting a datagram the stack never sent is ignored, no answer."""
    quoted = bytes.fromhex("4500001c0001000040110000c6120002c612000e" "9c4000350008" "0000")
    m = ag.mark()
    ag.send([frame(("IP", {}), ("ICMP", {"type": 3, "code": code}), ("Raw", {"load_hex": quoted.hex()}), host=H)])
    assert not ag.expect({"proto": "icmp", "eth_src": DUT_MAC}, m, timeout=0.4)
    assert echo_replies(ag, H, seq=410 + code)


@pytest.mark.rfc("RFC 1122 §3.2.2 (MUST NOT send ICMP error about an ICMP error)")
def test_icmp_no_error_about_icmp_error(ag):
    """An ICMP error sent to a closed UDP port inside an ICMP error: no ICMP error comes back."""
    m = ag.mark()
    ag.send([frame(("IP", {}), ("ICMP", {"type": 3, "code": 3}),
                   ("Raw", {"load_hex": "45000020000100004011aaaa" "c612000e" "c6120002" "d43100090008" "0000" + "00" * 4}),
                   host=H)])
    assert not ag.expect({"proto": "icmp", "type": 3, "eth_src": DUT_MAC}, m, timeout=0.5)


@pytest.mark.rfc("RFC 1122 §4.2.3.9", "RFC 5927 §4")
def test_icmp_port_unreachable_does_not_abort_established_tcp(ag):
    """A (soft) ICMP port-unreachable quoting a live TCP connection does not reset it."""
    c = ag.call("tcp_connect", host=H, dport=80)
    assert c["synack"], "no SYN-ACK"
    st = ag.call("tcp_state", conn=c["conn"])
    # Quote the connection's own segment: IP header (to us from the stack) + 8 bytes of TCP.
    sport = st["sport"]
    tcp8 = (80).to_bytes(2, "big") + sport.to_bytes(2, "big") + st["rcv_nxt"].to_bytes(4, "big")
    ip = bytes.fromhex("45000028abcd40004006") + b"\0\0" + bytes([198, 18, 0, 2]) + bytes([198, 18, 0, 10 + H])
    m = ag.mark()
    ag.send([frame(("IP", {}), ("ICMP", {"type": 3, "code": 3}), ("Raw", {"load_hex": (ip + tcp8).hex()}),
                   host=H)])
    assert not ag.expect({"proto": "tcp", "dport": sport, "flags_has": "R"}, m, timeout=0.3)
    r = ag.call("tcp_send", conn=c["conn"], data="GET /dl/5 HTTP/1.1\r\nHost: x\r\n\r\n", wait=1.0,
                auto_ack=True)
    assert any(s["len"] > 0 for s in r["segs"]), "connection dead after an ICMP soft error"


@pytest.mark.rfc("RFC 1122 §3.2.2.6 (reply source = request destination)")
def test_icmp_echo_reply_source_is_request_destination(ag):
    """The reply comes from the address the request was sent to, with the stack's MAC."""
    r = echo_replies(ag, H, seq=420)
    assert r and r[0]["src"] == DUT_IP and r[0]["eth_src"] == DUT_MAC


@pytest.mark.rfc("RFC 792 (Echo)", "RFC 1122 §3.3.2")
def test_icmp_echo_larger_than_mtu_is_not_answered(ag):
    """An echo that only fits in fragments (2000 bytes) is not answered: no reassembly in this build."""
    m = ag.mark()
    ag.send([dict(echo_frame(H, 430, data=b"z" * 2000), fragment=1480)])
    assert not ag.expect({"proto": "icmp", "type": 0, "icmp_seq": 430}, m, timeout=0.6)
    assert echo_replies(ag, H, seq=431)
