#!/usr/bin/env python3
"""Minimal stand-in for a stack on the TAP, used only to validate the test bed.

Run inside the dut namespace:  tap_responder.py TAPNAME IP MAC SECONDS
Opens TAPNAME (IFF_TAP|IFF_NO_PI), answers ARP requests for IP and ICMP echo
requests to IP, prints "ready" once the TAP is open and a JSON summary on exit.
Stdlib only; exits after SECONDS or on SIGTERM.
"""
import fcntl
import json
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main() -> int:
    tap, ip, mac, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    myip = bytes(int(x) for x in ip.split("."))
    mymac = bytes.fromhex(mac.replace(":", ""))
    fd = open_tap(tap)
    stats = {"rx": 0, "arp_replies": 0, "echo_replies": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        f = os.read(fd, 65536)
        stats["rx"] += 1
        if len(f) < 14:
            continue
        dst, src, et = f[0:6], f[6:12], struct.unpack("!H", f[12:14])[0]
        if et == 0x0806 and len(f) >= 42:
            op = struct.unpack("!H", f[20:22])[0]
            spa, tpa = f[28:32], f[38:42]
            if op == 1 and tpa == myip:
                arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mymac + myip + f[22:28] + spa
                os.write(fd, src + mymac + b"\x08\x06" + arp)
                stats["arp_replies"] += 1
        elif et == 0x0800 and len(f) >= 34 and dst == mymac:
            ihl = (f[14] & 0xF) * 4
            tot = struct.unpack("!H", f[16:18])[0]
            iph = f[14:14 + ihl]
            if iph[9] != 1 or iph[16:20] != myip or csum(iph) != 0:
                continue
            icmp = f[14 + ihl:14 + tot]
            if len(icmp) < 8 or icmp[0] != 8 or csum(icmp) != 0:
                continue
            rep = b"\x00\x00\x00\x00" + icmp[4:]
            rep = rep[:2] + struct.pack("!H", csum(rep)) + rep[4:]
            h = bytearray(iph)
            h[12:16], h[16:20] = iph[16:20], iph[12:16]
            h[8] = 64
            h[10:12] = b"\0\0"
            h[10:12] = struct.pack("!H", csum(bytes(h)))
            os.write(fd, src + mymac + b"\x08\x00" + bytes(h) + rep)
            stats["echo_replies"] += 1
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
