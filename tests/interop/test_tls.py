"""TLS over our sockets against OpenSSL, as esp_https_server and esp-tls do it:
mbedTLS (Debian 2.28, the library esp-tls uses) as server on the stack with
`openssl s_client` in the peer, and as client on the stack (certificate
verification on, against a CA made at run time) with `openssl s_server` in the
peer. Transfers are byte-exact (sha256 of the pattern byte i = i % 251)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

from interop_helpers import (DUT_IP, DUT_NAME, PEER_NAME, App, pattern, sha256_file,
                             wait_listen)

SIZE = 4 * 1024 * 1024
PORT = 4433


def start_server(bed, pki, track, need_app, extra=()) -> App:
    need_app("tls_server")
    app = track(App(bed, "tls_server", ["--cert", pki.path("dut.pem"), "--key", pki.path("dut.key"),
                                        "--port", str(PORT), *extra]))
    app.wait_ip(20)
    app.wait_line(r"^server: listening", 10)
    return app


def s_client(bed, pki, request: bytes, out_path: str, ca: str = "ca.pem", timeout: float = 120):
    """openssl s_client in the peer: verifies our certificate (CA, name), sends request, output to out_path."""
    in_path = out_path + ".in"
    with open(in_path, "wb") as f:
        f.write(request)
    with open(in_path, "rb") as fin, open(out_path, "wb") as fout:
        return bed.peer(["openssl", "s_client", "-connect", f"{DUT_IP}:{PORT}", "-CAfile", pki.path(ca),
                         "-verify_return_error", "-verify_hostname", DUT_NAME, "-servername", DUT_NAME,
                         "-quiet", "-nocommands"],
                        check=False, timeout=timeout, text=False, stdin=fin, stdout=fout,
                        stderr=subprocess.PIPE, capture_output=False)


@pytest.mark.parametrize("bed", ["veth", "shaped"], indirect=True)
def test_s_client_downloads_from_mbedtls_server(bed, pki, track, need_app):
    app = start_server(bed, pki, track, need_app)
    out = os.path.join(bed.workdir, "dl.bin")
    t0 = time.monotonic()
    r = s_client(bed, pki, f"GET {SIZE}\n".encode(), out)
    dt = time.monotonic() - t0
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert os.path.getsize(out) == SIZE
    assert sha256_file(out) == hashlib.sha256(pattern(SIZE)).hexdigest()
    app.wait_line(rf"^server: get {SIZE} ok", 10)
    print(f"s_client download {SIZE} B in {dt:.2f} s (shared machine)")


@pytest.mark.parametrize("bed", ["veth", "shaped"], indirect=True)
def test_s_client_uploads_to_mbedtls_server(bed, pki, track, need_app):
    app = start_server(bed, pki, track, need_app)
    out = os.path.join(bed.workdir, "ul.reply")
    r = s_client(bed, pki, f"PUT {SIZE}\n".encode() + pattern(SIZE), out)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    want = hashlib.sha256(pattern(SIZE)).hexdigest()
    with open(out, "rb") as f:
        assert f.read() == f"sha256 {want}\n".encode()
    app.wait_line(rf"^server: put {SIZE} sha256 {want}$", 10)


@pytest.mark.parametrize("bed", ["shaped"], indirect=True)
def test_mbedtls_server_close_at_once_delivers_queued_data(bed, pki, track, need_app):
    """esp_https_server closes right after its last send: on the 100 Mbit/s wire the
    send buffer is still full then, and the stack must deliver it, close_notify and
    FIN after close() (the engine socket lingers), so the peer gets every byte."""
    app = start_server(bed, pki, track, need_app, ["--close-at-once", "1"])
    out = os.path.join(bed.workdir, "dl.bin")
    for n in (SIZE, 100000):
        r = s_client(bed, pki, f"GET {n}\n".encode(), out)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        assert os.path.getsize(out) == n
        assert sha256_file(out) == hashlib.sha256(pattern(n)).hexdigest()
    app.wait_line(r"^server: get 100000 ok", 10)


def test_mbedtls_server_queues_parallel_clients(bed, pki, track, need_app):
    """Three s_clients at once against a one-task server with listen(4): the others
    wait, fully connected, in the backlog (their ClientHello unread) and each gets
    its own download byte-exact."""
    app = start_server(bed, pki, track, need_app)
    sizes = [1000000, 1500000, 2000000]
    procs = []
    for i, n in enumerate(sizes):
        inp = os.path.join(bed.workdir, f"par{i}.in")
        with open(inp, "wb") as f:
            f.write(f"GET {n}\n".encode())
        fin, fout = open(inp, "rb"), open(os.path.join(bed.workdir, f"par{i}.bin"), "wb")
        procs.append((bed.run_peer(["openssl", "s_client", "-connect", f"{DUT_IP}:{PORT}", "-CAfile",
                                    pki.path("ca.pem"), "-verify_return_error", "-verify_hostname", DUT_NAME,
                                    "-quiet", "-nocommands"], stdin=fin, stdout=fout,
                                   stderr=subprocess.DEVNULL), fin, fout))
    for p, fin, fout in procs:
        assert p.wait(timeout=60) == 0
        fin.close()
        fout.close()
    for i, n in enumerate(sizes):
        path = os.path.join(bed.workdir, f"par{i}.bin")
        assert os.path.getsize(path) == n and sha256_file(path) == hashlib.sha256(pattern(n)).hexdigest()
    for n in sizes:
        app.wait_line(rf"^server: get {n} ok", 5)


def test_mbedtls_server_times_out_a_silent_client(bed, pki, track, need_app):
    """A client that connects and sends nothing (esp_https_server's recv_wait_timeout
    case): the blocking read ends at SO_RCVTIMEO with -1/EAGAIN, which the BIO turns
    into MBEDTLS_ERR_NET_RECV_FAILED (-0x004C); a 0 there would read as EOF
    (-0x7280). The server closes it and serves the next client."""
    app = start_server(bed, pki, track, need_app, ["--io-timeout", "1500"])
    t0 = time.monotonic()
    bed.run_peer([sys.executable, "-c", "import socket, time; "
                  f"s = socket.create_connection(('{DUT_IP}', {PORT})); time.sleep(10)"])
    app.wait_line(r"^server: handshake failed", 10)
    dt = time.monotonic() - t0
    assert 1.4 <= dt < 6, dt
    deadline = time.monotonic() + 2
    while "tls: handshake failed" not in "\n".join(app.stderr) and time.monotonic() < deadline:
        time.sleep(0.05)
    err = "\n".join(app.stderr)
    assert "tls: handshake failed: -0x004c" in err, app.output()
    out = os.path.join(bed.workdir, "after.bin")
    r = s_client(bed, pki, b"GET 100000\n", out)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    with open(out, "rb") as f:
        assert f.read() == pattern(100000)


def test_mbedtls_server_survives_a_client_that_rejects_it(bed, pki, track, need_app):
    """A peer that does not trust our certificate aborts the handshake; the server
    reports it, keeps serving, and the next (trusting) client gets its data."""
    app = start_server(bed, pki, track, need_app)
    out = os.path.join(bed.workdir, "rej.bin")
    r = s_client(bed, pki, b"GET 1000\n", out, ca="rogue.pem", timeout=30)
    assert r.returncode != 0
    assert b"verify error" in r.stderr, r.stderr.decode(errors="replace")
    app.wait_line(r"^server: handshake failed", 20)
    r = s_client(bed, pki, b"GET 100000\n", out)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    with open(out, "rb") as f:
        assert f.read() == pattern(100000)


# ------------------------------------------------------------------ mbedTLS client vs s_server
def s_server(bed, pki, args, port: int, cwd: str, stdout=None) -> subprocess.Popen:
    p = bed.run_peer(["openssl", "s_server", "-accept", f"{bed.peer_ip}:{port}", "-cert", pki.path("peer.pem"),
                      "-key", pki.path("peer.key"), "-naccept", "1", *args],
                     cwd=cwd, stdin=subprocess.PIPE, stdout=stdout or subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
    wait_listen(bed, port, proc=p)
    return p


def client(bed, track, args) -> App:
    return track(App(bed, "tls_client", ["--server", bed.peer_ip, "--port", str(PORT), *args]))


@pytest.mark.parametrize("bed", ["veth", "shaped"], indirect=True)
def test_mbedtls_client_downloads_from_s_server(bed, pki, track, need_app):
    need_app("tls_client")
    www = os.path.join(bed.workdir, "www")
    os.makedirs(www)
    with open(os.path.join(www, "dl.bin"), "wb") as f:
        f.write(pattern(SIZE))
    srv = s_server(bed, pki, ["-WWW"], PORT, www)
    app = client(bed, track, ["--ca", pki.path("ca.pem"), "--hostname", PEER_NAME, "--get", "dl.bin"])
    rc = app.wait_exit(120)
    assert rc == 0, app.output()
    want = hashlib.sha256(pattern(SIZE)).hexdigest()
    app.wait_line(rf"^client: get status 200 body {SIZE} sha256 {want}$", 1)
    waits = app.wait_line(r"^client: waits read=(\d+) write=(\d+)$", 1)
    assert int(waits.group(1)) > 0  # recv gave EAGAIN, mbedTLS WANT_READ, select() woke it
    print(waits.group(0))
    srv.wait(timeout=10)


@pytest.mark.parametrize("bed", ["veth", "shaped"], indirect=True)
def test_mbedtls_client_uploads_to_s_server(bed, pki, track, need_app):
    need_app("tls_client")
    got = os.path.join(bed.workdir, "ul.bin")
    with open(got, "wb") as fout:
        srv = s_server(bed, pki, ["-quiet"], PORT, bed.workdir, stdout=fout)
        app = client(bed, track, ["--ca", pki.path("ca.pem"), "--hostname", PEER_NAME, "--put", str(SIZE)])
        rc = app.wait_exit(120)
        assert rc == 0, app.output()
        srv.wait(timeout=20)
    want = hashlib.sha256(pattern(SIZE)).hexdigest()
    app.wait_line(rf"^client: put {SIZE} sha256 {want}$", 1)
    waits = app.wait_line(r"^client: waits read=(\d+) write=(\d+)$", 1)
    assert int(waits.group(2)) > 0  # the send buffer filled: EAGAIN, WANT_WRITE, select() for writable
    print(waits.group(0))
    assert os.path.getsize(got) == SIZE
    assert sha256_file(got) == want


@pytest.mark.parametrize("case", ["wrong_ca", "wrong_hostname"])
def test_mbedtls_client_refuses_bad_certificate(bed, pki, track, need_app, case):
    """Verification is on: an untrusted CA or another name fails the handshake with
    a clear reason, at once (no hang, no crash), and no data is exchanged."""
    need_app("tls_client")
    srv = s_server(bed, pki, ["-WWW"], PORT, bed.workdir)
    ca, host, reason = {
        "wrong_ca": ("rogue.pem", PEER_NAME, "not correctly signed by the trusted CA"),
        "wrong_hostname": ("ca.pem", "other.esst.test", "Common Name (CN) does not match"),
    }[case]
    t0 = time.monotonic()
    app = client(bed, track, ["--ca", pki.path(ca), "--hostname", host, "--get", "x", "--timeout", "10000"])
    rc = app.wait_exit(30)
    assert rc == 3, app.output()
    assert time.monotonic() - t0 < 15
    err = "\n".join(app.stderr)
    assert "tls: handshake failed: -0x2700" in err, app.output()
    assert reason in err, app.output()
    assert not any(l.startswith("client: get") for l in app.stdout)
    bed.stop(srv)


def test_mbedtls_client_connect_refused(bed, pki, track, need_app):
    """No s_server: the non-blocking connect becomes writable with SO_ERROR = ECONNREFUSED."""
    need_app("tls_client")
    app = client(bed, track, ["--ca", pki.path("ca.pem"), "--hostname", PEER_NAME, "--get", "x"])
    assert app.wait_exit(20) == 4, app.output()
    assert "client: connect 198.18.0.1:4433: Connection refused" in "\n".join(app.stderr), app.output()


def test_mbedtls_client_resolves_the_server_by_name(bed, pki, track, need_app):
    """esp-tls's whole path: getaddrinfo() of the host through the stack's DNS client
    (dnsmasq in the peer), non-blocking connect, and the same name verified in the
    certificate; an unknown name fails at resolution with a clear error."""
    need_app("tls_client")
    bed.start_dnsmasq()  # answers peer.esst.test -> 198.18.0.1
    www = os.path.join(bed.workdir, "www")
    os.makedirs(www)
    with open(os.path.join(www, "dl.bin"), "wb") as f:
        f.write(pattern(1000000))
    srv = s_server(bed, pki, ["-WWW"], PORT, www)
    app = track(App(bed, "tls_client", ["--dns", bed.peer_ip, "--server", PEER_NAME, "--port", str(PORT),
                                        "--ca", pki.path("ca.pem"), "--get", "dl.bin"]))
    assert app.wait_exit(60) == 0, app.output()
    want = hashlib.sha256(pattern(1000000)).hexdigest()
    app.wait_line(rf"^client: get status 200 body 1000000 sha256 {want}$", 1)
    srv.wait(timeout=10)

    app = track(App(bed, "tls_client", ["--dns", bed.peer_ip, "--server", "nowhere.esst.test",
                                        "--ca", pki.path("ca.pem"), "--get", "x"]))
    assert app.wait_exit(30) == 4, app.output()
    err = "\n".join(app.stderr)
    assert "resolve nowhere.esst.test: Name or service not known" in err, app.output()


@pytest.mark.parametrize("bed", ["shaped"], indirect=True)
def test_mbedtls_server_sees_a_reset_mid_download(bed, pki, track, need_app):
    """The client dies mid-download (its kernel answers with RST): the server's blocked
    write fails with EPIPE/ECONNRESET, which the BIO reports as MBEDTLS_ERR_NET_CONN_RESET
    (any other errno would be NET_SEND_FAILED); the server carries on with the next client."""
    app = start_server(bed, pki, track, need_app)
    inp = os.path.join(bed.workdir, "big.in")
    with open(inp, "wb") as f:
        f.write(b"GET 200000000\n")
    with open(inp, "rb") as fin:
        p = bed.run_peer(["openssl", "s_client", "-connect", f"{DUT_IP}:{PORT}", "-CAfile", pki.path("ca.pem"),
                          "-quiet", "-nocommands"], stdin=fin, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        assert p.poll() is None
        p.kill()
        p.wait(timeout=5)
    m = app.wait_line(r"^server: get 200000000 failed: (.*)$", 20)
    assert "Connection was reset by peer" in m.group(1), app.output()
    out = os.path.join(bed.workdir, "after.bin")
    r = s_client(bed, pki, b"GET 100000\n", out)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    with open(out, "rb") as f:
        assert f.read() == pattern(100000)


@pytest.mark.parametrize("bed", ["shaped"], indirect=True)
def test_mbedtls_client_sees_a_reset_mid_upload(bed, pki, track, need_app):
    """s_server dies mid-upload while the client waits in select() for writable: the RST
    must wake that select at once (not its 15 s timeout), and the write then fails as
    MBEDTLS_ERR_NET_CONN_RESET."""
    need_app("tls_client")
    srv = s_server(bed, pki, ["-quiet"], PORT, bed.workdir)
    app = client(bed, track, ["--ca", pki.path("ca.pem"), "--hostname", PEER_NAME, "--put", "200000000"])
    app.wait_line(r"^client: handshake ok", 20)
    time.sleep(1.0)
    srv.kill()
    t0 = time.monotonic()
    assert app.wait_exit(20) == 5, app.output()
    assert time.monotonic() - t0 < 5
    err = "\n".join(app.stderr)
    assert "client: put failed" in err and "Connection was reset by peer" in err, app.output()
