"""Usage patterns of real IDF components over the BSD API (tests/diff/patterns.c),
on the Linux kernel and on the shim, in the differential suite's beds:

- esp_http_server: select() loop over a dual-stack listener, keep-alive
  sessions and the UDP control socket on 127.0.0.1:32768 (httpd_queue_work /
  httpd_stop go through it); clients over IPv4 and IPv6 from the peer.
- esp-tls / tcp_transport: non-blocking connect, select(writefds), SO_ERROR,
  blocking again, MSG_PEEK; success, refused and timed-out targets.
- IDF ping (ping_sock.c): SOCK_RAW IPPROTO_ICMP (IP header in front) and
  IPPROTO_ICMPV6, with SO_RCVTIMEO, IP_TTL, IP_TOS.

Each pattern's output must be the same on both builds.
    python3 -m pytest -q tests/diff/test_patterns.py     (root; ~40 s)
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diff_bed import DUT_MAC, binary, netbed, start_peer  # noqa: E402

VARIANTS = ("kernel", "shim")
PEER4, PEER6 = "198.18.0.1", "2001:db8:1::1"
SELF4, SELF6 = "198.18.0.2", "2001:db8:1::ff:fe00:2"

CLIENTS = r'''
import json, socket, sys, threading
host4, host6, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
sizes = [0, 1000, 100000]
res = []
def client(host, fam):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect((host, port))
        ok = 0
        for n in sizes:
            s.sendall(f"GET /{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += s.recv(4096)
            head, body = buf.split(b"\r\n\r\n", 1)
            want = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(body) < want:
                b = s.recv(65536)
                if not b:
                    break
                body += b
            exp = bytes((ord("a") + i % 26) for i in range(n))
            ok += want == n and body == exp
        res.append(ok)
    except Exception as e:
        res.append(repr(e))
    finally:
        s.close()
import re
ts = [threading.Thread(target=client, args=(h, f)) for h, f in
      [(host4, socket.AF_INET)] * 3 + [(host6, socket.AF_INET6)] * 3]
for t in ts: t.start()
for t in ts: t.join()
s = socket.create_connection((host4, port), timeout=10)
s.sendall(b"GET /stop HTTP/1.1\r\n\r\n")
stop = s.recv(100).split(b"\r\n")[0].decode()
s.close()
print(json.dumps({"clients": res, "stop": stop}))
'''


@pytest.fixture(scope="module", params=VARIANTS)
def pbed(request):
    variant = request.param
    prog = binary(f"bsd_patterns_{variant}")
    if not prog.exists():
        pytest.skip(f"{prog} not built (make build)")
    netbed.reap_stale()
    with netbed.Bed(kernel_dut=variant == "kernel", dut_mac=DUT_MAC) as bed:
        start_peer(bed)
        bed.variant = variant
        bed.prog = prog
        yield bed


def start(bed, *args):
    argv = [str(bed.prog), *args]
    if bed.variant == "shim":
        argv += ["--tap", bed.tap_name, "--mac", DUT_MAC]
    return bed.run_dut(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def run(bed, *args, timeout=30):
    p = start(bed, *args)
    out, err = p.communicate(timeout=timeout)
    lines = [l[len("pattern: "):] for l in out.splitlines() if l.startswith("pattern: ")]
    assert p.returncode == 0, f"rc {p.returncode}\n{out}\n{err}"
    return lines


RESULTS: dict = {}


def test_httpd(pbed):
    p = start(pbed, "httpd", "8080")
    lines = []
    for line in p.stdout:
        if line.startswith("pattern: "):
            lines.append(line[len("pattern: "):].strip())
        if "httpd listening" in line:
            break
    assert any("httpd listening" in l for l in lines), lines + [p.stderr.read()]
    r = pbed.peer([sys.executable, "-c", CLIENTS, SELF4, SELF6, "8080"], timeout=60)
    clients = json.loads(r.stdout.strip().splitlines()[-1])
    out, err = p.communicate(timeout=20)
    lines += [l[len("pattern: "):] for l in out.splitlines() if l.startswith("pattern: ")]
    assert clients["clients"] == [3] * 6, clients
    assert clients["stop"] == "HTTP/1.1 200 OK"
    done = [l for l in lines if l.startswith("httpd done")]
    assert done, lines
    m = re.search(r"accepted=(\d+) v4=(\d+) v6=(\d+) requests=(\d+) ctrl=(\w+) ctrl_msgs_ok=(\w+)", done[0])
    accepted, v4, v6, requests = (int(m.group(i)) for i in range(1, 5))
    assert (accepted, v4, v6, requests) == (7, 4, 3, 19), done[0]
    assert m.group(6) == "yes", done[0]
    RESULTS[("httpd", pbed.variant)] = lines
    print(f"\n{pbed.variant}: {done[0]}")


def test_httpd_ctrl_socket(pbed):
    """The control socket on 127.0.0.1 (httpd_queue_work, httpd_stop)."""
    lines = RESULTS.get(("httpd", pbed.variant))
    if lines is None:
        pytest.skip("test_httpd did not run")
    skipped = [l for l in lines if l.startswith("ctrl skip")]
    if skipped:
        pytest.skip(f"no 127.0.0.1 on this build: {skipped[0]}")
    assert "ctrl bound" in lines
    assert any("ctrl=yes ctrl_msgs_ok=yes" in l for l in lines), lines


CONNECTS = [
    ("ok_v4", PEER4, 7000, 2000),
    ("ok_v6", PEER6, 7000, 2000),
    ("refused_v4", PEER4, 7999, 2000),
    ("refused_v6", PEER6, 7999, 2000),
    ("timeout_v4", PEER4, 7998, 1000),
]


@pytest.mark.parametrize("name,host,port,timeout_ms", CONNECTS, ids=[c[0] for c in CONNECTS])
def test_esp_tls_connect(pbed, name, host, port, timeout_ms):
    lines = run(pbed, "connect", host, str(port), str(timeout_ms))
    expect = {
        "ok": ["connect in progress", "connected", "peek 1 'p'", "read 5 'pong'"],
        "refused": ["connect in progress", "connect failed: SO_ERROR=ECONNREFUSED"],
        "timeout": ["connect in progress", f"connect timed out after ~{timeout_ms} ms"],
    }[name.split("_")[0]]
    assert lines == ["ready"] + expect
    RESULTS[(name, pbed.variant)] = lines


PINGS = [("v4", PEER4, 3), ("v6", PEER6, 3), ("nobody_v4", "198.18.0.99", 1)]


@pytest.mark.parametrize("name,host,count", PINGS, ids=[p[0] for p in PINGS])
def test_ping(pbed, name, host, count):
    lines = run(pbed, "ping", host, str(count))
    if name == "nobody_v4":
        assert lines == ["ready", "seq=1 timeout (EAGAIN)", "ping done 0/1"], lines
    else:
        ttl = -1 if name == "v6" else 64
        want = [f"seq={i} reply from {host} bytes=64 ttl={ttl} data ok" for i in range(1, count + 1)]
        late_first = ["seq=1 timeout (EAGAIN)"] + want[1:] + [f"ping done {count - 1}/{count}"]
        if pbed.variant == "shim" and lines[1:] == late_first:
            # Seen now and then: the first echo to a neighbour the fresh stack has not resolved
            # yet leaves after the 1 s ping timeout (smoltcp: one solicitation per second for
            # the interface, a 1 s silence for a socket whose neighbour is missing; see
            # docs/conformance-bsd.md). Every later echo must be answered.
            pytest.xfail("first echo delayed by smoltcp's neighbour discovery")
        assert lines == ["ready"] + want + [f"ping done {count}/{count}"], lines
    RESULTS[(name, pbed.variant)] = lines
