"""Helpers of the robustness suite (a uniquely named module, like e2e_helpers)."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from e2e_helpers import STATIC_IP, DROP_REASONS, Demo, get_stats, netbed, pattern_sha256  # noqa: E402,F401

PEER_LOAD = str(HERE / "peer_load.py")
MSS = 1460
# DROP_REASONS of e2e_helpers plus what newer builds report ('martian'); absent keys count 0.
ALL_DROP_REASONS = tuple(DROP_REASONS) + ("martian",)


# ------------------------------------------------------------------ tools
def ensure_hping3() -> str:
    """hping3 (Debian package), installed by tests/robust/install.sh when missing."""
    p = shutil.which("hping3") or (os.path.exists("/usr/sbin/hping3") and "/usr/sbin/hping3")
    if not p:
        r = subprocess.run(["bash", str(HERE / "install.sh")], capture_output=True, text=True,
                           timeout=600)
        p = shutil.which("hping3") or (os.path.exists("/usr/sbin/hping3") and "/usr/sbin/hping3")
        if not p:
            raise RuntimeError(f"hping3 missing and install.sh failed:\n{r.stdout}\n{r.stderr}")
    return p


def tap_counters(bed: netbed.Bed) -> Dict[str, int]:
    """The kernel's counters of the stack's TAP: frames the stack wrote (from_stack),
    frames handed to its reader (to_stack), frames the kernel dropped for lack of a
    reader or queue room (to_stack_dropped)."""
    j = json.loads(bed.dut(["ip", "-j", "-s", "link", "show", bed.tap_name]).stdout)[0]["stats64"]
    return {"from_stack": j["rx"]["packets"], "to_stack": j["tx"]["packets"],
            "to_stack_dropped": j["tx"]["dropped"]}


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def peer_snmp(bed: netbed.Bed) -> Dict[str, int]:
    """The peer kernel's /proc/net/snmp as {'Ip.InHdrErrors': n, 'Tcp.InCsumErrors': n, ...}."""
    txt = bed.peer(["cat", "/proc/net/snmp"]).stdout.splitlines()
    out = {}
    for head, vals in zip(txt[0::2], txt[1::2]):
        proto, names = head.split(":", 1)
        _, values = vals.split(":", 1)
        for k, v in zip(names.split(), values.split()):
            try:
                out[f"{proto}.{k}"] = int(v)
            except ValueError:
                pass
    return out


def peer_load(bed: netbed.Bed, cmd: str, args: dict, timeout: float = 120) -> dict:
    """Run tests/robust/peer_load.py CMD in the peer namespace; its one JSON line."""
    r = bed.peer([sys.executable, PEER_LOAD, cmd, json.dumps(args)], check=False, timeout=timeout)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(f"peer_load {cmd} failed rc={r.returncode}\nstdout: {r.stdout[-4000:]}\n"
                             f"stderr: {r.stderr[-4000:]}")


