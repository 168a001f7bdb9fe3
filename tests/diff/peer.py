#!/usr/bin/env python3
"""Peers of the differential BSD suite; runs in the peer namespace of a netbed Bed.

    ip netns exec esst-peer-X python3 peer.py [--ra]

Services (all dual-stack on [::], so 198.18.0.1 and 2001:db8:1::1 both work):

  TCP 7000  command server: the client sends one line, then the connection does
            what the command says (list below)
  TCP 7998  black hole: a listener whose accept queue is kept full, so the
            kernel drops every further SYN (connect timeouts without netfilter)
  TCP 7999  closed: nothing listens (RST)
  UDP 7007  echo: every datagram goes back to its sender
  UDP 7008  burst: a datagram "N SIZE" makes the peer send N datagrams of SIZE
            bytes back (byte 0 = index, then the pattern)

Commands on 7000 (one line each; data = pattern byte i = i % 251):
  echo                  echo until EOF, then close
  send N                send N bytes, then close (FIN)
  send_rst N            send N bytes, then reset (RST)
  rst                   reset at once
  close                 close at once (FIN)
  sink                  read to EOF, answer "N SHA256", close
  hold MS               read nothing for MS ms, then drain to EOF and close
  delay MS N            after MS ms send N bytes, then drain to EOF and close
  delay_close MS        after MS ms close (FIN)
  delay_rst MS          after MS ms reset
  watch ID [N]          (send N bytes first) read to EOF or reset; results[ID] =
                        "fin|rst BYTES SHA8"; then close
  result ID             answer results[ID] (waits up to 5 s), close
  halfclose ID          send "bye", shut down writing, then like watch ID
  connect HOST PORT K MSG [DELAY_MS]
                        (after DELAY_MS) open K connections to HOST:PORT, send
                        MSG+"\\n" on each ("-": nothing); answer "connected J
                        LPORT,LPORT..." at once (before DELAY_MS elapses when a
                        delay is given: "scheduled"); each connection is kept
                        until the other side closes (at most 10 s); MSG
                        "!close" closes each connection at once instead
  udp_send HOST PORT K SIZE  send K datagrams of SIZE to HOST:PORT from a fresh
                        socket, answer "sent LPORT" (a multicast HOST goes out
                        of the link to the dut)
  addr_gone MS          answer "ok", then remove the address the command came to
                        for MS ms: connections to it see silence (keep-alive)
  mcast_watch ID GROUP PORT  join GROUP on the link, answer "ready", then record
                        "hops=N len=M" of the first datagram to PORT as results[ID]
  whoami                answer "ADDR PORT" of the client as the peer sees it
  ping                  answer "pong"

--ra: send IPv6 router advertisements (prefix 2001:db8:1::/64, on-link and
autonomous, router lifetime 0) every second on vp, so the dut forms
2001:db8:1::<EUI-64> by SLAAC (kernel and stack alike).
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time

PAT = bytes(range(251))
LINK = "vp"  # the peer end of the link to the dut (netbed)
results = {}
results_cv = threading.Condition()


def multicast_out(u, fam, host):
    """Send a multicast datagram out of the link to the dut (no route needed)."""
    if fam == socket.AF_INET and 224 <= int(host.split(".")[0]) <= 239:
        mreqn = struct.pack("4s4si", bytes(4), bytes(4), socket.if_nametoindex(LINK))
        u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    elif fam == socket.AF_INET6 and host.lower().startswith("ff"):
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(LINK))


def take_address_away(addr, seconds):
    """Delete addr (with its prefix) from LINK now and put it back after seconds."""
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", LINK], capture_output=True, text=True).stdout
    cidr = next(w for line in out.splitlines() for w in line.split() if w.split("/")[0] == addr)
    extra = ["nodad"] if ":" in addr else []
    subprocess.run(["ip", "addr", "del", cidr, "dev", LINK], check=True)
    threading.Timer(seconds, lambda: subprocess.run(["ip", "addr", "add", cidr, "dev", LINK, *extra],
                                                    check=True)).start()


def multicast_listener(group, port):
    """A UDP socket on port that joined group on LINK and reports hop limits."""
    idx = socket.if_nametoindex(LINK)
    if ":" in group:
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind(("::", port))
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx)
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    else:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind(("", port))
        mreqn = socket.inet_aton(group) + bytes(4) + struct.pack("@i", idx)
        u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        u.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)  # Linux value
    u.settimeout(3)
    return u


def watch_multicast(u, rid):
    try:
        data, anc, _, _ = u.recvmsg(2048, 256)
        hops = next((int.from_bytes(d[:4], sys.byteorder) for lvl, typ, d in anc
                     if (lvl, typ) in ((socket.IPPROTO_IP, socket.IP_TTL),
                                       (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT))), -1)
        val = f"hops={hops} len={len(data)}"
    except OSError:
        val = "none"
    u.close()
    with results_cv:
        results[rid] = val
        results_cv.notify_all()


def pattern(n, offset=0):
    out = bytearray()
    i = offset
    while len(out) < n:
        k = min(n - len(out), 251 - (i % 251))
        out += PAT[i % 251:i % 251 + k]
        i += k
    return bytes(out)


def norm(addr):
    return addr[7:] if addr.startswith("::ffff:") else addr


def rst_close(c):
    try:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        c.close()


def send_n(c, n):
    done = 0
    while done < n:
        chunk = pattern(min(65536, n - done), done)
        c.sendall(chunk)
        done += len(chunk)


def drain(c, limit_s=10.0):
    """Read to EOF or reset. Returns ("fin"|"rst"|"timeout", bytes, sha)."""
    h = hashlib.sha256()
    n = 0
    c.settimeout(limit_s)
    kind = "fin"
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
            h.update(b)
    except ConnectionResetError:
        kind = "rst"
    except socket.timeout:
        kind = "timeout"
    except OSError:
        kind = "rst"
    return kind, n, h.hexdigest()


def readline(c):
    buf = b""
    c.settimeout(10)
    while not buf.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            break
        buf += b
    return buf.decode(errors="replace").strip()


def set_result(rid, val):
    with results_cv:
        results[rid] = val
        results_cv.notify_all()


def do_connect(host, port, k, msg, delay_ms):
    if delay_ms:
        time.sleep(delay_ms / 1000.0)
    conns, ports = [], []
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(k):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
            if msg == "!close":
                ports.append(str(s.getsockname()[1]))
                s.close()
                continue
            if msg != "-":
                s.sendall((msg + "\n").encode())
            conns.append(s)
            ports.append(str(s.getsockname()[1]))
        except OSError:
            s.close()

    def keep():
        deadline = time.monotonic() + 10
        for s in conns:
            try:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                while s.recv(65536):
                    pass
            except OSError:
                pass
            s.close()

    threading.Thread(target=keep, daemon=True).start()
    return len(ports), ports


def handle(c, addr):
    try:
        line = readline(c)
        argv = line.split()
        if not argv:
            c.close()
            return
        cmd, a = argv[0], argv[1:]
        if cmd == "echo":
            c.settimeout(15)
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
            c.close()
        elif cmd == "send":
            send_n(c, int(a[0]))
            c.close()
        elif cmd == "send_rst":
            send_n(c, int(a[0]))
            time.sleep(0.05)
            rst_close(c)
        elif cmd == "rst":
            rst_close(c)
        elif cmd == "close":
            c.close()
        elif cmd == "sink":
            kind, n, sha = drain(c, 15)
            c.sendall(f"{n} {sha}\n".encode())
            c.close()
        elif cmd == "hold":
            time.sleep(int(a[0]) / 1000.0)
            drain(c, 5)
            c.close()
        elif cmd == "delay":
            time.sleep(int(a[0]) / 1000.0)
            send_n(c, int(a[1]))
            drain(c, 10)
            c.close()
        elif cmd == "delay_close":
            time.sleep(int(a[0]) / 1000.0)
            c.close()
        elif cmd == "delay_rst":
            time.sleep(int(a[0]) / 1000.0)
            rst_close(c)
        elif cmd in ("watch", "halfclose"):
            rid = a[0]
            if cmd == "watch" and len(a) > 1:
                send_n(c, int(a[1]))
            if cmd == "halfclose":
                c.sendall(b"bye")
                c.shutdown(socket.SHUT_WR)
            kind, n, sha = drain(c, 10)
            set_result(rid, f"{kind} {n} {sha[:8]}")
            c.close()
        elif cmd == "mcast_watch":
            # join GROUP on the link, answer "ready", record "hops=N len=M" of the first
            # datagram to PORT (or "none" after 3 s) as results[ID]
            rid, group, port = a[0], a[1], int(a[2])
            u = multicast_listener(group, port)
            c.sendall(b"ready\n")
            c.close()
            threading.Thread(target=watch_multicast, args=(u, rid), daemon=True).start()
        elif cmd == "result":
            rid = a[0]
            with results_cv:
                results_cv.wait_for(lambda: rid in results, timeout=5)
                val = results.pop(rid, "none")
            c.sendall((val + "\n").encode())
            c.close()
        elif cmd == "connect":
            host, port, k, msg = a[0], int(a[1]), int(a[2]), a[3]
            delay = int(a[4]) if len(a) > 4 else 0
            if delay:
                threading.Thread(target=do_connect, args=(host, port, k, msg, delay),
                                 daemon=True).start()
                c.sendall(b"scheduled\n")
            else:
                j, ports = do_connect(host, port, k, msg, 0)
                c.sendall(f"connected {j} {','.join(ports) or '-'}\n".encode())
            c.close()
        elif cmd == "udp_send":
            host, port, k, size = a[0], int(a[1]), int(a[2]), int(a[3])
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind(("", 0))
            multicast_out(u, fam, host)
            for i in range(k):
                u.sendto(bytes([i & 0xFF]) + pattern(max(0, size - 1)) if size else b"", (host, port))
            lport = u.getsockname()[1]
            u.close()
            c.sendall(f"sent {lport}\n".encode())
            c.close()
        elif cmd == "addr_gone":
            # answer first, then drop the address the client reached us on for MS ms:
            # the peer goes silent (no RST, no ICMP) while the link and ARP/ND stay up
            mine = norm(c.getsockname()[0])
            c.sendall(b"ok\n")
            c.close()
            take_address_away(mine, int(a[0]) / 1000.0)
        elif cmd == "whoami":
            c.sendall(f"{norm(addr[0])} {addr[1]}\n".encode())
            c.close()
        elif cmd == "ping":
            c.sendall(b"pong\n")
            c.close()
        else:
            c.sendall(b"unknown\n")
            c.close()
    except Exception as e:  # a peer error must never take the server down
        print(f"peer: {line!r}: {e!r}", file=sys.stderr, flush=True)
        try:
            c.close()
        except OSError:
            pass


def tcp_listener(port, backlog=64):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(backlog)
    return s


def serve_commands():
    s = tcp_listener(7000)
    while True:
        c, addr = s.accept()
        threading.Thread(target=handle, args=(c, addr), daemon=True).start()


def udp_echo():
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", 7007))
    while True:
        data, addr = u.recvfrom(65536)
        u.sendto(data, addr)


def udp_burst():
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", 7008))
    while True:
        data, addr = u.recvfrom(65536)
        try:
            n, size = (int(x) for x in data.split())
        except ValueError:
            continue
        for i in range(n):
            u.sendto(bytes([i & 0xFF]) + pattern(max(0, size - 1)) if size else b"", addr)


def black_hole():
    """A listener whose accept queue is full: further SYNs are dropped."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 7998))
    s.listen(0)
    fillers = []
    for _ in range(1):
        f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", 7998))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.2)
    return s, fillers


def router_adverts(ifname):
    """Unsolicited RAs every second: prefix 2001:db8:1::/64 (L+A), not a default router."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    idx = socket.if_nametoindex(ifname)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    prefix = socket.inet_pton(socket.AF_INET6, "2001:db8:1::")
    pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + prefix
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0) + pio
    while True:
        try:
            s.sendto(ra, ("ff02::1", 0, 0, idx))
        except OSError as e:
            print(f"peer: RA: {e!r}", file=sys.stderr, flush=True)
        time.sleep(1.0)


def main():
    ra = "--ra" in sys.argv
    hole = black_hole()  # noqa: F841 (kept open for the whole run)
    for f in (serve_commands, udp_echo, udp_burst):
        threading.Thread(target=f, daemon=True).start()
    if ra:
        threading.Thread(target=router_adverts, args=(LINK,), daemon=True).start()
    time.sleep(0.2)
    print("peer: ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
