#!/usr/bin/env python3
"""Seed corpus for fuzz_bsd: meaningful call sequences (TCP and UDP over the loopback
the runtime provides, options, errors) in the input format of fuzz_bsd.c.

    python3 fuzz/make_bsd_seeds.py fuzz/corpus/fuzz_bsd

Keep the encoding in step with fuzz_bsd.c (op numbers, argument pickers)."""
import os
import sys

SOCKET, BIND, LISTEN, ACCEPT, CONNECT, SEND, SENDTO, RECV, RECVFROM, SHUTDOWN, CLOSE, SETOPT, GETOPT, \
    FCNTL, POLL, GETNAME, RW, SLEEP, NATIVE, ICMP = range(20)
# pick_addr kinds
A_SELF, A_ANY, A_PEER, A_LO, A_BCAST, A_MCAST, A6_ANY, A6_MAPPED_SELF, A6_LL, A6_OTHER, A6_LO, A_UNIX, \
    A_SHORT, A_LEN0, A_NULL, A_HUGE_LEN = range(16)
# pick_port: index into (80, 1234, 0, 7, 65535, 49152)
P80, P1234, P0, P7 = 0, 1, 2, 3
# socket() tables
D_INET, D_INET6, D_UNIX = 0, 1, 3
T_STREAM, T_DGRAM, T_STREAM_NB, T_DGRAM_NB, T_RAW = 0, 1, 2, 3, 4
# pick_len: values < 100 are u16 % 3000 lengths (two more bytes follow); 100.. are table entries
L_1460, L_4096, L_64K, L_NULL16, L_NULL_MAX = 101, 102, 103, 200, 201  # lens[k % 7]
# setsockopt tables
LV_SOL, LV_TCP, LV_IP, LV_IPV6 = 0, 1, 2, 3
N_REUSE, N_KEEP, N_RCVTIMEO, N_SNDTIMEO, N_LINGER, N_ERROR, N_TYPE, N_RCVBUF, N_SNDBUF, N_NODELAY = range(10)
LN_0, LN_1, LN_INT, LN_8, LN_TV, LN_LINGER, LN_64, LN_HUGE = range(8)


class Seq:
    def __init__(self, cfg=0):
        self.b = bytearray([cfg])

    def op(self, *xs):
        for x in xs:
            if isinstance(x, (bytes, bytearray)):
                self.b += x
            else:
                self.b.append(x & 0xFF)
        return self

    def socket(self, d=D_INET, t=T_STREAM, p=0):
        return self.op(SOCKET, d, t, p)

    def bind(self, fd, kind, port=P1234):
        return self.op(BIND, fd, kind, port)

    def listen(self, fd, backlog=5):  # backlog byte: (b % 8) - 1
        return self.op(LISTEN, fd, backlog)

    def accept(self, fd, mode=1):
        return self.op(ACCEPT, fd, mode)

    def connect(self, fd, kind, port=P1234):
        return self.op(CONNECT, fd, kind, port)

    @staticmethod
    def _len(ln):
        """A pick_len argument: a table entry (>= 100) or an explicit length (< 3000)."""
        return bytes([ln]) if ln >= 100 else bytes([0, ln >> 8, ln & 0xFF])

    def send(self, fd, ln=L_1460, flags=0):
        return self.op(SEND, fd, self._len(ln), flags)

    def sendto(self, fd, ln, kind, port, flags=0):
        return self.op(SENDTO, fd, self._len(ln), kind, port, flags)

    def recv(self, fd, ln=L_4096, flags=0):
        return self.op(RECV, fd, self._len(ln), flags)

    def recvfrom(self, fd, ln=L_4096, mode=1, flags=0):
        return self.op(RECVFROM, fd, self._len(ln), mode, flags)

    def shutdown(self, fd, how):
        return self.op(SHUTDOWN, fd, how)

    def close(self, fd):
        return self.op(CLOSE, fd)

    def setopt(self, fd, level, name, vlen, ln, val=b""):
        return self.op(SETOPT, fd, level, name, vlen, ln, val.ljust(64, b"\0"))

    def getopt(self, fd, level, name, ln=LN_INT, mode=8):
        return self.op(GETOPT, fd, level, name, mode, ln, bytes(64))

    def fcntl(self, fd, cmd, arg=0):
        return self.op(FCNTL, fd, cmd, arg)

    def sleep(self, ms=2):
        return self.op(SLEEP, ms)

    def bytes(self):
        return bytes(self.b)


