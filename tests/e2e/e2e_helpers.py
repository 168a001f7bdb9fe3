"""Helpers shared by the e2e tests: the demo process wrapper and peer-side clients.
(A uniquely named module rather than conftest, so other test trees' conftest.py
files cannot shadow it.)"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "netbed"))

import netbed  # noqa: E402

PEER_TOOLS = str(HERE / "peer_tools.py")
DEFAULT_DEMO = REPO / "build" / "host" / "examples" / "eth_basic" / "eth_basic"
STATIC_IP = "198.18.0.2"
DROP_REASONS = ("pool_empty", "queue_full", "runt", "bad_ip_header", "bad_ip_checksum",
                "bad_l4_header", "bad_l4_checksum")


def demo_path() -> Path:
    return Path(os.environ.get("ESP_SMOLTCP_DEMO_BIN") or DEFAULT_DEMO)


def pattern(n: int) -> bytes:
    """Body of GET /dl/N: byte i = i % 251."""
    base = bytes(range(251))
    return base * (n // 251) + base[:n % 251]


def pattern_sha256(n: int) -> str:
    return hashlib.sha256(pattern(n)).hexdigest()


# ------------------------------------------------------------------ demo process
class Demo:
    """The demo binary running in the dut namespace, output collected line by line."""

    IP_RE = re.compile(r"^ip: (\d+\.\d+\.\d+\.\d+)/(\d+) gw (\S+)")

    def __init__(self, bed: netbed.Bed, path: Path, args: List[str]):
        self.bed = bed
        self.argv = [str(path), "--tap", bed.tap_name, *args]
        self.stdout: List[str] = []
        self.stderr: List[str] = []
        self.cond = threading.Condition()
        self.ip: Optional[str] = None
        self.prefix: Optional[int] = None
        self.gw: Optional[str] = None
        self.returncode: Optional[int] = None
        self.proc = bed.run_dut(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1, errors="replace")
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout),
                                          daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def _pump(self, f, sink: List[str]) -> None:
        for line in f:
            with self.cond:
                sink.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, regex: str, timeout: float, start: int = 0) -> re.Match:
        """First stdout line at index >= start matching regex (re.search)."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.stdout)):
                    m = rx.search(self.stdout[i])
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"demo printed no line matching {regex!r} within {timeout}s\n"
                        + self.output())
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._threads):
                    raise AssertionError(f"demo exited with {self.proc.returncode} before a line "
                                         f"matching {regex!r}\n" + self.output())
                self.cond.wait(min(left, 0.2))

    def mark(self) -> int:
        with self.cond:
            return len(self.stdout)

    def wait_ip(self, timeout: float = 20) -> "Demo":
        m = self.wait_line(self.IP_RE.pattern, timeout)
        self.ip, self.prefix, self.gw = m.group(1), int(m.group(2)), m.group(3)
        return self

    def stop(self, grace: float = 5.0) -> Optional[int]:
        if self.returncode is None:
            self.returncode = self.bed.stop(self.proc, grace=grace)
            for t in self._threads:
                t.join(timeout=2)
        return self.returncode

    def final_stats(self) -> Optional[dict]:
        with self.cond:
            for line in reversed(self.stdout):
                if line.startswith("stats: "):
                    return json.loads(line[len("stats: "):])
        return None

    def output(self) -> str:
        with self.cond:
            return ("--- demo argv: " + " ".join(self.argv) + f" (pid {self.proc.pid}, "
                    f"rc {self.proc.returncode})\n--- stdout:\n" + "\n".join(self.stdout[-200:])
                    + "\n--- stderr:\n" + "\n".join(self.stderr[-200:]) + "\n")


# ------------------------------------------------------------------ peer-side helpers
def peer_tool(bed: netbed.Bed, cmd: str, args: dict, timeout: float = 60) -> dict:
    r = bed.peer([sys.executable, PEER_TOOLS, cmd, json.dumps(args)], check=False,
                 timeout=timeout)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(f"peer_tools {cmd} failed rc={r.returncode}\nstdout: {r.stdout}\n"
                             f"stderr: {r.stderr}")


def http(bed: netbed.Bed, requests: list, host: str = STATIC_IP, port: int = 80,
         timeout: float = 60, wait_eof: bool = False) -> dict:
    res = peer_tool(bed, "http", {"host": host, "port": port, "requests": requests,
                                  "timeout": min(timeout, 30), "wait_eof": wait_eof},
                    timeout=timeout)
    assert res["ok"], f"HTTP client error: {res}"
    return res


def get_stats(bed: netbed.Bed, host: str = STATIC_IP) -> dict:
    r = bed.peer(["curl", "-sS", "--max-time", "10", "-f", f"http://{host}/stats"], timeout=20)
    return json.loads(r.stdout)


def curl_download(bed: netbed.Bed, n: int, host: str = STATIC_IP, timeout: float = 60) -> dict:
    """curl GET /dl/N into a file in the bed's workdir; returns code, size, sha256, speed."""
    out = os.path.join(bed.workdir, f"dl-{n}-{time.monotonic_ns()}.bin")
    r = bed.peer(["curl", "-sS", "--max-time", str(int(timeout)), "-o", out, "-w",
                  "%{http_code} %{size_download} %{speed_download} %{time_total}",
                  f"http://{host}/dl/{n}"], check=False, timeout=timeout + 10)
    assert r.returncode == 0, f"curl failed rc={r.returncode}: {r.stderr}"
    code, size, speed, ttot = r.stdout.split()
    h = hashlib.sha256()
    with open(out, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    os.unlink(out)
    return {"code": int(code), "size": int(size), "sha256": h.hexdigest(),
            "mbit_s": float(speed) * 8 / 1e6, "time": float(ttot)}


def drops(stats: dict) -> dict:
    d = stats.get("rx_drops", {})
    return {k: int(d.get(k, 0)) for k in DROP_REASONS}


