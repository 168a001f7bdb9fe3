"""Misbehaving NTP servers for tests/e2e/test_sntp.py, run in the peer namespace.

    python3 ntp_bad_server.py ADDR '{"1231": "kod_rate", "1232": "wrong_mode", ...}'

One UDP socket per port, each answering every request in one bad way:
  kod_rate / kod_deny / kod_rstr  kiss-o'-death (stratum 0, LI 3, refid RATE/DENY/RSTR)
  wrong_mode    mode 3 (a client's packet) with the right origin
  bad_origin    a well-formed reply whose origin is not the request's transmit timestamp
  zero_xmt      transmit timestamp 0
  unsync        leap indicator 3 (clock not synchronised), stratum 2
  silent        no reply at all (and no ICMP error: the port is bound)
  good          a correct stratum-2 reply from this host's clock
Prints "ready" once bound, then one JSON line per request received.
"""
from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time

NTP_UNIX = 2208988800


def ntp_now() -> int:
    t = time.time()
    return ((int(t) + NTP_UNIX) << 32) | int((t % 1) * (1 << 32))


def reply(behaviour: str, req: bytes) -> bytes | None:
    if behaviour == "silent" or len(req) < 48:
        return None
    xmt = struct.unpack("!Q", req[40:48])[0]
    li, vn, mode, stratum, refid = 0, 4, 4, 2, b"\xc6\x12\x00\x01"
    org, rec, out = xmt, ntp_now(), ntp_now()
    if behaviour.startswith("kod_"):
        li, stratum, refid = 3, 0, behaviour[4:].upper().encode()
    elif behaviour == "wrong_mode":
        mode = 3
    elif behaviour == "bad_origin":
        org = xmt ^ 0xFFFF
    elif behaviour == "zero_xmt":
        out = 0
    elif behaviour == "unsync":
        li = 3
    first = (li << 6) | (vn << 3) | mode
    return struct.pack("!BBbbII4sQQQQ", first, stratum, 6, -20, 0, 0, refid, 0, org, rec, out)


def main() -> None:
    addr = sys.argv[1]
    ports = {int(p): b for p, b in json.loads(sys.argv[2]).items()}
    socks = {}
    for port, behaviour in ports.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        socks[s] = (port, behaviour)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select(list(socks), [], [], 1.0)
        for s in r:
            data, peer = s.recvfrom(2048)
            port, behaviour = socks[s]
            print(json.dumps({"port": port, "behaviour": behaviour, "from": peer[0], "len": len(data)}),
                  flush=True)
            out = reply(behaviour, data)
            if out is not None:
                s.sendto(out, peer)


if __name__ == "__main__":
    main()
