#!/usr/bin/env python3
"""A stand-in for the eth_basic host demo, used ONLY to validate the e2e tests
themselves while (or when) the real binary is not available:

    ESP_SMOLTCP_DEMO_BIN=tests/e2e/fake_demo.py python3 -m pytest tests/e2e

It speaks the same CLI/stdout/HTTP contract, but the "stack" is the Linux kernel:
the process opens the bed's TAP, unshares a private network namespace, creates a
second TAP there that the kernel owns (with the demo's address), and relays frames
between the two TAPs. On the way in it classifies malformed frames like the real
stack's rx_drops counters and drops them. HTTP is served by Python threads.
Needs root (run by the tests inside the dut namespace); scapy only for DHCP.
"""
import argparse
import ctypes
import fcntl
import hashlib
import ipaddress
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
CLONE_NEWNET = 0x40000000

lock = threading.Lock()
stats = {"rx_frames": 0, "tx_frames": 0, "rx_bytes": 0, "tx_bytes": 0,
         "rx_drops": {k: 0 for k in ("pool_empty", "queue_full", "runt", "bad_ip_header",
                                     "bad_ip_checksum", "bad_l4_header", "bad_l4_checksum")},
         "tx_failures": 0, "rx_pool_high_water": 1, "rx_pool_capacity": 32, "tcp_open": 0,
         "tcp_closed_by_peer": 0, "tcp_aborted": 0}


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def classify(f):
    """None if the frame is fine, else the rx_drops reason."""
    if len(f) < 14:
        return "runt"
    if f[12:14] != b"\x08\x00":
        return None
    ip = f[14:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return "bad_ip_header"
    ihl = (ip[0] & 0xF) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    if ihl < 20 or tot < ihl or tot > len(ip):
        return "bad_ip_header"
    if csum(ip[:ihl]) != 0xFFFF:
        return "bad_ip_checksum"
    frag = struct.unpack("!H", ip[6:8])[0]
    if frag & 0x3FFF:  # fragment: let the kernel reassemble
        return None
    proto, l4 = ip[9], ip[ihl:tot]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, proto, len(l4))
    if proto == 6:
        if len(l4) < 20 or (l4[12] >> 4) * 4 < 20 or (l4[12] >> 4) * 4 > len(l4):
            return "bad_l4_header"
        if csum(pseudo + l4) != 0xFFFF:
            return "bad_l4_checksum"
    elif proto == 17:
        if len(l4) < 8:
            return "bad_l4_header"
        if l4[6:8] != b"\0\0" and csum(pseudo + l4) != 0xFFFF:
            return "bad_l4_checksum"
    elif proto == 1:
        if len(l4) < 8:
            return "bad_l4_header"
        if csum(l4) != 0xFFFF:
            return "bad_l4_checksum"
    return None


def relay(fd_wire, fd_kern):
    while True:
        r, _, _ = select.select([fd_wire, fd_kern], [], [])
        if fd_wire in r:
            f = os.read(fd_wire, 65536)
            with lock:
                stats["rx_frames"] += 1
                stats["rx_bytes"] += len(f)
            reason = classify(f)
            if reason:
                with lock:
                    stats["rx_drops"][reason] += 1
            else:
                os.write(fd_kern, f)
        if fd_kern in r:
            f = os.read(fd_kern, 65536)
            try:
                os.write(fd_wire, f)
                with lock:
                    stats["tx_frames"] += 1
                    stats["tx_bytes"] += len(f)
            except OSError:
                with lock:
                    stats["tx_failures"] += 1


