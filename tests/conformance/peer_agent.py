#!/usr/bin/env python3
"""Packet agent for the conformance suite; runs inside the `peer` namespace.

    ip netns exec esst-peer-X python3 peer_agent.py vp

One process per test session: scapy is imported once, here, never in pytest.
It owns a raw AF_PACKET socket on the veth (promiscuous) and plays "virtual
hosts" — MAC/IPv4/IPv6 identities the peer kernel does not own, so the kernel
never answers (or resets) traffic meant for them. The agent answers ARP and
Neighbour Solicitations for its virtual hosts itself.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout
({"ok": true, ...} or {"ok": false, "error": ...}). Commands:

  hello                          -> {"host": [...]}
  mark                           -> {"mark": n}     index into the capture
  send     frames, gap           -> {}              frames: see build()
  expect   match, since, timeout, count -> {"frames": [summary...]}
  exchange frames, match, timeout, count, gap -> send then expect (since = before send)
  responders arp, ndp            -> {}              switch the ARP / NA auto-answers
  tcp_connect host, dport, sport, v6, opts, window, no_ack, data
  tcp_send conn, flags, data/data_hex, seq, seq_off, ack, ack_off, window, opts, advance,
           wait, match_first, auto_ack
  tcp_collect conn, timeout, until_fin, auto_ack, stop_after
  tcp_rst_all                    -> RST on every connection still open
  dhcp_server ... / dns_server ...  (see the functions)

Frames the stack sends are summarised as flat dicts (see summarize()). Every
wait has a timeout; the whole agent exits when stdin closes.
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

from scapy.all import (ARP, DNS, DNSQR, DNSRR, ICMP, IP, TCP, UDP, BOOTP, DHCP, Ether, IPOption, IPv6,  # noqa
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA,
                       ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, ICMPv6NDOptMTU,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrFragment, Raw, conf, fragment)
from scapy.layers.inet import TCPerror, UDPerror, IPerror, ICMPerror  # noqa

conf.verb = 0

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1


def host(n):
    """Virtual host n: MAC 02:00:00:00:aa:nn, 198.18.0.(10+n), fe80::aa:n, 2001:db8:1::(10+n)."""
    return {"mac": f"02:00:00:00:aa:{n:02x}", "ip": f"198.18.0.{10 + n}",
            "ll": f"fe80::aa:{n:x}", "ip6": f"2001:db8:1::{10 + n:x}"}


HOSTS = [host(n) for n in range(1, 16)]


class Agent:
    def __init__(self, iface, dut_mac, dut_ip):
        self.iface = iface
        self.dut_mac = dut_mac.lower()
        self.dut_ip = dut_ip
        self.dut_ll = mac_to_ll(self.dut_mac)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        ifindex = socket.if_nametoindex(iface)
        mreq = struct.pack("IHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        self.sock.settimeout(0.2)
        self.frames = []          # (t, raw)
        self.summ = {}            # index -> summary (lazy)
        self.cond = threading.Condition()
        self.arp_on = True
        self.ndp_on = True
        self.conns = {}
        self.next_conn = 1
        self.dhcp = None          # DHCP server behaviour, see cmd_dhcp_server
        self.dns = None           # DNS server behaviour, see cmd_dns_server
        self.dhcp_log = []
        self.dns_log = []
        self.stop = False
        self.rx = threading.Thread(target=self._rx_loop, daemon=True)
        self.rx.start()

    # ------------------------------------------------------------------ capture
    def _rx_loop(self):
        while not self.stop:
            try:
                raw, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            t = time.monotonic()
            try:
                self._auto(raw)
            except Exception as e:  # never let a responder kill capture
                sys.stderr.write(f"agent responder error: {e!r}\n")
            with self.cond:
                self.frames.append((t, raw))
                if len(self.frames) > 200000:
                    raise SystemExit("capture overflow")
                self.cond.notify_all()

    def _tx(self, raw):
        self.sock.send(raw)

    def _auto(self, raw):
        """ARP / NDP answers for the virtual hosts; DHCP / DNS server roles."""
        if len(raw) < 14:
            return
        et = struct.unpack("!H", raw[12:14])[0]
        if et == 0x0806 and self.arp_on:
            p = Ether(raw)
            a = p[ARP]
            if a.op == 1:
                for h in self.identities():
                    if a.pdst == h["ip"]:
                        self._tx(bytes(Ether(dst=a.hwsrc, src=h["mac"]) /
                                       ARP(op=2, hwsrc=h["mac"], psrc=h["ip"], hwdst=a.hwsrc, pdst=a.psrc)))
        elif et == 0x86DD and self.ndp_on and len(raw) > 54 + 24 and raw[20] == 58 and raw[54] == 135:
            p = Ether(raw)
            ns = p[ICMPv6ND_NS]
            for h in self.identities():
                for a6 in (h.get("ll", "fe80::dead"), h.get("ip6", "fe80::dead")):
                    if socket.inet_pton(socket.AF_INET6, ns.tgt) == socket.inet_pton(socket.AF_INET6, a6):
                        na = (Ether(dst=p.src, src=h["mac"]) / IPv6(src=a6, dst=p[IPv6].src, hlim=255) /
                              ICMPv6ND_NA(tgt=a6, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=h["mac"]))
                        self._tx(bytes(na))
        elif et == 0x0800 and len(raw) >= 42 and raw[23] == 17:
            ihl = (raw[14] & 0xF) * 4
            dport = struct.unpack("!H", raw[14 + ihl + 2:14 + ihl + 4])[0]
            if dport == 67 and self.dhcp is not None:
                self._dhcp_answer(Ether(raw))
            elif dport == 53 and self.dns is not None:
                self._dns_answer(Ether(raw))

    def identities(self):
        out = list(HOSTS)
        for role in (self.dhcp, self.dns):
            if role is not None:
                out.append(role["server"])
        return out

    # ------------------------------------------------------------------ DHCP server
    def _dhcp_answer(self, p):
        b = p[BOOTP]
        opts = {o[0]: o[1:] for o in p[DHCP].options if isinstance(o, tuple)}
        mtype = opts.get("message-type", (0,))[0]
        names = {1: "discover", 3: "request", 4: "decline", 7: "release", 8: "inform"}
        entry = {"t": time.monotonic(), "type": names.get(mtype, str(mtype)), "xid": b.xid,
                 "ciaddr": b.ciaddr, "ip_src": p[IP].src, "ip_dst": p[IP].dst, "eth_dst": p.dst,
                 "requested": opts.get("requested_addr", (None,))[0],
                 "server_id": opts.get("server_id", (None,))[0]}
        with self.cond:
            self.dhcp_log.append(entry)
            self.cond.notify_all()
        d = self.dhcp
        srv = d["server"]
        if mtype == 1:
            if d.get("ignore_discover"):
                return
            reply = "offer"
        elif mtype == 3:
            # Renewing (unicast to us) / rebinding (broadcast, ciaddr set) / selecting.
            phase = "selecting" if entry["server_id"] else ("renewing" if p[IP].dst == srv["ip"] else "rebinding")
            entry["phase"] = phase
            if phase in d.get("ignore", []):
                return
            reply = "nak" if phase in d.get("nak", []) else "ack"
            if phase == "selecting" and d.get("nak_selecting", 0) > 0:
                d["nak_selecting"] -= 1  # NAK only this many selecting REQUESTs (no NAK/DISCOVER storm)
                reply = "nak"
        else:
            return
        yi = d["yiaddr"] if reply != "nak" else "0.0.0.0"
        o = [("message-type", {"offer": 2, "ack": 5, "nak": 6}[reply]), ("server_id", srv["ip"])]
        if reply != "nak":
            o += [("lease_time", d["lease"]), ("subnet_mask", "255.255.255.0"), ("router", srv["ip"])]
            if d.get("t1"):
                o += [("renewal_time", d["t1"]), ("rebinding_time", d["t2"])]
            if d.get("dns"):
                o += [("name_server", d["dns"])]
        o.append("end")
        dst_ip = "255.255.255.255" if reply == "nak" or p[IP].src == "0.0.0.0" else p[IP].src
        dst_mac = "ff:ff:ff:ff:ff:ff" if dst_ip == "255.255.255.255" else p.src
        r = (Ether(src=srv["mac"], dst=dst_mac) / IP(src=srv["ip"], dst=dst_ip) / UDP(sport=67, dport=68) /
             BOOTP(op=2, xid=b.xid, yiaddr=yi, siaddr=srv["ip"], chaddr=b.chaddr, flags=b.flags) / DHCP(options=o))
        self._tx(bytes(r))
        entry["answered"] = reply

    # ------------------------------------------------------------------ DNS server
    def _dns_answer(self, p):
        q = p[DNS]
        d = self.dns
        entry = {"t": time.monotonic(), "id": q.id, "qname": q.qd.qname.decode() if q.qd else "",
                 "qtype": q.qd.qtype if q.qd else 0, "sport": p[UDP].sport, "ip_dst": p[IP].dst}
        with self.cond:
            self.dns_log.append(entry)
            self.cond.notify_all()
        srv = d["server"]
        n = len(self.dns_log)
        replies = []
        qtype = q.qd.qtype if q.qd else 1
        good_rr = (DNSRR(rrname=q.qd.qname, type="A", ttl=60, rdata=d.get("answer", "198.18.0.77"))
                   if qtype == 1 else
                   DNSRR(rrname=q.qd.qname, type="AAAA", ttl=60, rdata=d.get("answer6", "2001:db8:1::77")))
        good = DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=1, qd=q.qd, an=good_rr)
        for mode in d["modes"]:
            if mode == "good":
                replies.append(bytes(good))
            elif mode == "wrong_id":
                replies.append(bytes(DNS(id=(q.id + 1) & 0xFFFF, qr=1, qd=q.qd,
                                         an=DNSRR(rrname=q.qd.qname, type="A", rdata="198.18.0.66"))))
            elif mode == "truncated_tc":
                replies.append(bytes(DNS(id=q.id, qr=1, tc=1, qd=q.qd)))
            elif mode == "cut":  # a good answer cut in the middle of the answer record
                b = bytes(good)
                replies.append(b[:len(b) - 6])
            elif mode == "header_only":
                replies.append(bytes(good)[:12])
            elif mode == "short":
                replies.append(bytes(good)[:7])
            elif mode == "ptr_loop":
                # answer name is a compression pointer to itself (RFC 1035 §4.1.4 forbids loops)
                b = bytearray(bytes(DNS(id=q.id, qr=1, qd=q.qd, ancount=1)))
                off = len(b)
                b += struct.pack("!HHHIH", 0xC000 | off, 1, 1, 60, 4) + bytes([198, 18, 0, 66])
                replies.append(bytes(b))
            elif mode == "nxdomain":
                replies.append(bytes(DNS(id=q.id, qr=1, aa=1, rcode=3, qd=q.qd)))
            elif mode == "servfail":
                replies.append(bytes(DNS(id=q.id, qr=1, rcode=2, qd=q.qd)))
            elif mode == "garbage":
                replies.append(bytes(random.Random(n).randbytes(40)))
            elif mode == "not_response":
                replies.append(bytes(DNS(id=q.id, qr=0, qd=q.qd, an=good_rr)))
            elif mode == "wrong_port":
                replies.append(("wrong_port", bytes(good)))
            elif mode == "wrong_source":  # right id and port, but not from the server queried
                replies.append(("wrong_source", bytes(DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=1, qd=q.qd,
                                                          an=DNSRR(rrname=q.qd.qname, type="A", ttl=60,
                                                                   rdata="198.18.0.66")))))
            elif mode == "silent":
                pass
        entry["answered"] = list(d["modes"])
        for r in replies:
            sport = 53
            dport = p[UDP].sport
            src_ip = srv["ip"]
            if isinstance(r, tuple):
                if r[0] == "wrong_port":
                    dport = dport ^ 1
                else:
                    src_ip = "198.18.0.66"
                r = r[1]
            f = (Ether(src=srv["mac"], dst=p.src) / IP(src=src_ip, dst=p[IP].src) /
                 UDP(sport=sport, dport=dport) / Raw(r))
            self._tx(bytes(f))
            time.sleep(0.01)

    # ------------------------------------------------------------------ summaries
    def summary(self, i):
        s = self.summ.get(i)
        if s is None:
            t, raw = self.frames[i]
            s = summarize(raw)
            s["t"] = t
            s["i"] = i
            self.summ[i] = s
        return s

    def wait_for(self, match, since, timeout, count=1, stop_match=None, on_match=None):
        """Summaries of frames after `since` matching `match`, waiting until `count` or timeout.
        on_match(summary) runs as each match arrives (TCP: acknowledge at once)."""
        deadline = time.monotonic() + timeout
        found = []
        i = since
        while True:
            with self.cond:
                n = len(self.frames)
            while i < n:
                s = self.summary(i)
                i += 1
                if matches(s, match):
                    found.append(s)
                    if on_match:
                        on_match(s)
                    if count and len(found) >= count:
                        return found
                if stop_match and matches(s, stop_match):
                    return found
            left = deadline - time.monotonic()
            if left <= 0:
                return found
            with self.cond:
                if len(self.frames) == n:
                    self.cond.wait(min(left, 0.05))

    def mark(self):
        with self.cond:
            return len(self.frames)

    # ------------------------------------------------------------------ building
    def build(self, spec):
        """spec: {"raw_hex": ...} or {"layers": [[name, fields], ...], "host": n, "patch": [[off, hex]]}.
        Ether/IP/IPv6 get the host's and the stack's addresses unless given."""
        if "raw_hex" in spec:
            return bytes.fromhex(spec["raw_hex"])
        h = HOSTS[spec.get("host", 1) - 1]
        pkt = None
        for name, fields in spec["layers"]:
            f = {k: (bytes.fromhex(v["hex"]) if isinstance(v, dict) and "hex" in v else v)
                 for k, v in fields.items()}
            if name == "Ether":
                f.setdefault("src", h["mac"])
                f.setdefault("dst", self.dut_mac)
                layer = Ether(**f)
            elif name == "IP":
                f.setdefault("src", h["ip"])
                f.setdefault("dst", self.dut_ip)
                if "options_hex" in f:
                    f["options"] = [IPOption(bytes.fromhex(f.pop("options_hex")))]
                layer = IP(**f)
            elif name == "IPv6":
                f.setdefault("src", h["ll"])
                f.setdefault("dst", self.dut_ll)
                layer = IPv6(**f)
            elif name == "TCP":
                if "options" in f:
                    f["options"] = tcp_opts(f["options"])
                layer = TCP(**f)
            elif name == "Raw":
                layer = Raw(bytes.fromhex(f["load_hex"]) if "load_hex" in f else f.get("load", "").encode())
            else:
                cls = globals()[name]
                layer = cls(**f)
            pkt = layer if pkt is None else pkt / layer
        if pkt is not None and not isinstance(pkt, Ether):
            pkt = Ether(src=h["mac"], dst=self.dut_mac) / pkt
        raw = bytearray(bytes(pkt))
        for off, hx in spec.get("patch", []):
            b = bytes.fromhex(hx)
            raw[off:off + len(b)] = b
        if spec.get("ip_opts_hex"):
            # Raw IPv4 options (malformed ones too) spliced in after the 20-byte header.
            opt = bytes.fromhex(spec["ip_opts_hex"])
            ip = raw[14:34]
            rest = raw[34:]
            ip[0] = 0x40 | ((20 + len(opt)) // 4)
            ip[2:4] = struct.pack("!H", struct.unpack("!H", bytes(ip[2:4]))[0] + len(opt))
            ip[10:12] = b"\0\0"
            hdr = bytes(ip) + opt
            ip[10:12] = struct.pack("!H", inet_sum(hdr))
            raw = bytearray(raw[:14] + ip + opt + rest)
        if spec.get("fix_l4_csum"):
            fix_l4_checksum(raw)
        if spec.get("append_hex"):
            raw += bytes.fromhex(spec["append_hex"])  # after the datagram: link-layer padding
        if spec.get("truncate") is not None:
            raw = raw[:spec["truncate"]]
        if spec.get("fragment"):
            frags = fragment(Ether(bytes(raw))[IP], fragsize=spec["fragment"])
            eth = Ether(bytes(raw))
            return [bytes(Ether(src=eth.src, dst=eth.dst) / fr) for fr in frags]
        return bytes(raw)

    def send_frames(self, specs, gap=0.0):
        for sp in specs:
            b = self.build(sp)
            for raw in (b if isinstance(b, list) else [b]):
                self._tx(raw)
                if gap:
                    time.sleep(gap)

    # ------------------------------------------------------------------ TCP
    def _tcp_frame(self, c, flags, seq, ack, window, data=b"", opts=None, urgptr=0):
        h = HOSTS[c["host"] - 1]
        if c["v6"]:
            ip = IPv6(src=h["ll"], dst=self.dut_ll)
        else:
            ip = IP(src=h["ip"], dst=self.dut_ip)
        t = TCP(sport=c["sport"], dport=c["dport"], flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                window=window, urgptr=urgptr, options=tcp_opts(opts or []))
        return bytes(Ether(src=h["mac"], dst=self.dut_mac) / ip / t / Raw(data)) if data else \
            bytes(Ether(src=h["mac"], dst=self.dut_mac) / ip / t)

    def _conn_match(self, c):
        return {"proto": "tcp", "sport": c["dport"], "dport": c["sport"]}

    def _absorb(self, c, segs, auto_ack=False):
        """Advance rcv_nxt over in-order data/FIN from the stack; ACK it if asked."""
        for s in segs:
            seg_len = s["len"] + ("S" in s["flags"]) + ("F" in s["flags"])
            if seg_len and s["seq"] == c["rcv_nxt"]:
                c["rcv_nxt"] = (c["rcv_nxt"] + seg_len) & 0xFFFFFFFF
                if "F" in s["flags"]:
                    c["fin_rcvd"] = True
                if auto_ack:
                    self._tx(self._tcp_frame(c, "A", c["snd_nxt"], c["rcv_nxt"], c["window"]))
            if "R" in s["flags"]:
                c["open"] = False

    def cmd_tcp_connect(self, a):
        cid = self.next_conn
        self.next_conn += 1
        c = {"id": cid, "host": a.get("host", 1), "v6": a.get("v6", False),
             "sport": a.get("sport") or random.randrange(20000, 60000), "dport": a.get("dport", 80),
             "iss": a.get("iss", random.randrange(1 << 32)), "window": a.get("window", 65535), "open": True,
             "fin_rcvd": False}
        c["snd_nxt"] = c["iss"]
        c["rcv_nxt"] = 0
        self.conns[cid] = c
        m = self.mark()
        data = a.get("data", "").encode()
        self._tx(self._tcp_frame(c, "S", c["iss"], 0, c["window"], data, a.get("opts", [["MSS", 1460]])))
        c["snd_nxt"] = (c["iss"] + 1 + len(data)) & 0xFFFFFFFF
        got = self.wait_for(dict(self._conn_match(c)), m, a.get("timeout", 3), count=1)
        synack = got[0] if got else None
        if synack and "S" in synack["flags"] and "A" in synack["flags"]:
            c["rcv_nxt"] = (synack["seq"] + 1) & 0xFFFFFFFF
            c["dut_iss"] = synack["seq"]
            if not a.get("no_ack"):
                self._tx(self._tcp_frame(c, "A", c["snd_nxt"], c["rcv_nxt"], c["window"]))
        else:
            c["open"] = False
        return {"conn": cid, "synack": synack, "sport": c["sport"], "iss": c["iss"]}

    def cmd_tcp_send(self, a):
        c = self.conns[a["conn"]]
        data = bytes.fromhex(a["data_hex"]) if "data_hex" in a else a.get("data", "").encode()
        flags = a.get("flags", "PA" if data else "A")
        seq = a["seq"] if "seq" in a else c["snd_nxt"] + a.get("seq_off", 0)
        ack = a["ack"] if "ack" in a else c["rcv_nxt"] + a.get("ack_off", 0)
        window = a.get("window", c["window"])
        c["window"] = window  # later (auto) ACKs advertise the same window
        m = self.mark()
        self._tx(self._tcp_frame(c, flags, seq, ack, window, data, a.get("opts"), a.get("urgptr", 0)))
        if a.get("advance", True) and "seq" not in a and a.get("seq_off", 0) == 0:
            c["snd_nxt"] = (c["snd_nxt"] + len(data) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        if "R" in flags:
            c["open"] = False
        wait = a.get("wait", 1.0)
        auto = a.get("auto_ack", False)
        segs = self.wait_for(self._conn_match(c), m, wait, count=a.get("count", 0) or 0,
                             on_match=lambda s: self._absorb(c, [s], auto))
        return {"segs": segs, "snd_nxt": c["snd_nxt"], "rcv_nxt": c["rcv_nxt"]}

    def cmd_tcp_collect(self, a):
        c = self.conns[a["conn"]]
        since = a.get("since", self.mark())
        stop = dict(self._conn_match(c), flags_has="F") if a.get("until_fin") else None
        auto = a.get("auto_ack", False)
        segs = self.wait_for(self._conn_match(c), since, a.get("timeout", 1.0), count=a.get("count", 0) or 0,
                             stop_match=stop, on_match=lambda s: self._absorb(c, [s], auto))
        return {"segs": segs, "snd_nxt": c["snd_nxt"], "rcv_nxt": c["rcv_nxt"], "fin_rcvd": c["fin_rcvd"]}

    def cmd_tcp_advance(self, a):
        c = self.conns[a["conn"]]
        c["snd_nxt"] = (c["snd_nxt"] + a["n"]) & 0xFFFFFFFF
        return {"snd_nxt": c["snd_nxt"]}

    def cmd_tcp_state(self, a):
        c = self.conns[a["conn"]]
        return {k: c[k] for k in ("snd_nxt", "rcv_nxt", "sport", "dport", "open", "fin_rcvd")}

    def cmd_tcp_rst_all(self, a):
        n = 0
        for c in self.conns.values():
            if c["open"]:
                self._tx(self._tcp_frame(c, "R", c["snd_nxt"], 0, 0))
                c["open"] = False
                n += 1
        return {"reset": n}


# ---------------------------------------------------------------------- helpers
def fix_l4_checksum(raw):
    """Recompute the TCP/UDP checksum of an IPv4 frame in place (after a patch)."""
    ihl = (raw[14] & 0xF) * 4
    total = struct.unpack("!H", bytes(raw[16:18]))[0]
    proto = raw[23]
    l4 = 14 + ihl
    off = {6: 16, 17: 6}.get(proto)
    if off is None:
        return
    seg_len = total - ihl
    raw[l4 + off:l4 + off + 2] = b"\0\0"
    pseudo = bytes(raw[26:34]) + struct.pack("!BBH", 0, proto, seg_len)
    raw[l4 + off:l4 + off + 2] = struct.pack("!H", inet_sum(pseudo + bytes(raw[l4:l4 + seg_len])))


def inet_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac_to_ll(mac):
    b = bytes.fromhex(mac.replace(":", ""))
    eui = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return socket.inet_ntop(socket.AF_INET6, b"\xfe\x80" + b"\0" * 6 + eui)


def tcp_opts(opts):
    out = []
    for o in opts:
        name, val = o[0], (o[1] if len(o) > 1 else None)
        if name in ("NOP", "EOL"):
            out.append((name, None))
        elif name == "SAckOK":
            out.append((name, b""))
        elif name == "Timestamp":
            out.append((name, tuple(val)))
        elif name == "raw":
            out.append((int(val[0]), bytes.fromhex(val[1])))
        else:
            out.append((name, val))
    return out


def matches(s, m):
    for k, v in m.items():
        if k == "flags_has":
            if not all(ch in s.get("flags", "") for ch in v):
                return False
        elif k == "flags_not":
            if any(ch in s.get("flags", "") for ch in v):
                return False
        elif s.get(k) != v:
            return False
    return True


def checksums_ok(p):
    """(IPv4 header checksum ok, L4 checksum ok) by rebuilding with scapy; None where not applicable."""
    ip_ok = l4_ok = None
    try:
        q = p.copy()
        if IP in q:
            q[IP].chksum = None
            ip_ok = bytes(q[IP])[:20] == bytes(p[IP])[:20] if p[IP].ihl == 5 else None
        l4 = None
        for cls in (TCP, UDP, ICMP):
            if cls in q and not isinstance(q[cls], (TCPerror, UDPerror, ICMPerror)):
                l4 = cls
                break
        if l4 is None and IPv6 in q and q[IPv6].nh == 58:
            l4 = type(q[IPv6].payload)
        if l4 is not None and hasattr(q[l4], "chksum") and (l4 is not UDP or p[UDP].chksum != 0):
            orig = p[l4].chksum
            q[l4].chksum = None
            l4_ok = bytes(q[l4])[:8] == bytes(p[l4])[:8] and Ether(bytes(q))[l4].chksum == orig
    except Exception:
        pass
    return ip_ok, l4_ok


def summarize(raw):
    s = {"len_frame": len(raw), "eth_src": raw[6:12].hex(":"), "eth_dst": raw[0:6].hex(":")}
    try:
        p = Ether(raw)
    except Exception:
        s["l2"] = "bad"
        return s
    if ARP in p:
        a = p[ARP]
        s.update(l2="arp", op=int(a.op), hwsrc=a.hwsrc, psrc=a.psrc, hwdst=a.hwdst, pdst=a.pdst)
        return s
    if IP in p:
        ip = p[IP]
        s.update(l2="ip", src=ip.src, dst=ip.dst, ttl=ip.ttl, ip_id=ip.id, ip_flags=int(ip.flags), frag=ip.frag,
                 ip_len=ip.len, ihl=ip.ihl, tos=ip.tos)
        l4 = ip.payload
    elif IPv6 in p:
        ip = p[IPv6]
        s.update(l2="ip6", src=ip.src, dst=ip.dst, hlim=ip.hlim, plen=ip.plen, nh=ip.nh)
        l4 = ip.payload
    else:
        s["l2"] = "other"
        s["ethertype"] = p.type
        return s
    if isinstance(l4, TCP):
        t = l4
        opts = {}
        for o in t.options:
            if isinstance(o, tuple) and o[0] in ("MSS", "WScale", "SAckOK", "Timestamp"):
                opts[o[0]] = list(o[1]) if isinstance(o[1], tuple) else (o[1] if o[1] != b"" else True)
        data = bytes(t.payload)
        if IP in p:
            data = data[:max(0, p[IP].len - p[IP].ihl * 4 - t.dataofs * 4)]
        s.update(proto="tcp", sport=t.sport, dport=t.dport, seq=t.seq, ack=t.ack, flags=str(t.flags),
                 win=t.window, opts=opts, len=len(data), data_hex=data.hex(), urgptr=t.urgptr)
    elif isinstance(l4, UDP):
        u = l4
        s.update(proto="udp", sport=u.sport, dport=u.dport, ulen=u.len, data_hex=bytes(u.payload)[:512].hex())
    elif isinstance(l4, ICMP):
        ic = l4
        s.update(proto="icmp", type=int(ic.type), code=int(ic.code), icmp_id=ic.id, icmp_seq=ic.seq,
                 data_hex=bytes(ic.payload).hex())
        if ic.type in (3, 11, 12):
            s["quoted_hex"] = bytes(ic.payload).hex()
    elif IPv6 in p and ip.nh == 58:
        b = bytes(ip.payload)
        s.update(proto="icmp6", type=b[0], code=b[1])
        if b[0] in (128, 129):
            s.update(icmp_id=struct.unpack("!H", b[4:6])[0], icmp_seq=struct.unpack("!H", b[6:8])[0],
                     data_hex=b[8:].hex())
        elif b[0] in (135, 136):
            s["target"] = socket.inet_ntop(socket.AF_INET6, b[8:24])
            if b[0] == 136:
                s["na_flags"] = b[4] >> 5  # R S O
            s["opts_hex"] = b[24:].hex()
        elif b[0] == 133:
            s["opts_hex"] = b[8:].hex()
        else:
            s["data_hex"] = b[4:].hex()
    else:
        s["proto"] = str(getattr(ip, "proto", getattr(ip, "nh", "?")))
    s["ip_csum_ok"], s["l4_csum_ok"] = checksums_ok(p)
    return s


def main():
    iface, dut_mac, dut_ip = sys.argv[1], sys.argv[2], sys.argv[3]
    ag = Agent(iface, dut_mac, dut_ip)
    print(json.dumps({"ok": True, "ready": True, "dut_ll": ag.dut_ll}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            a = json.loads(line)
            op = a.pop("op")
            if op == "hello":
                r = {"hosts": HOSTS, "dut_ll": ag.dut_ll}
            elif op == "mark":
                r = {"mark": ag.mark()}
            elif op == "send":
                ag.send_frames(a["frames"], a.get("gap", 0.0))
                r = {}
            elif op == "expect":
                r = {"frames": ag.wait_for(a.get("match", {}), a.get("since", 0), a.get("timeout", 1.0),
                                           a.get("count", 1))}
            elif op == "exchange":
                m = ag.mark()
                ag.send_frames(a["frames"], a.get("gap", 0.0))
                r = {"frames": ag.wait_for(a.get("match", {}), m, a.get("timeout", 1.0), a.get("count", 1)),
                     "mark": m}
            elif op == "responders":
                ag.arp_on = a.get("arp", ag.arp_on)
                ag.ndp_on = a.get("ndp", ag.ndp_on)
                r = {}
            elif op == "dhcp_server":
                a.setdefault("server", {"mac": "02:00:00:00:aa:fe", "ip": "198.18.0.254"})
                ag.dhcp = a if a.get("enable", True) else None
                r = {}
            elif op == "dhcp_log":
                r = {"log": ag.dhcp_log[a.get("since", 0):]}
            elif op == "dhcp_wait":
                deadline = time.monotonic() + a.get("timeout", 10)
                with ag.cond:
                    while time.monotonic() < deadline and not [e for e in ag.dhcp_log[a.get("since", 0):]
                                                               if matches(e, a.get("match", {}))]:
                        ag.cond.wait(0.1)
                r = {"log": [e for e in ag.dhcp_log[a.get("since", 0):] if matches(e, a.get("match", {}))]}
            elif op == "dns_server":
                a.setdefault("server", {"mac": "02:00:00:00:aa:fd", "ip": "198.18.0.253"})
                ag.dns = a if a.get("enable", True) else None
                r = {}
            elif op == "dns_log":
                r = {"log": ag.dns_log[a.get("since", 0):]}
            elif op.startswith("tcp_"):
                r = getattr(ag, "cmd_" + op)(a)
            else:
                raise ValueError(f"unknown op {op}")
            r["ok"] = True
        except Exception as e:  # report to the test, keep serving
            import traceback
            r = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        print(json.dumps(r, default=str), flush=True)
    ag.stop = True


if __name__ == "__main__":
    main()
