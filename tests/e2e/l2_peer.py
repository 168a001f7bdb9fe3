"""Raw Ethernet frames from the peer namespace for tests/e2e/test_l2tap.py.

    python3 l2_peer.py send IFACE DUT_MAC     scapy: LLDP and custom-EtherType frames, in a
                                              fixed interleaved order; prints one JSON line
                                              per frame sent ({"type", "hex"})
    python3 l2_peer.py flood IFACE DUT_MAC SECONDS [TYPE]
                                              as many TYPE (0x88B5) frames as a raw socket
                                              sends in SECONDS or until SIGTERM; then prints
                                              {"sent": N, "seconds": S, "pps": R}
"""
from __future__ import annotations

import json
import signal
import socket
import struct
import sys
import time

LLDP_MCAST = "01:80:c2:00:00:0e"
CUSTOM = 0x88B5
UNTAPPED = 0x88B6


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def frames(iface: str, dut_mac: str) -> list:
    from scapy.all import Ether, Raw, get_if_hwaddr  # noqa: E402
    from scapy.contrib.lldp import (LLDPDUChassisID, LLDPDUEndOfLLDPDU, LLDPDUPortID,  # noqa: E402
                                    LLDPDUSystemName, LLDPDUTimeToLive)
    src = get_if_hwaddr(iface)
    out = []

    def lldp(port: str):
        return (Ether(dst=LLDP_MCAST, src=src, type=0x88CC)
                / LLDPDUChassisID(subtype=4, id=src)
                / LLDPDUPortID(subtype=5, id=port.encode())
                / LLDPDUTimeToLive(ttl=120)
                / LLDPDUSystemName(system_name=b"esst-peer")
                / LLDPDUEndOfLLDPDU())

    def custom(seq: int, size: int, dst: str = dut_mac, etype: int = CUSTOM):
        body = struct.pack("!I", seq) + bytes((seq * 7 + i) & 0xFF for i in range(size))
        return Ether(dst=dst, src=src, type=etype) / Raw(body)

    out.append(lldp("vp-1"))
    out.append(custom(1, 46))
    out.append(custom(2, 1400))
    out.append(custom(100, 80, etype=UNTAPPED))       # not tapped: must not show up
    out.append(lldp("vp-2"))
    out.append(custom(3, 10, dst="ff:ff:ff:ff:ff:ff"))  # broadcast, a runt body
    out.append(custom(4, 1496))                          # a full 1514-byte frame
    out.append(lldp("vp-3"))
    return out


def cmd_send(iface: str, dut_mac: str) -> None:
    from scapy.all import conf  # noqa: E402
    s = conf.L2socket(iface=iface)
    try:
        for f in frames(iface, dut_mac):
            raw = bytes(f)
            s.send(f)
            print(json.dumps({"type": f.type, "hex": raw.hex()}), flush=True)
            time.sleep(0.005)
    finally:
        s.close()


def cmd_flood(iface: str, dut_mac: str, seconds: float, etype: int) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = s.getsockname()[4]
    head = mac_bytes(dut_mac) + src + struct.pack("!H", etype)
    sent = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end and not stop:
        for _ in range(200):
            try:
                s.send(head + struct.pack("!I", sent) + bytes(60))
                sent += 1
            except BlockingIOError:
                time.sleep(0.0005)
            except OSError:  # ENOBUFS from a full qdisc: back off a little
                time.sleep(0.0005)
    took = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": round(took, 3), "pps": round(sent / took)}), flush=True)


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "send":
        cmd_send(sys.argv[2], sys.argv[3])
    elif cmd == "flood":
        etype = int(sys.argv[5], 0) if len(sys.argv) > 5 else CUSTOM
        cmd_flood(sys.argv[2], sys.argv[3], float(sys.argv[4]), etype)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