def pattern(n):
    base = bytes(range(251))
    return base * (n // 251) + base[:n % 251]


CHUNK = pattern(251 * 256)  # 64256 bytes, a whole number of periods


def send_pattern(conn, n):
    left = n
    while left:
        k = min(left, len(CHUNK))
        conn.sendall(CHUNK[:k])
        left -= k


def handle(conn):
    with lock:
        stats["tcp_open"] += 1
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = conn.recv(65536)
                if not d:
                    with lock:
                        stats["tcp_closed_by_peer"] += 1
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            hdr = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdr[k.strip().lower()] = v.strip()
            close = hdr.get("connection", "").lower() == "close"
            ch = "Connection: close\r\n" if close else ""
            if method == "GET" and path.startswith("/dl/") and path[4:].isdigit():
                n = int(path[4:])
                t0 = time.monotonic()
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             f"Content-Length: {n}\r\n{ch}\r\n".encode())
                send_pattern(conn, n)
                us = max(1, int((time.monotonic() - t0) * 1e6))
                say(f"dl: {n} bytes in {us} us = {n * 8 / us:.2f} Mbit/s")
            elif method == "POST" and path == "/ul":
                n = int(hdr.get("content-length", "0"))
                h = hashlib.sha256()
                t0 = time.monotonic()
                got = 0
                take = buf[:n]
                buf = buf[n:]
                h.update(take)
                got += len(take)
                while got < n:
                    d = conn.recv(min(1 << 20, n - got))
                    if not d:
                        raise ConnectionAbortedError("eof in body")
                    h.update(d)
                    got += len(d)
                us = max(1, int((time.monotonic() - t0) * 1e6))
                hx = h.hexdigest()
                body = json.dumps({"bytes": n, "sha256": hx}).encode()
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n{ch}\r\n".encode() + body)
                say(f"ul: {n} bytes in {us} us = {n * 8 / us:.2f} Mbit/s sha256={hx}")
            elif method == "GET" and path == "/stats":
                with lock:
                    body = json.dumps(stats).encode()
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n{ch}\r\n".encode() + body)
            else:
                body = b"not found\n"
                conn.sendall(f"HTTP/1.1 404 Not Found\r\nContent-Length: {len(body)}\r\n{ch}\r\n"
                             .encode() + body)
            if close and os.environ.get("FAKE_DEMO_RST_ON_CLOSE"):  # mutation check
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if close:
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(5)
                while conn.recv(65536):
                    pass
                return
    except (ConnectionResetError, BrokenPipeError):
        with lock:
            stats["tcp_aborted"] += 1
    except (ConnectionAbortedError, socket.timeout):
        with lock:
            stats["tcp_closed_by_peer"] += 1
    finally:
        conn.close()


def serve(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def dhcp(iface, mac):
    from scapy.all import conf, Ether, IP, UDP, BOOTP, DHCP, srp1
    conf.checkIPaddr = False
    xid = random.randrange(1 << 32)
    ch = bytes.fromhex(mac.replace(":", ""))
    base = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67))
    for _ in range(10):
        off = srp1(base / BOOTP(chaddr=ch, xid=xid, flags=0x8000)
                   / DHCP(options=[("message-type", "discover"), "end"]),
                   iface=iface, timeout=2, verbose=False)
        if off is None:
            continue
        yi = off[BOOTP].yiaddr
        sid = dict(o for o in off[DHCP].options if isinstance(o, tuple))["server_id"]
        ack = srp1(base / BOOTP(chaddr=ch, xid=xid, flags=0x8000)
                   / DHCP(options=[("message-type", "request"), ("requested_addr", yi),
                                   ("server_id", sid), "end"]),
                   iface=iface, timeout=2, verbose=False)
        if ack is None:
            continue
        o = dict(x for x in ack[DHCP].options if isinstance(x, tuple))
        plen = ipaddress.IPv4Network(f"0.0.0.0/{o['subnet_mask']}").prefixlen
        return ack[BOOTP].yiaddr, plen, o.get("router")
    raise SystemExit("fake_demo: no DHCP lease")


def sh(*argv):
    subprocess.run(argv, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tap", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--static")
    ap.add_argument("--gw")
    ap.add_argument("--dns")
    a = ap.parse_args()

    fd_wire = open_tap(a.tap)
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
        raise SystemExit(f"unshare: errno {ctypes.get_errno()}")
    fd_kern = open_tap("tapk")
    mac = "02:e5:57:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(3))
    with open("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w") as f:
        f.write("1")
    with open("/proc/sys/net/ipv6/conf/all/disable_ipv6", "w") as f:
        f.write("1")
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "set", "tapk", "address", mac)
    sh("ip", "link", "set", "tapk", "up")
    threading.Thread(target=relay, args=(fd_wire, fd_kern), daemon=True).start()
    if a.static:
        addr, plen = a.static.split("/")
        plen, gw = int(plen), a.gw
    else:
        addr, plen, gw = dhcp("tapk", mac)
    sh("ip", "addr", "add", f"{addr}/{plen}", "dev", "tapk")
    if gw:
        sh("ip", "route", "add", "default", "via", gw)
    threading.Thread(target=serve, args=(a.port,), daemon=True).start()
    time.sleep(0.1)
    say(f"ip: {addr}/{plen} gw {gw}")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *x: done.set())
    signal.signal(signal.SIGINT, lambda *x: done.set())
    done.wait()
    with lock:
        say("stats: " + json.dumps(stats))
    os._exit(0)


if __name__ == "__main__":
    main()
