#!/usr/bin/env python3
"""Load and abuse clients that run inside the peer namespace.

    ip netns exec esst-peer-X python3 peer_load.py CMD 'JSON-ARGS'

Prints one JSON object on stdout. Every command is bounded in count and in time.

  churn      N x (connect, GET, read, close) — client closes first, or the server does
  zerowin    request a big download and never read (the receive window closes)
  slowsend   send a request one byte per interval (slowloris)
  exhaust    open up to N idle connections and hold them; report what connected
  rawflood   send prebuilt Ethernet frames (ARP, UDP, ICMP) at a rate via AF_PACKET
"""
import errno
import json
import random
import socket
import struct
import sys
import time


def _err(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def _http_get(s: socket.socket, host: str, path: str, close: bool) -> int:
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
    s.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError("eof in headers")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            raise EOFError("eof in body")
        body += d
    if status == 200 and path.startswith("/dl/"):
        n = int(path[4:])
        want = bytes(i % 251 for i in range(n))
        if body[:n] != want:
            raise ValueError("body mismatch")
    return status


def cmd_churn(a):
    host, port, n = a["host"], a.get("port", 80), a["n"]
    path = a.get("path", "/dl/64")
    server_close = a.get("mode", "client_close") == "server_close"
    t_end = time.monotonic() + a.get("max_seconds", 120)
    ok, errs, statuses, lat = 0, {}, {}, []
    t0 = time.monotonic()
    done = 0
    for i in range(n):
        if time.monotonic() > t_end:
            break
        t = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.get("timeout", 5))
        phase = "connect"
        try:
            s.connect((host, port))
            phase = "request"
            st = _http_get(s, host, path, server_close)
            statuses[st] = statuses.get(st, 0) + 1
            if server_close:
                # Wait for the server's FIN so the next cycle starts on a closed socket.
                s.recv(1)
            if st == 200:
                ok += 1
            lat.append(time.monotonic() - t)
        except Exception as e:  # counted, the loop goes on
            k = phase + ":" + _err(e)
            errs[k] = errs.get(k, 0) + 1
            if a.get("backoff_on_error"):
                time.sleep(a["backoff_on_error"])
        finally:
            s.close()
        done += 1
    el = time.monotonic() - t0
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else None
    return {"cycles": done, "ok": ok, "errors": errs, "statuses": {str(k): v for k, v in statuses.items()},
            "seconds": round(el, 2), "per_s": round(done / el, 1) if el else 0,
            "lat_ms_p50": pct(0.5), "lat_ms_p99": pct(0.99), "lat_ms_max": pct(1.0)}