def seeds():
    one = (1).to_bytes(4, "little")
    tv_1ms = (0).to_bytes(8, "little") + (1000).to_bytes(8, "little")
    linger0 = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
    out = {}
    # TCP over the runtime's own loopback: listen, connect, accept, both directions, half close.
    s = Seq().socket().setopt(0, LV_SOL, N_REUSE, 4, LN_INT, one).bind(0, A_SELF).listen(0)
    s.socket().connect(1, A_SELF).sleep(2).accept(0).sleep(1)
    s.send(1, L_1460).sleep(1).recv(2, L_4096).send(2, L_4096).sleep(2).recv(1, L_64K)
    s.shutdown(1, 1).sleep(1).recv(2).recv(2).close(2).close(1).close(0)
    out["tcp-loopback"] = s.bytes()
    # TCP: waitall, peek, nonblocking accept, RST close (SO_LINGER 0).
    s = Seq().socket().bind(0, A_ANY, P80).listen(0, 3).socket().fcntl(1, 1, 0).connect(1, A_SELF, P80)
    s.sleep(2).accept(0).send(1, L_4096).sleep(2).recv(2, L_1460, 2).recv(2, L_4096, 3)
    s.setopt(2, LV_SOL, N_LINGER, 8, LN_LINGER, linger0).close(2).sleep(1).recv(1).send(1).close(1).close(0)
    out["tcp-peek-waitall-rst"] = s.bytes()
    # UDP over loopback, unconnected and connected, with MSG_TRUNC and a short buffer.
    s = Seq().socket(D_INET, T_DGRAM).bind(0, A_ANY, P7).socket(D_INET, T_DGRAM)
    s.sendto(1, L_1460, A_SELF, P7).sleep(1).recvfrom(0, 10, 1, 4).connect(1, A_SELF, P7).send(1, L_1460)
    s.sleep(1).recv(0).sendto(0, L_1460, A_SELF, P7).close(1).close(0)
    out["udp-loopback"] = s.bytes()
    # IPv6 sockets: dual-stack listener, v4-mapped connect, link-local.
    s = Seq(2).socket(D_INET6).bind(0, A6_ANY, P80).listen(0).socket(D_INET6).connect(1, A6_MAPPED_SELF, P80)
    s.sleep(2).accept(0).op(GETNAME, 2, 0).op(GETNAME, 2, 8).socket(D_INET6, T_DGRAM).bind(3, A6_LL, P7)
    s.sendto(3, 20, A6_LL, P7).sleep(1).recvfrom(3).close(3).close(2).close(1).close(0)
    out["ipv6-dual-stack"] = s.bytes()
    # Options: every level/name pair the shim knows, good and bad lengths, NULL values.
    s = Seq().socket()
    for name in range(10):
        s.setopt(0, LV_SOL if name < 9 else LV_TCP, name, 16, LN_INT, one)
        s.getopt(0, LV_SOL if name < 9 else LV_TCP, name)
    s.setopt(0, LV_SOL, N_RCVTIMEO, 16, LN_TV, tv_1ms).setopt(0, LV_SOL, N_SNDTIMEO, 16, LN_1, tv_1ms)
    s.setopt(0, LV_IP, 0, 0x80, LN_INT).getopt(0, LV_IPV6, 1, LN_0).getopt(0, LV_SOL, N_ERROR, LN_INT, 0x40)
    s.fcntl(0, 0).fcntl(0, 1, 0).fcntl(0, 2).fcntl(0, 4).close(0)
    out["sockopts"] = s.bytes()
    # Errors: bad fds, bad families, NULL pointers, huge lengths, operations in the wrong state.
    s = Seq().socket(D_UNIX).socket(D_INET, T_RAW).socket(D_INET, 5).socket()
    s.op(BIND, 250, A_SELF, P80).bind(0, A_UNIX).bind(0, A_SHORT).bind(0, A_LEN0).bind(0, A_NULL)
    s.bind(0, A_HUGE_LEN).listen(0).listen(0).connect(0, A_SELF).send(0, L_NULL16).send(0, L_NULL_MAX)
    s.recv(0, L_NULL16).accept(0, 4).accept(0, 2).op(ACCEPT, 240, 1).shutdown(0, 3).close(0).close(0)
    s.socket(D_INET, T_DGRAM).send(0, L_64K).sendto(0, L_64K, A_PEER, P7).sendto(0, 10, A6_OTHER, P7)
    s.connect(0, A_BCAST, P7).send(0, 10).close(0)
    out["errors"] = s.bytes()
    # Readiness and ICMP: poll over live and dead handles, echo to ourselves and to the silent peer.
    s = Seq().socket().bind(0, A_SELF, P80).listen(0).socket(D_INET, T_DGRAM).bind(1, A_ANY, P7)
    s.op(POLL, 4, 0, 3, 1, 3, 5, 1, 200, 3, 2).op(ICMP, 0, 0, 20, 2).op(ICMP, 0, 1, 20, 1)
    s.op(NATIVE, 0, 1, 0).op(NATIVE, 0, 2, 2, 64).op(NATIVE, 0, 3, 3, 0, 100).close(1).close(0)
    out["poll-icmp-native"] = s.bytes()
    # Discarding netdev: connect to the silent peer (ARP never answered), time out, close.
    s = Seq(1).socket().connect(0, A_PEER, P80).sleep(2).connect(0, A_PEER, P80).op(GETOPT, 0, LV_SOL, N_ERROR, 8,
                                                                                        LN_INT, bytes(64))
    s.send(0).close(0)
    out["silent-peer"] = s.bytes()
    return out


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{name:24} {len(data):5} bytes")


if __name__ == "__main__":
    main()
