#!/usr/bin/env python3
"""Client-side helpers that run inside the peer namespace.

    ip netns exec esst-peer-X python3 peer_tools.py CMD 'JSON-ARGS'

Each command prints one JSON object on stdout. Commands:

  http      several requests on one TCP connection, byte-exact accounting
  partial   start a download, read a little, then close (FIN) or reset (RST)
  badframes send malformed Ethernet/IPv4 frames with scapy (sendp on an iface)

Every socket operation has a timeout; nothing here runs unbounded.
"""
import errno
import hashlib
import json
import random
import socket
import struct
import sys
import time


# ------------------------------------------------------------------ HTTP
def _read_until(sock, buf: bytearray, marker: bytes, limit: int = 65536) -> int:
    while True:
        i = buf.find(marker)
        if i >= 0:
            return i
        if len(buf) > limit:
            raise ValueError("header too long")
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed while reading headers")
        buf += chunk


def _read_response(sock, buf: bytearray, method: str) -> dict:
    i = _read_until(sock, buf, b"\r\n\r\n")
    head = bytes(buf[:i]).decode("latin-1")
    del buf[:i + 4]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    h = hashlib.sha256()
    n = 0
    if method == "HEAD" or status in (204, 304):
        length = 0
    elif "content-length" in headers:
        length = int(headers["content-length"])
    else:
        length = None  # read to EOF
    body_keep = bytearray()
    while length is None or n < length:
        if buf:
            take = bytes(buf) if length is None else bytes(buf[:length - n])
            del buf[:len(take)]
        else:
            take = sock.recv(1 << 20)
            if not take:
                if length is None:
                    break
                raise EOFError(f"EOF after {n} of {length} body bytes")
            if length is not None and len(take) > length - n:
                buf += take[length - n:]
                take = take[:length - n]
        h.update(take)
        n += len(take)
        if len(body_keep) < 4096:
            body_keep += take[:4096 - len(body_keep)]
    return {"status": status, "status_line": lines[0], "headers": headers, "body_len": n,
            "body_sha256": h.hexdigest(), "body_head": body_keep.decode("latin-1")}


def pattern(n: int) -> bytes:
    base = bytes(range(251))
    return base * (n // 251) + base[:n % 251]


def cmd_http(a: dict) -> dict:
    """a: host, port, requests: [{method, path, headers{}, body_len, body_seed}],
    timeout, wait_eof (after the last response, wait for the server to close)."""
    t = a.get("timeout", 20)
    s = socket.create_connection((a["host"], a.get("port", 80)), timeout=t)
    s.settimeout(t)
    buf = bytearray()
    out = {"responses": []}
    for rq in a["requests"]:
        method = rq.get("method", "GET")
        body = b""
        if rq.get("body_len") is not None:
            body = random.Random(rq.get("body_seed", 1)).randbytes(rq["body_len"])
        hdrs = {"Host": a["host"]}
        hdrs.update(rq.get("headers", {}))
        if method in ("POST", "PUT"):
            hdrs["Content-Length"] = str(len(body))
        req = f"{method} {rq['path']} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        t0 = time.monotonic()
        s.sendall(req.encode() + body)
        r = _read_response(s, buf, method)
        r["secs"] = time.monotonic() - t0
        if body:
            r["sent_sha256"] = hashlib.sha256(body).hexdigest()
        out["responses"].append(r)
    if a.get("wait_eof"):
        out["leftover"] = len(buf)
        try:
            data = s.recv(65536)
            out["eof"] = "eof" if data == b"" else "data"
        except ConnectionResetError:
            out["eof"] = "reset"
        except socket.timeout:
            out["eof"] = "timeout"
        except OSError as e:
            out["eof"] = "error:" + errno.errorcode.get(e.errno, str(e.errno))
    s.close()
    return out


def cmd_partial(a: dict) -> dict:
    """a: host, port, path, read_bytes, mode ('rst' | 'close' | 'fin')."""
    t = a.get("timeout", 20)
    s = socket.create_connection((a["host"], a.get("port", 80)), timeout=t)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(f"GET {a['path']} HTTP/1.1\r\nHost: {a['host']}\r\n\r\n".encode())
    got = 0
    while got < a["read_bytes"]:
        d = s.recv(min(65536, a["read_bytes"] - got))
        if not d:
            break
        got += len(d)
    mode = a.get("mode", "rst")
    if mode == "rst":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    elif mode == "fin":
        # Half-close, stop reading, then close after a moment (the kernel RSTs if
        # unread data remains — that is fine, the server must survive either).
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.3)
        s.close()
    else:
        s.close()
    return {"read": got, "mode": mode}