def cmd_zerowin(a):
    """Connect, ask for a big download, read `read_first` bytes, then stop reading
    for `hold` s (the window closes; the server's send blocks), then reset."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((a["host"], a.get("port", 80)))
    s.sendall(f"GET /dl/{a.get('size', 100_000_000)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = 0
    while got < a.get("read_first", 1000):
        d = s.recv(4096)
        if not d:
            break
        got += len(d)
    time.sleep(a.get("hold", 10))
    # How much did the server push into our (small) buffer meanwhile?
    s.setblocking(False)
    buffered = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            buffered += len(d)
    except BlockingIOError:
        pass
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return {"read_first": got, "buffered_after_hold": buffered}


def cmd_slowsend(a):
    """Send a request header one byte every `interval` s for `duration` s, never finishing
    it, then close. Reports whether the server closed on us first."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((a["host"], a.get("port", 80)))
    req = b"GET /dl/10 HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 10000
    t_end = time.monotonic() + a.get("duration", 10)
    sent, outcome = 0, "held"
    while time.monotonic() < t_end:
        try:
            s.send(req[sent:sent + 1])
            sent += 1
        except OSError as e:
            outcome = "server closed: " + _err(e)
            break
        time.sleep(a.get("interval", 1.0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return {"sent": sent, "outcome": outcome}


def cmd_exhaust(a):
    """Open up to n connections (each sends nothing), hold them `hold` s, close all.
    Each is classified: connected (handshake done), refused (RST), timeout."""
    socks, res = [], {}
    for i in range(a["n"]):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.get("connect_timeout", 3))
        try:
            s.connect((a["host"], a.get("port", 80)))
            k = "connected"
            socks.append(s)
        except Exception as e:
            k = _err(e)
            s.close()
        res[k] = res.get(k, 0) + 1
    # What does the server do with the idle ones? (503 + close beyond max_clients.)
    early = {}
    time.sleep(min(1.0, a.get("hold", 5)))
    for s in socks:
        s.setblocking(False)
        try:
            d = s.recv(4096)
            k = "closed" if not d else ("503" if b" 503 " in d[:16] else "data")
        except BlockingIOError:
            k = "open"
        except Exception as e:
            k = _err(e)
        early[k] = early.get(k, 0) + 1
    time.sleep(max(0.0, a.get("hold", 5) - 1.0))
    for s in socks:
        s.close()
    return {"attempts": a["n"], "result": res, "after_1s": early}


def _mac(s):
    return bytes.fromhex(s.replace(":", ""))


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", _csum(h)) + h[12:]
    return h + payload


def cmd_rawflood(a):
    """Frames at `pps` (0: as fast as possible) for at most `seconds` and `count` frames.
    kind arp:  who-has dst_ip from random senders in 198.18.0.0/15 (random MACs)
    kind udp:  UDP to dst_ip:port with `size` bytes of payload
    kind icmp: echo requests of `size` bytes"""
    iface, kind = a["iface"], a["kind"]
    rnd = random.Random(a.get("seed", 1))
    src_mac = _mac(open(f"/sys/class/net/{iface}/address").read().strip())
    dst_mac = _mac(a.get("dst_mac", "ff:ff:ff:ff:ff:ff"))
    frames = []
    for i in range(256):
        if kind == "arp":
            smac = bytes([0x02, 0xee, rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), i])
            sip = socket.inet_aton(f"198.{18 + (i & 1)}.{rnd.randrange(1, 255)}.{rnd.randrange(1, 255)}")
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, smac, sip, b"\0" * 6,
                              socket.inet_aton(a["dst_ip"]))
            frames.append(b"\xff" * 6 + smac + b"\x08\x06" + arp)
        elif kind == "udp":
            pl = bytes(a.get("size", 32))
            udp = struct.pack("!HHHH", 40000 + i, a.get("port", 9), 8 + len(pl), 0) + pl
            frames.append(dst_mac + src_mac + b"\x08\x00" + _ipv4(a["src_ip"], a["dst_ip"], 17, udp, i))
        elif kind == "icmp":
            pl = bytes(a.get("size", 56))
            icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5151, i) + pl
            icmp = icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:]
            frames.append(dst_mac + src_mac + b"\x08\x00" + _ipv4(a["src_ip"], a["dst_ip"], 1, icmp, i))
        else:
            raise ValueError(kind)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    pps, count, seconds = a.get("pps", 0), a.get("count", 100000), a.get("seconds", 10)
    t0 = time.monotonic()
    t_end = t0 + seconds
    sent, enobufs = 0, 0
    while sent < count:
        now = time.monotonic()
        if now > t_end:
            break
        due = min(count, int((now - t0) * pps) + 1) if pps else min(count, sent + 64)
        if sent >= due:
            time.sleep(0.0005)
            continue
        while sent < due:
            try:
                s.send(frames[sent & 255])
                sent += 1
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                enobufs += 1
                time.sleep(0.0005)
                break
    el = time.monotonic() - t0
    return {"kind": kind, "sent": sent, "seconds": round(el, 2), "pps": round(sent / el) if el else 0,
            "enobufs": enobufs}


def main() -> int:
    cmd = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    fn = {"churn": cmd_churn, "zerowin": cmd_zerowin, "slowsend": cmd_slowsend,
          "exhaust": cmd_exhaust, "rawflood": cmd_rawflood}[cmd]
    try:
        res = fn(args)
        res["ok_run"] = True
    except Exception as e:
        res = {"ok_run": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
