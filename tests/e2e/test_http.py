"""HTTP/1.1 against the demo: downloads, uploads, concurrency, keep-alive, closes."""
import hashlib
import json
import os
import random
import subprocess
import time

import pytest

from e2e_helpers import (STATIC_IP, curl_download, get_stats, http, pattern_sha256, peer_tool)


@pytest.mark.parametrize("n", [0, 1, 1459, 1460, 1461, 10_000_000])
def test_download_byte_exact(demo, n):
    mark = demo.mark()
    res = curl_download(demo.bed, n)
    assert res["code"] == 200
    assert res["size"] == n
    assert res["sha256"] == pattern_sha256(n)
    m = demo.wait_line(rf"^dl: {n} bytes in (\d+) us = ([\d.]+) Mbit/s", 5, start=mark)
    print(f"/dl/{n}: curl {res['mbit_s']:.1f} Mbit/s, demo says {m.group(2)} Mbit/s")


def test_upload_10mb_sha256(demo):
    bed = demo.bed
    n = 10_000_000
    data = random.Random(7).randbytes(n)
    want = hashlib.sha256(data).hexdigest()
    path = os.path.join(bed.workdir, "ul.bin")
    with open(path, "wb") as f:
        f.write(data)
    mark = demo.mark()
    r = bed.peer(["curl", "-sS", "--max-time", "60", "-H", "Expect:", "-H",
                  "Content-Type: application/octet-stream", "--data-binary", f"@{path}",
                  "-w", "\\n%{http_code}", f"http://{STATIC_IP}/ul"], check=False, timeout=70)
    assert r.returncode == 0, r.stderr
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "200", r.stdout
    j = json.loads(body)
    assert j["bytes"] == n
    assert j["sha256"] == want
    m = demo.wait_line(rf"^ul: {n} bytes in (\d+) us = ([\d.]+) Mbit/s sha256=([0-9a-f]{{64}})", 5,
                       start=mark)
    assert m.group(3) == want
    print(f"/ul 10 MB: demo says {m.group(2)} Mbit/s")


def test_upload_small_and_empty(demo):
    res = http(demo.bed, [
        {"method": "POST", "path": "/ul", "body_len": 0},
        {"method": "POST", "path": "/ul", "body_len": 1461, "body_seed": 3},
    ])
    r0, r1 = res["responses"]
    assert r0["status"] == 200 and json.loads(r0["body_head"]) == {
        "bytes": 0, "sha256": hashlib.sha256(b"").hexdigest()}
    assert r1["status"] == 200
    j = json.loads(r1["body_head"])
    assert j["bytes"] == 1461 and j["sha256"] == r1["sent_sha256"]


def test_two_clients_at_once(demo):
    bed = demo.bed
    sizes = [5_000_000, 3_000_001]
    procs = []
    for i, n in enumerate(sizes):
        out = os.path.join(bed.workdir, f"par{i}.bin")
        p = bed.run_peer(["curl", "-sS", "--max-time", "60", "-o", out, "-w", "%{http_code}",
                          f"http://{STATIC_IP}/dl/{n}"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        procs.append((p, out, n))
    for p, out, n in procs:
        so, se = p.communicate(timeout=70)
        assert p.returncode == 0, se
        assert so == "200"
        with open(out, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == pattern_sha256(n), f"/dl/{n} corrupt"
        bed.stop(p)


def test_keepalive_and_404(demo):
    res = http(demo.bed, [
        {"path": "/dl/1461"},
        {"path": "/stats"},
        {"path": "/no/such/thing"},
        {"path": "/dl/10"},
    ])
    r = res["responses"]
    assert [x["status"] for x in r] == [200, 200, 404, 200]
    assert r[0]["headers"]["content-length"] == "1461"
    assert r[0]["body_sha256"] == pattern_sha256(1461)
    json.loads(r[1]["body_head"])
    assert r[3]["body_sha256"] == pattern_sha256(10)


def test_keepalive_reply_ending_in_a_partial_segment_leaves_at_once(demo):
    """Minshall's Nagle, as Linux runs it: the partial last segment of a reply may leave while
    only full segments are unacknowledged. smoltcp's own Nagle held it until the client's delayed
    ACK, so a keep-alive reply of one or three full segments and a partial one took 44 ms."""
    sizes = [2000, 5000, 1000, 100_000] * 8
    res = http(demo.bed, [{"path": f"/dl/{n}"} for n in sizes])
    for x, n in zip(res["responses"], sizes):
        assert x["status"] == 200 and x["body_sha256"] == pattern_sha256(n)
    secs = sorted(x["secs"] for x in res["responses"])
    assert secs[len(secs) // 2] < 0.02, secs


def _aborts(s):
    return s["tcp_closed_by_peer"] + s["tcp_aborted"]


@pytest.mark.parametrize("mode", ["rst", "close", "fin", "curl_max_filesize"])
def test_peer_closes_mid_transfer(demo, mode):
    bed = demo.bed
    s0 = get_stats(bed)
    if mode == "curl_max_filesize":
        r = bed.peer(["curl", "-sS", "--max-time", "20", "--max-filesize", "1000", "-o",
                      "/dev/null", f"http://{STATIC_IP}/dl/50000000"], check=False, timeout=30)
        assert r.returncode == 63, (r.returncode, r.stderr)  # "maximum file size exceeded"
    else:
        res = peer_tool(bed, "partial", {"host": STATIC_IP, "path": "/dl/50000000",
                                         "read_bytes": 100_000, "mode": mode})
        assert res["ok"] and res["read"] == 100_000, res
    deadline = time.monotonic() + 10
    while True:
        s1 = get_stats(bed)
        if _aborts(s1) > _aborts(s0) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert _aborts(s1) > _aborts(s0), f"no close/abort counted: before {s0} after {s1}"
    assert demo.proc.poll() is None, demo.output()
    res = curl_download(bed, 123_457)
    assert res["code"] == 200 and res["sha256"] == pattern_sha256(123_457)


def test_server_close_is_graceful_fin(demo):
    """`Connection: close` -> the server sends its response and a FIN; no RST."""
    bed = demo.bed
    with bed.capture("tcp port 80") as cap:
        res = http(bed, [{"path": "/dl/1000"},
                         {"path": "/dl/20000", "headers": {"Connection": "close"}}],
                   wait_eof=True)
        time.sleep(0.5)  # the client's FIN and the server's ACK
    r = res["responses"]
    assert [x["status"] for x in r] == [200, 200]
    assert r[0]["body_sha256"] == pattern_sha256(1000)
    assert r[1]["body_sha256"] == pattern_sha256(20000)
    assert res["eof"] == "eof", res
    from scapy.all import rdpcap, IP, TCP
    pk = [p for p in rdpcap(cap.path) if p.haslayer(TCP)]
    srv = [p for p in pk if p[IP].src == STATIC_IP and p[TCP].sport == 80]
    assert any(p[TCP].flags.F for p in srv), "no FIN from the server"
    rst = [p.summary() for p in pk if p[TCP].flags.R]
    assert not rst, f"RST seen: {rst}"