# ------------------------------------------------------------------ bad frames
def _flip16(raw: bytearray, off: int, udp: bool = False) -> None:
    old = struct.unpack("!H", raw[off:off + 2])[0]
    new = old ^ 0x00FF
    if new in (0, 0xFFFF) or {old, new} == {0, 0xFFFF}:
        new = old ^ 0x0F00
    raw[off:off + 2] = struct.pack("!H", new)


def cmd_badframes(a: dict) -> dict:
    """a: iface, dst_mac, dst_ip, src_ip, counts {kind: n}, seed, stats_url (optional:
    GET it before and after each kind and return the snapshots).
    kinds: garbage, trunc_ip, bad_ip_csum, trunc_tcp, bad_tcp_csum, bad_udp_csum,
    bad_icmp_csum."""
    from scapy.all import Ether, IP, TCP, UDP, ICMP, Raw, sendp, get_if_hwaddr  # noqa

    rnd = random.Random(a.get("seed", 1))
    iface = a["iface"]
    src_mac = get_if_hwaddr(iface)
    dmac, dip, sip = a["dst_mac"], a["dst_ip"], a["src_ip"]
    eth = Ether(dst=dmac, src=src_mac)
    frames = {}

    def ipv4(proto_layer):
        return bytearray(bytes(eth / IP(src=sip, dst=dip, id=rnd.randrange(65536)) / proto_layer))

    for kind, n in a["counts"].items():
        lst = []
        for i in range(n):
            if kind == "garbage":
                # Random bytes after a random (non-IP, non-ARP) header, some very short,
                # some with EtherType IPv4/ARP/IPv6 and random junk behind it.
                ln = rnd.choice([14, 15, 20, 33, 60, 64, 100, 500, 1514])
                body = bytearray(rnd.randbytes(ln))
                body[0:6] = bytes.fromhex(dmac.replace(":", "")) if i % 2 else b"\xff" * 6
                if i % 3 == 0:
                    body[12:14] = rnd.choice([b"\x08\x00", b"\x08\x06", b"\x86\xdd"])
                lst.append(bytes(body))
            elif kind == "trunc_ip":
                raw = ipv4(TCP(sport=40000 + i, dport=80, flags="S"))
                # cut inside the 20-byte IPv4 header (14 + 1..19 bytes)
                lst.append(bytes(raw[:14 + 1 + (i % 19)]))
            elif kind == "bad_ip_csum":
                raw = ipv4(ICMP(id=0x4242, seq=i) / Raw(b"x" * 16))
                _flip16(raw, 14 + 10)
                lst.append(bytes(raw))
            elif kind == "trunc_tcp":
                # Valid IPv4 header (correct checksum) announcing protocol TCP but
                # carrying fewer than 20 bytes of TCP header.
                tl = 1 + (i % 19)
                raw = bytearray(bytes(eth / IP(src=sip, dst=dip, proto=6, id=i) / Raw(rnd.randbytes(tl))))
                lst.append(bytes(raw))
            elif kind == "bad_tcp_csum":
                raw = ipv4(TCP(sport=41000 + i, dport=80, flags="S", seq=rnd.randrange(1 << 32)))
                _flip16(raw, 14 + 20 + 16)
                lst.append(bytes(raw))
            elif kind == "bad_udp_csum":
                raw = ipv4(UDP(sport=42000 + i, dport=9999) / Raw(b"hello-udp"))
                _flip16(raw, 14 + 20 + 6, udp=True)
                lst.append(bytes(raw))
            elif kind == "bad_icmp_csum":
                raw = ipv4(ICMP(id=0x4343, seq=i) / Raw(b"y" * 24))
                _flip16(raw, 14 + 20 + 2)
                lst.append(bytes(raw))
            else:
                raise ValueError(f"unknown kind {kind}")
        frames[kind] = lst
    sent, snapshots = {}, {}
    stats_url = a.get("stats_url")
    for kind, lst in frames.items():
        before = _get_json(stats_url) if stats_url else None
        sendp([Raw(f) for f in lst], iface=iface, verbose=False, inter=a.get("gap", 0.002))
        sent[kind] = len(lst)
        if stats_url:
            time.sleep(a.get("settle", 0.3))
            snapshots[kind] = {"before": before, "after": _get_json(stats_url)}
    return {"sent": sent, "src_mac": src_mac, "stats": snapshots}


def _get_json(url: str) -> dict:
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main() -> int:
    cmd = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    fn = {"http": cmd_http, "partial": cmd_partial, "badframes": cmd_badframes}[cmd]
    try:
        res = fn(args)
        res["ok"] = True
    except Exception as e:  # report, don't hide: the test decides
        res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