def start_peer_load(bed: netbed.Bed, cmd: str, args: dict) -> subprocess.Popen:
    return bed.run_peer([sys.executable, PEER_LOAD, cmd, json.dumps(args)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_peer_load(bed: netbed.Bed, p: subprocess.Popen, timeout: float) -> dict:
    try:
        so, se = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        bed.stop(p)
        so, se = p.communicate()
        raise AssertionError(f"peer_load did not finish in {timeout}s\n{so[-2000:]}\n{se[-2000:]}")
    bed.stop(p)
    try:
        return json.loads(so.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(f"peer_load failed rc={p.returncode}\n{so[-4000:]}\n{se[-4000:]}")


# ------------------------------------------------------------------ transfers (curl in peer)
class Transfer:
    """A curl download (GET /dl/N) or upload (POST /ul) running in the peer namespace."""

    def __init__(self, bed: netbed.Bed, direction: str, n: int, timeout: float, seed: int = 7):
        self.bed, self.direction, self.n, self.timeout = bed, direction, n, timeout
        tag = f"{direction}-{n}-{time.monotonic_ns()}"
        self.out = os.path.join(bed.workdir, f"{tag}.out")
        fmt = "%{http_code} %{size_download} %{size_upload} %{time_total} %{time_starttransfer}"
        argv = ["curl", "-sS", "--max-time", str(int(timeout)), "-o", self.out, "-w", fmt]
        if direction == "dl":
            self.want = pattern_sha256(n)
            argv.append(f"http://{STATIC_IP}/dl/{n}")
        else:
            data = random.Random(seed).randbytes(n)
            self.want = hashlib.sha256(data).hexdigest()
            src = os.path.join(bed.workdir, f"{tag}.src")
            with open(src, "wb") as f:
                f.write(data)
            argv += ["-H", "Expect:", "-H", "Content-Type: application/octet-stream",
                     "--data-binary", f"@{src}", f"http://{STATIC_IP}/ul"]
        self.t0 = time.monotonic()
        self.proc = bed.run_peer(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self) -> dict:
        try:
            so, se = self.proc.communicate(timeout=self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.bed.stop(self.proc)
            raise AssertionError(f"curl {self.direction} {self.n} hung past {self.timeout + 15}s")
        wall = time.monotonic() - self.t0
        self.bed.stop(self.proc)
        assert self.proc.returncode == 0, (f"curl {self.direction} {self.n} failed "
                                           f"rc={self.proc.returncode}: {se.strip()} ({so.strip()})")
        code, sdl, sul, ttot, tstart = so.split()
        res = {"code": int(code), "time": float(ttot), "wall": wall}
        if self.direction == "dl":
            h = hashlib.sha256()
            with open(self.out, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            res.update(size=int(sdl), sha256=h.hexdigest())
        else:
            with open(self.out) as f:
                j = json.loads(f.read())
            res.update(size=int(j["bytes"]), sha256=j["sha256"], uploaded=int(sul))
        os.unlink(self.out)
        res["ok"] = res["code"] == 200 and res["size"] == self.n and res["sha256"] == self.want
        res["mbit_s"] = self.n * 8 / res["time"] / 1e6 if res["time"] > 0 else 0.0
        return res


# ------------------------------------------------------------------ figures
class Results:
    """Rows collected by the tests, rendered in the terminal summary and saved."""

    def __init__(self):
        self.tables: Dict[str, Dict] = {}
        self.lock = threading.Lock()

    def add(self, table: str, columns: List[str], row: Dict) -> None:
        with self.lock:
            t = self.tables.setdefault(table, {"columns": columns, "rows": []})
            t["rows"].append(row)
            print(f"[{table}] " + ", ".join(f"{k}={row.get(k)}" for k in columns))

    def render(self) -> str:
        out = []
        with self.lock:
            for name, t in self.tables.items():
                cols = t["columns"]
                out.append(f"\n### {name}\n")
                out.append("| " + " | ".join(cols) + " |")
                out.append("|" + "---|" * len(cols))
                for r in t["rows"]:
                    out.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
        return "\n".join(out)

    def save(self, d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        with self.lock:
            (d / "results.json").write_text(json.dumps(self.tables, indent=1, default=str))
        p = d / "results.md"
        p.write_text("# Robustness figures (tests/robust)\n" + self.render() + "\n")
        return p


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


RESULTS = Results()


def drops_sum(stats: dict, reasons=DROP_REASONS) -> int:
    d = stats.get("rx_drops", {})
    return sum(int(d.get(k, 0)) for k in reasons)


def delta(after: dict, before: dict, key: str) -> int:
    if key in DROP_REASONS:
        return int(after["rx_drops"][key]) - int(before["rx_drops"][key])
    return int(after[key]) - int(before[key])


def wait_for(pred, timeout: float, interval: float = 0.25):
    """Poll pred() until truthy (returned) or timeout (returns the last value)."""
    deadline = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = pred()
    return v
