"""Helpers of the interop tests (tests/interop): the apps' binaries, a test PKI made
with openssl at run time in the bed's workdir (no keys in the repository), a
mosquitto broker in the peer namespace, and waits on peer listeners."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "netbed"))

import netbed  # noqa: E402
from e2e_helpers import Demo, pattern  # noqa: E402,F401  (Demo: an app in the dut, output by line)

DEFAULT_DIR = REPO / "build" / "host" / "tests" / "interop"
DUT_IP = "198.18.0.2"
DUT_NAME = "dut.esst.test"
PEER_NAME = "peer.esst.test"


def interop_dir() -> Path:
    return Path(os.environ.get("ESP_SMOLTCP_INTEROP_DIR") or DEFAULT_DIR)


def app_path(name: str) -> Path:
    return interop_dir() / name


class App(Demo):
    """An interop app in the dut namespace: static 198.18.0.2/24, gw the peer."""

    def __init__(self, bed: netbed.Bed, name: str, args: List[str]):
        super().__init__(bed, app_path(name), ["--static", f"{DUT_IP}/24", "--gw", bed.peer_ip, *args])

    def wait_exit(self, timeout: float) -> int:
        """Exit code of an app that ends by itself (killed and failed if it does not in time)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.argv[0]} did not exit within {timeout}s\n" + self.output())
        for t in self._threads:
            t.join(timeout=2)
        self.returncode = rc
        return rc


# ------------------------------------------------------------------ PKI (openssl, at run time)
def _openssl(args: List[str], cwd: str) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")


def make_ca(d: str, name: str) -> None:
    """<name>.key/<name>.pem: a P-256 self-signed CA."""
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=esst {name}",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)


def make_leaf(d: str, ca: str, name: str, dns: str, ip: str) -> None:
    """<name>.key/<name>.pem: a P-256 server certificate for dns (CN and SAN) and ip, signed by ca."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{dns},IP:{ip}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns}"], d)
    _openssl(["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
              "-set_serial", str(int(time.time() * 1000) % 2**31), "-days", "2",
              "-out", f"{name}.pem", "-extfile", f"{name}.ext"], d)


class Pki:
    """ca (trusted), rogue (a CA nobody trusts), dut and peer server certificates."""

    def __init__(self, workdir: str):
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir, exist_ok=True)
        make_ca(self.dir, "ca")
        make_ca(self.dir, "rogue")
        make_leaf(self.dir, "ca", "dut", DUT_NAME, DUT_IP)
        make_leaf(self.dir, "ca", "peer", PEER_NAME, netbed.PEER_IP)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)


# ------------------------------------------------------------------ peer services
def wait_listen(bed: netbed.Bed, port: int, timeout: float = 10, proc: Optional[subprocess.Popen] = None) -> None:
    """Until a TCP socket listens on `port` in the peer namespace."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = bed.peer(["ss", "-Hltn", f"sport = :{port}"], check=False, timeout=10)
        if r.stdout.strip():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"peer server on port {port} exited with {proc.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} in the peer after {timeout}s")


class Mosquitto:
    """mosquitto in the peer: listener 1883 (clear) and 8883 (TLS, peer certificate)."""

    def __init__(self, bed: netbed.Bed, pki: Pki):
        self.bed = bed
        self.dir = os.path.join(bed.workdir, "mosquitto")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write(f"""# generated by tests/interop
per_listener_settings false
allow_anonymous true
persistence false
user root
log_dest file {self.log_path}
log_type all
connection_messages true
listener 1883 {bed.peer_ip}
listener 8883 {bed.peer_ip}
cafile {pki.path('ca.pem')}
certfile {pki.path('peer.pem')}
keyfile {pki.path('peer.key')}
""")
        self.proc = bed.run_peer(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        wait_listen(bed, 1883, proc=self.proc)
        wait_listen(bed, 8883, proc=self.proc)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text: str, timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"mosquitto log has no {text!r} after {timeout}s:\n" + self.log()[-3000:])
            time.sleep(0.05)
        return self.log()

    def stop(self) -> None:
        self.bed.stop(self.proc)


class MosquittoSub:
    """mosquitto_sub in the peer, one line per message: 'MSG <qos> <topic> <len> <payload>'."""

    def __init__(self, bed: netbed.Bed, topic: str, count: int, timeout_s: int):
        self.bed = bed
        self.out_path = os.path.join(bed.workdir, f"sub-{time.monotonic_ns()}.txt")
        self._out = open(self.out_path, "w")
        self.proc = bed.run_peer(["stdbuf", "-oL", "mosquitto_sub", "-h", bed.peer_ip, "-p", "1883", "-d",
                                  "-q", "1", "-t", topic, "-C", str(count), "-W", str(timeout_s),
                                  "-F", "MSG %q %t %l %p"], stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while "received SUBACK" not in self.text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("mosquitto_sub did not subscribe:\n" + self.text())
            time.sleep(0.05)

    def text(self) -> str:
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def messages(self) -> List[tuple]:
        """[(qos, topic, payload)] received so far."""
        out = []
        for line in self.text().splitlines():
            if line.startswith("MSG "):
                _, qos, topic, length, *rest = line.split(" ", 4)
                payload = rest[0] if rest else ""
                assert int(length) == len(payload.encode()), f"length mismatch in {line[:80]!r}"
                out.append((int(qos), topic, payload))
        return out

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._out.close()
        return rc


def mosquitto_pub(bed: netbed.Bed, topic: str, qos: int, message: Optional[str] = None,
                  file: Optional[str] = None) -> None:
    args = ["mosquitto_pub", "-h", bed.peer_ip, "-p", "1883", "-q", str(qos), "-t", topic]
    args += ["-f", file] if file else ["-m", message or ""]
    bed.peer(args, timeout=20)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()
