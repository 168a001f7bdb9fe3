#!/usr/bin/env python3
"""make bench / make bench-quick: esp_smoltcp vs lwIP 2.1.3 vs the Linux kernel, side by side.

The same application source (examples/eth_basic/host/http_server.c + bench/rr_server.c)
is built three ways (bench/CMakeLists.txt) and measured in throw-away namespaces
(tests/netbed: Bed) with addresses in 198.18.0.0/15 only:

  1. TCP download/upload over the emulated 100 Mbit/s wire (tbf both ways)
  2. the same with +1 ms and +10 ms each way (tools/wire: seeded userspace wire)
  3. unshaped TAP throughput
  4. callgrind instructions per payload byte (RX, TX) and per connection
  5. latency: ICMP echo and TCP 1-byte request/response, 1000 each
  6. wrk, 64 keep-alive connections
  7. idle CPU of the server with 16 connections blocked

One run prints a table, writes bench/out/results.json and docs/benchmarks.md (+ PNG).
Every load is bounded (sizes, counts, timeouts); processes are stopped by PID (Bed).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "netbed"))
sys.path.insert(0, HERE)
import netbed  # noqa: E402
from netbed import Bed  # noqa: E402
import cgsplit  # noqa: E402

try:
    from netbed import WireConfig  # tools/wire (may be absent on older trees)
except ImportError:  # pragma: no cover
    WireConfig = None

SERVER_IP = "198.18.0.2"
PREFIX = 24
CEILING = 94.93  # TCP payload Mbit/s at MTU 1500 without timestamps (1460/1538 * 100)
CEILING_TS = 94.15  # with TCP timestamps (Linux uses them)
MACS = {"smoltcp": "02:00:00:00:00:02", "lwip": "02:00:00:00:00:03", "kernel": "02:00:00:00:00:04"}
STACKS = ["smoltcp", "lwip", "kernel"]
LABEL = {"smoltcp": "esp_smoltcp", "lwip": "lwIP 2.1.3", "kernel": "Linux"}
# valgrind counts every iteration of `rep movsb` as one instruction; glibc's memcpy uses it
# for copies >= ~2 KiB (ours copies whole socket-buffer spans, lwIP pbuf-sized pieces).
# Keeping memcpy on its vector loop for all sizes makes the copies comparable.
CG_ENV = {"GLIBC_TUNABLES": "glibc.cpu.x86_rep_movsb_threshold=4294967295"}

PROFILES = {
    "quick": dict(shaped_bytes=10_000_000, delay={1000: 4_000_000, 10000: 2_000_000},
                  unshaped_bytes=50_000_000, cg_bytes=4_000_000, cg_conns=40, rr=1000, ping=1000,
                  ping_interval="0.0005", wrk_secs=2, wrk0_secs=1, idle_secs=1,
                  cg_builds=["s-Os"], cg_sockets_row=False),
    "full": dict(shaped_bytes=200_000_000, delay={1000: 50_000_000, 10000: 20_000_000},
                 unshaped_bytes=1_000_000_000, cg_bytes=20_000_000, cg_conns=200, rr=1000, ping=1000,
                 ping_interval="0.001", wrk_secs=10, wrk0_secs=5, idle_secs=5,
                 cg_builds=["s-Os", "s-O2", "3-Os", "3-O2"], cg_sockets_row=True),
}

# build variants: name -> (CMake build type args, env for the cargo step)
BUILDS = {
    "s-O2": (["-DCMAKE_BUILD_TYPE=RelWithDebInfo"], {}),
    "s-Os": (["-DCMAKE_BUILD_TYPE=MinSizeRel", "-DCMAKE_C_FLAGS_MINSIZEREL=-Os -g -DNDEBUG"], {}),
    "3-O2": (["-DCMAKE_BUILD_TYPE=RelWithDebInfo"], {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3"}),
    "3-Os": (["-DCMAKE_BUILD_TYPE=MinSizeRel", "-DCMAKE_C_FLAGS_MINSIZEREL=-Os -g -DNDEBUG"],
             {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3"}),
}
TIMING_BUILD = "s-O2"  # the default host build (RelWithDebInfo, glue at the shipped opt-level "s")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def bdir(build: str) -> str:
    return os.path.join(ROOT, "build", "bench", build)


def binpath(build: str, name: str) -> str:
    return os.path.join(bdir(build), "bench", name)


def build_all(builds: List[str]) -> Dict[str, bool]:
    have_lwip = {}
    for b in builds:
        args, env = BUILDS[b]
        e = dict(os.environ, **env)
        d = bdir(b)
        log(f"build {b} -> {os.path.relpath(d, ROOT)}")
        subprocess.run(["cmake", "-S", ROOT, "-B", d, "-G", "Ninja", *args], check=True, env=e,
                       stdout=subprocess.DEVNULL, timeout=600)
        r = subprocess.run(["cmake", "--build", d, "--target", "bench_all"], env=e, capture_output=True,
                           text=True, timeout=1800)
        if r.returncode != 0:
            print(r.stdout[-4000:], r.stderr[-4000:])
            raise SystemExit(f"bench: build {b} failed")
        have_lwip[b] = os.path.exists(binpath(b, "bench_lwip"))
    return have_lwip


# ------------------------------------------------------------------------------------ helpers
def pcap_retrans(path: str, sport: int = 80) -> Dict[str, int]:
    """Data segments sent from port `sport` whose end does not advance the highest sequence
    seen on that flow: retransmissions (as seen at the capture point)."""
    out = {"segments": 0, "retrans": 0}
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return out
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    high: Dict[tuple, int] = {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 54 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 0x0F) * 4
        if pkt[23] != 6:
            continue
        tot = struct.unpack(">H", pkt[16:18])[0]
        t = 14 + ihl
        if len(pkt) < t + 20:
            continue
        sp, dp, seq = struct.unpack(">HHI", pkt[t:t + 8])
        if sp != sport:
            continue
        doff = (pkt[t + 12] >> 4) * 4
        plen = tot - ihl - doff
        if plen <= 0:
            continue
        key = (pkt[26:30], dp)
        end = (seq + plen) & 0xFFFFFFFF
        out["segments"] += 1
        h = high.get(key)
        if h is None:
            high[key] = end
        elif ((end - h) & 0xFFFFFFFF) < 0x80000000 and end != h:
            high[key] = end
        else:
            out["retrans"] += 1
    return out


def snmp(bed: Bed, side: str) -> Dict[str, int]:
    fn = bed.peer if side == "peer" else bed.dut
    r = fn(["cat", "/proc/net/snmp", "/proc/net/netstat"], check=False, timeout=10)
    out: Dict[str, int] = {}
    lines = r.stdout.splitlines()
    for i in range(len(lines) - 1):
        a, b = lines[i].split(), lines[i + 1].split()
        if len(a) > 1 and len(a) == len(b) and a[0] == b[0] and not a[1].lstrip("-").isdigit() \
                and b[1].lstrip("-").isdigit():
            for k, v in zip(a[1:], b[1:]):
                try:
                    out[a[0].rstrip(":") + k] = int(v)
                except ValueError:
                    pass
    return out


def tap_drops(bed: Bed, stack: str) -> Optional[int]:
    """Frames the kernel dropped on the way into the stack process (TAP queue full)."""
    if stack == "kernel":
        return None
    r = bed.dut(["cat", f"/sys/class/net/{bed.tap_name}/statistics/tx_dropped"], check=False, timeout=10)
    return int(r.stdout.strip()) if r.stdout.strip().isdigit() else None


def tbf_drops(bed: Bed) -> int:
    total = 0
    for ns, dev in ((bed.dut_ns, bed.dut_veth), (bed.peer_ns, bed.peer_veth)):
        r = subprocess.run(["tc", "-n", ns, "-s", "qdisc", "show", "dev", dev], capture_output=True,
                           text=True, timeout=10)
        m = re.search(r"dropped (\d+)", r.stdout)
        total += int(m.group(1)) if m else 0
    return total


class Server:
    """One server process (a bench_* binary, optionally under callgrind) on a bed."""

    def __init__(self, bed: Bed, stack: str, build: str, logdir: str, tag: str,
                 extra: Optional[List[str]] = None, valgrind: Optional[str] = None):
        self.bed, self.stack, self.tag = bed, stack, tag
        self.log_path = os.path.join(logdir, f"{tag}-{stack}.log")
        self.kernel_if = None
        if stack == "kernel":
            self._kernel_if_up()
            argv = [binpath(build, "bench_kernel")]
        else:
            argv = [binpath(build, f"bench_{stack}"), "--tap", bed.tap_name, "--mac", MACS[stack],
                    "--static", f"{SERVER_IP}/{PREFIX}", *(extra or [])]
        env = None
        if valgrind:
            argv = ["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
                    f"--callgrind-out-file={valgrind}", *argv]
            env = dict(os.environ, **CG_ENV)
        bed.peer(["ip", "neigh", "flush", "dev", bed.peer_veth], check=False)
        self.logf = open(self.log_path, "w")
        self.proc = bed.run_dut(argv, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + (60 if valgrind else 20)
        while "bench: ready" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{stack} server did not start:\n{self.log()[-2000:]}")
            time.sleep(0.05)
        for _ in range(40):  # ARP + first answer
            if bed.peer(["ping", "-c", "1", "-W", "1", SERVER_IP], check=False, timeout=10).returncode == 0:
                break
        else:
            raise RuntimeError(f"{stack} server does not answer ping:\n{self.log()[-2000:]}")

    def _kernel_if_up(self) -> None:
        d = self.bed.dut_ns
        for c in (["link", "add", "kd", "address", MACS["kernel"], "type", "veth", "peer", "name", "kb"],
                  ["link", "set", "kb", "master", self.bed.bridge],
                  ["addr", "add", f"{SERVER_IP}/{PREFIX}", "dev", "kd"],
                  ["link", "set", "kb", "up"], ["link", "set", "kd", "up"]):
            subprocess.run(["ip", "-n", d, *c], check=True, capture_output=True, timeout=15)
        self.kernel_if = "kd"

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def last(self, pattern: str) -> Optional[re.Match]:
        m = None
        for m in re.finditer(pattern, self.log()):
            pass
        return m

    def stats(self) -> dict:
        r = self.bed.peer(["curl", "-s", "--max-time", "10", f"http://{SERVER_IP}/stats"], check=False,
                          timeout=20)
        try:
            return json.loads(r.stdout)
        except json.JSONDecodeError:
            return {}

    def cpu_ns(self) -> int:
        total = 0
        for f in glob.glob(f"/proc/{self.pid}/task/*/schedstat"):
            try:
                total += int(open(f).read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def ctx_switches(self) -> int:
        total = 0
        for f in glob.glob(f"/proc/{self.pid}/task/*/status"):
            try:
                for line in open(f):
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
            except (OSError, ValueError):
                pass
        return total

    def status_kb(self, key: str) -> int:
        try:
            for line in open(f"/proc/{self.pid}/status"):
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return -1

    def stop(self) -> None:
        self.bed.stop(self.proc)
        self.logf.close()
        if self.kernel_if:
            subprocess.run(["ip", "-n", self.bed.dut_ns, "link", "del", "kd"], capture_output=True, timeout=15)


def client(bed: Bed, build: str, *args, timeout: float = 60) -> dict:
    r = bed.peer([binpath(build, "bench_client"), *[str(a) for a in args]], check=False, timeout=timeout)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        out = {"error": (r.stdout + r.stderr).strip()[-300:] or f"exit {r.returncode}"}
    out["rc"] = r.returncode
    return out


def xfer_timeout(nbytes: int, min_mbps: float = 4.0) -> float:
    return 30 + nbytes * 8 / (min_mbps * 1e6)


def drops_of(stack: str, st: dict) -> Dict[str, Optional[int]]:
    if stack == "smoltcp":
        return {"rx_drops": st.get("rx_drop_pool_empty", 0) + st.get("rx_drop_queue_full", 0),
                "tx_failures": st.get("tx_failures"), "rx_pool_high_water": st.get("rx_pool_high_water")}
    if stack == "lwip":
        return {"rx_drops": st.get("rx_drop_alloc", 0) + st.get("rx_drop_input", 0),
                "tx_failures": st.get("tx_failures"), "rx_pool_high_water": None}
    return {"rx_drops": None, "tx_failures": None, "rx_pool_high_water": None}


def delta(a: dict, b: dict, keys) -> Dict[str, int]:
    return {k: (b.get(k, 0) - a.get(k, 0)) for k in keys}


# ------------------------------------------------------------------------------------ sections
def throughput_pair(bed: Bed, srv: Server, build: str, nbytes: int, capture: bool, workdir: str) -> dict:
    """Download then upload of nbytes; rates, drops, retransmissions."""
    res = {}
    st0 = srv.stats()
    tbf0 = tbf_drops(bed) if bed.shaped else 0
    tap0 = tap_drops(bed, srv.stack)
    # download: DUT sends; count its retransmissions in a header capture on the peer veth
    cap = None
    if capture:
        cap = bed.capture(bpf=f"tcp and src host {SERVER_IP} and src port 80", side="peer",
                          name=f"dl-{srv.stack}-{srv.tag}.pcap")
        cap.start()
    snmp0 = snmp(bed, "peer")
    dl = client(bed, build, "dl", SERVER_IP, 80, nbytes, timeout=xfer_timeout(nbytes))
    snmp1 = snmp(bed, "peer")
    if cap:
        path = cap.stop()
        dl["dut_retrans"] = pcap_retrans(path)["retrans"]
        dl["capture_segments"] = pcap_retrans(path)["segments"]
        os.unlink(path)
    dl["peer_tcp"] = delta(snmp0, snmp1, ["TcpExtTCPOFOQueue", "TcpExtTCPRcvCoalesce", "TcpInSegs", "TcpOutSegs"])
    res["dl"] = dl
    # upload: the peer kernel sends; its RetransSegs are the retransmissions
    snmp0 = snmp(bed, "peer")
    ul = client(bed, build, "ul", SERVER_IP, 80, nbytes, timeout=xfer_timeout(nbytes))
    snmp1 = snmp(bed, "peer")
    m = srv.last(r"ul: (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s")
    if m and int(m.group(1)) == nbytes:
        ul["server_mbps"] = float(m.group(3))
    ul["peer_retrans"] = delta(snmp0, snmp1, ["TcpRetransSegs"])["TcpRetransSegs"]
    res["ul"] = ul
    st1 = srv.stats()
    d = drops_of(srv.stack, st1)
    d0 = drops_of(srv.stack, st0)
    res["rx_drops"] = None if d["rx_drops"] is None else d["rx_drops"] - (d0["rx_drops"] or 0)
    res["tx_failures"] = None if d["tx_failures"] is None else d["tx_failures"] - (d0["tx_failures"] or 0)
    res["rx_pool_high_water"] = d["rx_pool_high_water"]
    res["wire_drops"] = (tbf_drops(bed) - tbf0) if bed.shaped else None
    tap1 = tap_drops(bed, srv.stack)
    res["tap_drops"] = None if tap0 is None or tap1 is None else tap1 - tap0
    res["stats_after"] = st1
    return res


def rate(x: dict, key: str = "mbps") -> Optional[float]:
    if not x or x.get("rc", 1) != 0:
        return None
    return x.get(key)


def section_shaped(P, stacks, build, logdir, results):
    log("1) 100 Mbit/s wire (tbf both ways), %d MB each way" % (P["shaped_bytes"] // 1_000_000))
    out = {}
    with Bed(shaped=True, ipv6=False) as bed:
        for s in stacks:
            srv = Server(bed, s, build, logdir, "shaped")
            try:
                r = throughput_pair(bed, srv, build, P["shaped_bytes"], True, logdir)
            finally:
                srv.stop()
            r["dl_mbps"] = rate(r["dl"])
            r["ul_mbps"] = r["ul"].get("server_mbps") or rate(r["ul"])
            out[s] = r
            log(f"   {s:8s} dl {r['dl_mbps']} ul {r['ul_mbps']} Mbit/s  rx_drops {r['rx_drops']} "
                f"tx_fail {r['tx_failures']} retrans dl {r['dl'].get('dut_retrans')} ul {r['ul'].get('peer_retrans')}")
    results["shaped"] = out


def section_delay(P, stacks, build, logdir, results):
    if WireConfig is None:
        results["delay"] = {"skipped": "tools/wire / netbed WireConfig not available"}
        log("2) delay: skipped (no tools/wire)")
        return
    log("2) +1 ms / +10 ms each way (tools/wire) on the 100 Mbit/s wire")
    out: Dict[str, dict] = {}
    try:
        with Bed(shaped=True, ipv6=False, wire=WireConfig(seed=1, both={"delay_us": 1000})) as bed:
            for s in stacks:
                srv = Server(bed, s, build, logdir, "wire")
                try:
                    for delay_us, nbytes in sorted(P["delay"].items()):
                        bed.wire.set("delay_us", delay_us)
                        rtt = bed.peer(["ping", "-c", "3", "-i", "0.2", SERVER_IP], check=False).stdout
                        m = re.search(r"= ([\d.]+)/[\d.]+/", rtt)  # min of 3
                        r = throughput_pair(bed, srv, build, nbytes, True, logdir)
                        r["dl_mbps"] = rate(r["dl"])
                        r["ul_mbps"] = r["ul"].get("server_mbps") or rate(r["ul"])
                        r["ping_rtt_ms"] = float(m.group(1)) if m else None
                        r["bytes"] = nbytes
                        out.setdefault(str(delay_us), {})[s] = r
                        log(f"   +{delay_us // 1000} ms {s:8s} dl {r['dl_mbps']} ul {r['ul_mbps']} Mbit/s "
                            f"(rtt {r['ping_rtt_ms']} ms) retrans dl {r['dl'].get('dut_retrans')} ul {r['ul'].get('peer_retrans')}")
                finally:
                    srv.stop()
            out["wire_final"] = bed.wire.stop()
    except Exception as e:  # the wire is new: report, do not lose the rest of the run
        traceback.print_exc()
        out["error"] = str(e)
    results["delay"] = out


def section_unshaped(P, stacks, build, logdir, results, bed):
    log("3,5,6,7) unshaped TAP: throughput, latency, wrk, idle")
    out: Dict[str, dict] = {}
    if True:
        for s in stacks:
            r: Dict[str, object] = {}
            extra = ["--sockets", "160"] if s == "smoltcp" else []
            srv = Server(bed, s, build, logdir, "unshaped", extra=extra)
            try:
                n = P["unshaped_bytes"]
                r["dl"] = client(bed, build, "dl", SERVER_IP, 80, n, timeout=xfer_timeout(n, 50))
                r["ul"] = client(bed, build, "ul", SERVER_IP, 80, n, timeout=xfer_timeout(n, 50))
                m = srv.last(r"ul: (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s")
                r["dl_mbps"] = rate(r["dl"])
                r["ul_mbps"] = float(m.group(3)) if m and int(m.group(1)) == n else rate(r["ul"])
                # 5) latency
                p = bed.peer(["ping", "-c", str(P["ping"]), "-i", P["ping_interval"], "-W", "1", SERVER_IP],
                             check=False, timeout=60)
                times = sorted(float(x) for x in re.findall(r"time=([\d.]+) ms", p.stdout))
                r["ping"] = {"n": len(times), "sent": P["ping"],
                             "median_us": round(statistics.median(times) * 1000, 1) if times else None,
                             "p99_us": round(times[min(len(times) - 1, int(0.99 * len(times)))] * 1000, 1) if times else None}
                r["rr"] = client(bed, build, "rr", SERVER_IP, 7, P["rr"], timeout=60)
                r["conn"] = client(bed, build, "conn", SERVER_IP, 80, P["cg_conns"], timeout=120)
                # 6) wrk: 64 keep-alive connections
                st0 = srv.stats()
                w = bed.peer(["wrk", "-t", "2", "-c", "64", "-d", f"{P['wrk_secs']}s", "--timeout", "2s",
                              f"http://{SERVER_IP}/dl/64"], check=False, timeout=P["wrk_secs"] + 60)
                r["wrk"] = parse_wrk(w.stdout + w.stderr)
                st1 = srv.stats()
                r["wrk"]["stats_after"] = st1
                # the same with a one-send response (GET /dl/0: head only, no Nagle hold on the body)
                w0 = bed.peer(["wrk", "-t", "2", "-c", "64", "-d", f"{P['wrk0_secs']}s", "--timeout", "2s",
                               f"http://{SERVER_IP}/dl/0"], check=False, timeout=P["wrk0_secs"] + 60)
                r["wrk0"] = parse_wrk(w0.stdout + w0.stderr)
                r["wrk"]["vm_hwm_kb"] = srv.status_kb("VmHWM")
                r["wrk"]["heap_in_use_after"] = st1.get("proc", {}).get("heap_in_use")
                if s == "smoltcp":
                    r["wrk"]["rx_pool_high_water"] = st1.get("rx_pool_high_water")
                    r["wrk"]["sockets_high_water"] = st1.get("sockets_high_water")
                    r["wrk"]["socket_alloc_failures"] = st1.get("socket_alloc_failures", 0) - st0.get("socket_alloc_failures", 0)
                # 7) idle with 16 blocked sockets
                time.sleep(0.5)
                hold_secs = P["idle_secs"] + 3
                holder = bed.run_peer([binpath(build, "bench_client"), "hold", SERVER_IP, "7", "16", str(hold_secs)],
                                      stdout=subprocess.PIPE, text=True)
                line = holder.stdout.readline()
                held = json.loads(line).get("held", 0) if line.strip().startswith("{") else 0
                time.sleep(0.5)
                c0, x0, t0 = srv.cpu_ns(), srv.ctx_switches(), time.monotonic()
                time.sleep(P["idle_secs"])
                c1, x1, t1 = srv.cpu_ns(), srv.ctx_switches(), time.monotonic()
                bed.stop(holder)
                r["idle"] = {"held": held, "secs": round(t1 - t0, 3), "cpu_ms": round((c1 - c0) / 1e6, 3),
                             "cpu_permille": round((c1 - c0) / 1e6 / ((t1 - t0) * 1000) * 1000, 3),
                             "ctx_switches_per_s": round((x1 - x0) / (t1 - t0), 1)}
            finally:
                srv.stop()
            out[s] = r
            log(f"   {s:8s} dl {r.get('dl_mbps')} ul {r.get('ul_mbps')} Mbit/s  ping {r['ping']['median_us']}/"
                f"{r['ping']['p99_us']} us  rr {r['rr'].get('median_us')}/{r['rr'].get('p99_us')} us  "
                f"wrk {r['wrk'].get('rps')} req/s err {r['wrk'].get('errors')}  idle {r['idle']['cpu_ms']} ms")
    results["unshaped"] = out


def parse_wrk(text: str) -> dict:
    out: Dict[str, object] = {"raw": text[-1500:]}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    out["requests"] = int(m.group(1)) if m else None
    errs = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errs += sum(int(x) for x in m.groups())
        out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errs += int(m.group(1))
        out["non_2xx"] = int(m.group(1))
    out["errors"] = errs if out["rps"] is not None else None
    m = re.search(r"Latency\s+([\d.]+)(\w+)", text)
    if m:
        v, u = float(m.group(1)), m.group(2)
        out["latency_avg_us"] = v * {"us": 1, "ms": 1000, "s": 1e6}.get(u, 1)
    return out


def section_callgrind(P, stacks, builds, have_lwip, logdir, results, bed):
    log("4) callgrind: instructions per payload byte (RX = upload, TX = download) and per connection")
    out: Dict[str, dict] = {}
    n, k = P["cg_bytes"], P["cg_conns"]
    rows = []
    cg_builds = [b for b in builds if b in P["cg_builds"]]
    for b in cg_builds:
        rows.append(("smoltcp", b, f"esp_smoltcp glue {b.split('-')[0]!s} / C -{b.split('-')[1]}", []))  # 16 sockets (default)
    if P["cg_sockets_row"]:
        rows.append(("smoltcp", TIMING_BUILD, "esp_smoltcp s / -O2, max_sockets 160", ["--sockets", "160"]))
    for b in cg_builds:
        if b.startswith("s-") and have_lwip.get(b):
            rows.append(("lwip", b, f"lwIP 2.1.3 (Debian .so) / netif+app C -{b.split('-')[1]}", []))
    cgdir = os.path.join(logdir, "callgrind")
    os.makedirs(cgdir, exist_ok=True)
    if True:
        for stack, b, label, extra in rows:
            if stack not in stacks:
                continue
            key = f"{stack}:{b}" + (":160" if extra else "")
            base = os.path.join(cgdir, key.replace(":", "_"))
            for f in glob.glob(base + "*"):
                os.unlink(f)
            srv = Server(bed, stack, b, logdir, "cg-" + b, extra=extra, valgrind=base + ".out")
            row = {"label": label, "build": b}
            try:
                client(bed, b, "dl", SERVER_IP, 80, 100_000, timeout=60)  # warm: ARP, first connection
                for phase, args in (("tx", ("dl", SERVER_IP, 80, n)), ("rx", ("ul", SERVER_IP, 80, n)),
                                    ("conn", ("conn", SERVER_IP, 80, k))):
                    subprocess.run(["callgrind_control", "-z", str(srv.pid)], capture_output=True, timeout=60)
                    c = client(bed, b, *args, timeout=600)
                    subprocess.run(["callgrind_control", "-d", phase, str(srv.pid)], capture_output=True,
                                   timeout=60)
                    dumps = sorted(glob.glob(base + ".out.*"), key=os.path.getmtime)
                    if c.get("rc") != 0 or not dumps:
                        row[phase] = {"error": c.get("error", "no dump")}
                        continue
                    sp = cgsplit.split(dumps[-1], top=30)
                    denom = n if phase != "conn" else k
                    sp["per_unit_stack"] = sp["stack_ir"] / denom
                    sp["per_unit_total"] = sp["total_ir"] / denom
                    sp["dump"] = os.path.relpath(dumps[-1], ROOT)
                    row[phase] = sp
            finally:
                srv.stop()
            out[key] = row
            log(f"   {label:52s} TX {row.get('tx', {}).get('per_unit_stack', float('nan')):.3f}  "
                f"RX {row.get('rx', {}).get('per_unit_stack', float('nan')):.3f} Ir/B  "
                f"conn {row.get('conn', {}).get('per_unit_stack', float('nan')):.0f} Ir")
    results["callgrind"] = {"bytes": n, "conns": k, "rows": out,
                            "note": "stack instructions = all instructions of the server process in the "
                                    "window minus the application's (http_server.c/sha256.c/rr_server.c and what "
                                    "they call outside the socket API); " + CG_ENV["GLIBC_TUNABLES"]}


# ------------------------------------------------------------------------------------ report
def fmt(v, nd=2, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def pct(v):
    return None if v is None else 100.0 * v / CEILING


def table_rows(res: dict, stacks: List[str]) -> List[List[str]]:
    rows = [["figure"] + [LABEL[s] for s in stacks]]
    sh = res.get("shaped", {})
    if sh:
        rows.append(["1. download, 100 Mbit/s wire [Mbit/s, % of 94.93]"] +
                    [f"{fmt(sh[s]['dl_mbps'])} ({fmt(pct(sh[s]['dl_mbps']), 1)} %)" if s in sh else "—" for s in stacks])
        rows.append(["1. upload, 100 Mbit/s wire [Mbit/s, % of 94.93]"] +
                    [f"{fmt(sh[s]['ul_mbps'])} ({fmt(pct(sh[s]['ul_mbps']), 1)} %)" if s in sh else "—" for s in stacks])
        rows.append(["1. RX drops / TX failures"] +
                    [f"{fmt(sh[s]['rx_drops'])} / {fmt(sh[s]['tx_failures'])}" if s in sh else "—" for s in stacks])
        rows.append(["1. retransmissions dl (server) / ul (peer)"] +
                    [f"{fmt(sh[s]['dl'].get('dut_retrans'))} / {fmt(sh[s]['ul'].get('peer_retrans'))}" if s in sh else "—"
                     for s in stacks])
        rows.append(["1. wire (tbf) drops / TAP queue drops"] +
                    [f"{fmt(sh[s]['wire_drops'])} / {fmt(sh[s].get('tap_drops'))}" if s in sh else "—" for s in stacks])
    dl = res.get("delay", {})
    for d in sorted((k for k in dl if k.isdigit()), key=int):
        dd = dl[d]
        rows.append([f"2. +{int(d) // 1000} ms each way: dl / ul [Mbit/s]"] +
                    [f"{fmt(dd[s]['dl_mbps'])} / {fmt(dd[s]['ul_mbps'])}" if s in dd else "—" for s in stacks])
        rows.append([f"2. +{int(d) // 1000} ms: retrans dl / ul"] +
                    [f"{fmt(dd[s]['dl'].get('dut_retrans'))} / {fmt(dd[s]['ul'].get('peer_retrans'))}" if s in dd else "—"
                     for s in stacks])
    if "skipped" in dl or "error" in dl:
        rows.append(["2. delay"] + [dl.get("skipped") or ("error: " + dl.get("error", ""))[:40]] + [""] * (len(stacks) - 1))
    un = res.get("unshaped", {})
    if un:
        rows.append(["3. unshaped TAP: dl / ul [Mbit/s]"] +
                    [f"{fmt(un[s].get('dl_mbps'), 0)} / {fmt(un[s].get('ul_mbps'), 0)}" if s in un else "—" for s in stacks])
    cg = res.get("callgrind", {}).get("rows", {})
    for key, row in cg.items():
        stack = key.split(":")[0]
        cells = ["—"] * len(stacks)
        if stack in stacks:
            cells[stacks.index(stack)] = (f"{fmt(row.get('tx', {}).get('per_unit_stack'), 2)} / "
                                          f"{fmt(row.get('rx', {}).get('per_unit_stack'), 2)} / "
                                          f"{fmt(row.get('conn', {}).get('per_unit_stack'), 0)}")
        rows.append([f"4. Ir/B TX / RX / Ir per conn: {row['label']}"] + cells)
    if un:
        rows.append(["5. ICMP echo median / p99 [µs]"] +
                    [f"{fmt(un[s]['ping']['median_us'], 0)} / {fmt(un[s]['ping']['p99_us'], 0)}" if s in un else "—"
                     for s in stacks])
        rows.append(["5. TCP 1-byte RR median / p99 [µs]"] +
                    [f"{fmt(un[s]['rr'].get('median_us'), 0)} / {fmt(un[s]['rr'].get('p99_us'), 0)}" if s in un else "—"
                     for s in stacks])
        rows.append(["5. connect + GET /dl/100 + close [µs per connection]"] +
                    [fmt(un[s].get('conn', {}).get('per_conn_us'), 0) if s in un else "—" for s in stacks])
        rows.append(["6. wrk 64 conns, GET /dl/64: req/s (errors)"] +
                    [f"{fmt(un[s]['wrk'].get('rps'), 0)} ({fmt(un[s]['wrk'].get('errors'))})" if s in un else "—"
                     for s in stacks])
        rows.append(["6. wrk 64 conns, GET /dl/0 (one send): req/s (errors)"] +
                    [f"{fmt(un[s]['wrk0'].get('rps'), 0)} ({fmt(un[s]['wrk0'].get('errors'))})" if s in un and 'wrk0' in un[s]
                     else "—" for s in stacks])
        rows.append(["6. peak RSS (VmHWM) / pool high-water"] +
                    [f"{fmt(un[s]['wrk'].get('vm_hwm_kb'))} KiB / {fmt(un[s]['wrk'].get('rx_pool_high_water'))}"
                     if s in un else "—" for s in stacks])
        rows.append(["7. idle, 16 sockets: CPU ms per s / wakeups per s"] +
                    [f"{fmt(un[s]['idle']['cpu_ms'] / un[s]['idle']['secs'], 3)} / {fmt(un[s]['idle']['ctx_switches_per_s'], 1)}"
                     if s in un else "—" for s in stacks])
    return rows


def text_table(rows: List[List[str]]) -> str:
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
        if j == 0:
            lines.append("  ".join("-" * x for x in w))
    return "\n".join(lines)


def md_table(rows: List[List[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def plot(results_path: str, png: str) -> Optional[str]:
    script = os.path.join(HERE, "plot.py")
    for py in (sys.executable, "/usr/bin/python3"):
        r = subprocess.run([py, script, results_path, png], capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            return png
    log("plot failed (matplotlib missing? bench/install.sh): " + r.stderr.strip()[-300:])
    return None


def cycles_section(res: dict) -> str:
    cg = res.get("callgrind", {}).get("rows", {})
    if not cg:
        return "_callgrind section not run_\n"
    lines = []
    for key in [k for k in ("smoltcp:s-Os", "lwip:s-Os", "smoltcp:s-O2:160") if k in cg]:
        row = cg[key]
        for phase, n in (("tx", "TX (download)"), ("rx", "RX (upload)")):
            ph = row.get(phase)
            if not ph or "categories_self_ir" not in ph:
                continue
            nb = res["callgrind"]["bytes"]
            cats = ", ".join(f"{c} {v / nb:.2f}" for c, v in ph["categories_self_ir"].items() if c != "app" and v / nb >= 0.01)
            lines.append(f"**{row['label']} — {n}: {ph['per_unit_stack']:.2f} Ir/B** (self cost per payload byte: {cats})\n")
            lines.append("| Ir/B | function |\n|---:|---|")
            for f in ph["top_functions"][:12]:
                lines.append(f"| {f['ir'] / nb:.3f} | `{f['fn'][:110]}` |")
            lines.append("")
    return "\n".join(lines)


def rv32_section(bench_dir: str = os.path.join(ROOT, "build", "rv32", "bench")) -> str:
    """Issue 10's figures beside the host ones: the last `make bench-rv32` on this checkout."""
    try:
        res = json.load(open(os.path.join(bench_dir, "results.json")))
    except (OSError, ValueError):
        return "_not run on this checkout: `make bench-rv32` (docs/benchmarks-rv32.md has the last figures)_\n"
    try:
        split = json.load(open(os.path.join(bench_dir, "split.json")))
    except (OSError, ValueError):
        split = {}
    meta = res.get("meta", {})
    lines = [f"`make bench-rv32` of {meta.get('date', '?')} (host load {meta.get('load', '?')}): the bare-metal "
             "rv32imafc image (-Os, Rust opt-level s) under QEMU `-icount`, virtio-net on the same "
             f"100 Mbit/s bed. Median of {meta.get('reps', '?')} transfers of {meta.get('bytes', 0) // 1_000_000} MB; "
             "data phase = curl's first to last body byte (as the host download above), client = "
             "curl's whole transfer incl. connect. QEMU late = how far the guest's clock had fallen behind "
             "wall time by the last transfer: the guest then ran below its nominal MIPS (QEMU cannot hold "
             "500 MIPS here, so that row shows the wire, not the core). What it does not model: "
             "docs/benchmarks-rv32.md.", "",
             "| core | download data phase | download client | upload data phase | upload client | QEMU late |",
             "|---|---|---|---|---|---|"]
    for mips in sorted({r["mips"] for r in res.get("runs", [])}):
        cells = []
        for d in ("dl", "ul"):
            runs = [r for r in res["runs"] if r["mips"] == mips and r["dir"] == d and "data_mbps" in r]
            for key in ("data_mbps", "client_mbps"):
                cells.append(f"{statistics.median(r[key] for r in runs):.2f}" if runs else "—")
        late = [r["late"][0] for r in res["runs"] if r["mips"] == mips and r.get("late")]
        lines.append(f"| {mips} MIPS | " + " | ".join(cells) + f" | {late[-1].split('late by ')[-1] if late else 'no'} |")
    if split:
        groups = [g for g in split["dl"]["groups"] if split["dl"]["groups"][g]["instructions"]
                  or split["ul"]["groups"][g]["instructions"]]
        lines += ["", f"RV32 instructions per payload byte and per 1460-byte segment (QEMU plugin, "
                  f"{split['dl']['bytes'] // 1_000_000} MB each way); no lwIP rv32 image can be built here "
                  "(no lwIP sources), so no ratio:", "",
                  "| group | download (TX) /byte | /segment | upload (RX) /byte | /segment |", "|---|---|---|---|---|"]
        for g in groups + ["total"]:
            cell = [split[d] if g == "total" else split[d]["groups"][g] for d in ("dl", "ul")]
            lines.append(f"| {g} | {cell[0]['per_byte']:.2f} | {cell[0]['per_segment']:.0f} | "
                         f"{cell[1]['per_byte']:.2f} | {cell[1]['per_segment']:.0f} |")
    st = res.get("stats_shift2")
    if st:
        lines += ["", f"RAM at 250 MIPS after the transfers: static {st['static_ram']} B, heap high-water "
                  f"{st['heap_used']} B (virtio rings, RX pool, TCP buffers, stacks), app thread stack "
                  f"{st['thread_stack_used']} of {st['thread_stack_size']} B, RX pool high-water "
                  f"{st['rx_pool_high_water']} of {st['rx_pool_capacity']}, RX pool drops "
                  f"{st['rx_drop_pool_empty']}, TX failures {st['tx_failures']}."]
    return "\n".join(lines) + "\n"


def write_docs(res: dict, stacks: List[str], rows, png: Optional[str], path: str) -> None:
    notes_path = os.path.join(HERE, "NOTES.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    meta = res["meta"]
    doc = f"""# Benchmarks: esp_smoltcp vs lwIP 2.1.3 vs Linux

Generated by `make {'bench' if meta['profile'] == 'full' else 'bench-quick'}` ({meta['profile']} profile) on
{meta['date']}, {meta['host']}. All figures of one table come from one run, side by side; the
machine has {meta['cpus']} CPUs and other work may have been running (timings are noisy; callgrind
counts are not). Raw data: `bench/out/results.json`.

**Same application, three stacks.** `examples/eth_basic/host/http_server.c` (GET /dl/N, POST /ul
with sha256, GET /stats) and `bench/rr_server.c` (echo) are compiled unchanged against
`app_stack.h` of each stack: esp_smoltcp through the lwip_* shim (`examples/eth_basic/host/stack_smoltcp`),
Debian's liblwip 2.1.3 sockets API (`bench/stack_lwip`, driven by the small TAP netif
`bench/lwip_tapif.c` that reads frames into PBUF_RAM pbufs; lwIP itself unmodified, its Debian
lwipopts: TCP_WND 65535, TCP_SND_BUF 65535, MSS 1460), and the Linux kernel (`bench/stack_kernel`,
a veth bridged where the TAP is). esp_smoltcp runs with its defaults (TCP buffers 32120/32120,
RX pool 64, 16 sockets; 160 sockets on the unshaped bed — throughput, latency, wrk, idle — because 64 clients need more than 16).

**Topology** (`tests/netbed`): peer namespace (Linux client) — veth — bridge — TAP (stack process).
"100 Mbit/s wire": `tbf rate 100mbit burst 4614 latency 50ms overhead 24 mpu 84` on both veth ends;
ceiling for TCP payload {CEILING} Mbit/s at MTU 1500 without timestamps ({CEILING_TS} with them — Linux↔Linux
uses timestamps). Delay: the seeded userspace wire `tools/wire` between two TAPs, tbf still does the rate.
Rates are measured by the receiver: download = client, first to last body byte; upload = the
server's own `ul:` line. Retransmissions: download = data segments from the server that do not
advance the highest sequence in a header capture on the peer veth; upload = the peer kernel's
TcpRetransSegs. Sizes: {meta['sizes']}.

## Results

{md_table(rows)}

{'![benchmarks](benchmarks.png)' if png else ''}

Instructions (4.) are valgrind/callgrind counts of the whole server process while one transfer
runs, minus the application's own work (sha256, printf, pthread_create … reached from
http_server.c), divided by payload bytes; kernel work (syscalls, TAP) is not counted for anyone.
`{CG_ENV['GLIBC_TUNABLES']}` keeps glibc's memcpy off `rep movsb`, which valgrind counts one
instruction per byte (without it our ≥2 KiB socket-buffer copies cost ~0.9 Ir/B more than lwIP's
pbuf-sized ones for the same work). lwIP is Debian's shared library as shipped (its own compiler
flags; only our netif and the app change with -Os/-O2); Linux is not measurable this way.

## rv32imafc at 250 MIPS (issue 10)

{rv32_section()}
## Where the cycles go

{notes}

### Function-level split from this run

{cycles_section(res)}
"""
    with open(path, "w") as f:
        f.write(doc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (< 60 s of measuring)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", default="shaped,delay,unshaped,callgrind",
                    help="comma list of sections: shaped,delay,unshaped,callgrind")
    ap.add_argument("--stacks", default=",".join(STACKS))
    ap.add_argument("--cg-builds", default="", help="override the callgrind build variants, e.g. s-Os,3-Os")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                    help="markdown report to write ('' for none)")
    ap.add_argument("--report-only", action="store_true",
                    help="re-print the table and rewrite the report from --out/results.json")
    a = ap.parse_args()
    if a.report_only:
        rpath = os.path.join(a.out, "results.json")
        results = json.load(open(rpath))
        stacks = results["meta"]["stacks"]
        rows = table_rows(results, stacks)
        print(text_table(rows))
        if a.docs:
            png = plot(rpath, os.path.join(os.path.dirname(a.docs), "benchmarks.png"))
            write_docs(results, stacks, rows, png, a.docs)
        return 0
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces, TAP)", file=sys.stderr)
        return 2
    profile = "quick" if a.quick else "full"
    P = PROFILES[profile]
    sections = a.only.split(",")
    stacks = [s for s in a.stacks.split(",") if s in STACKS]
    if a.cg_builds:
        P = dict(P, cg_builds=a.cg_builds.split(","))
    builds = [TIMING_BUILD] + ([b for b in P["cg_builds"] if b != TIMING_BUILD] if "callgrind" in sections else [])
    if a.no_build:
        have_lwip = {b: os.path.exists(binpath(b, "bench_lwip")) for b in builds}
    else:
        have_lwip = build_all(builds)
    if not have_lwip.get(TIMING_BUILD) and "lwip" in stacks:
        log("lwIP variant not built (liblwip-dev missing: bench/install.sh) - skipping lwIP")
        stacks.remove("lwip")
    for tool in ("wrk", "valgrind", "callgrind_control", "curl", "ping", "tc"):
        if shutil.which(tool) is None:
            log(f"missing {tool} (bench/install.sh)")
    netbed.reap_stale()
    os.makedirs(a.out, exist_ok=True)
    logdir = os.path.join(a.out, "logs")
    os.makedirs(logdir, exist_ok=True)
    t_start = time.monotonic()
    results: Dict[str, object] = {"meta": {
        "profile": profile, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": os.uname().release, "cpus": os.cpu_count(), "stacks": stacks, "timing_build": TIMING_BUILD,
        "sizes": (f"wire {P['shaped_bytes'] // 1_000_000} MB, delay "
                  + ", ".join(f"+{d // 1000} ms {b // 1_000_000} MB" for d, b in sorted(P['delay'].items()))
                  + f", unshaped {P['unshaped_bytes'] // 1_000_000} MB, callgrind {P['cg_bytes'] // 1_000_000} MB"
                  + f" and {P['cg_conns']} connections, ping/RR {P['ping']}/{P['rr']}, wrk {P['wrk_secs']} s,"
                  + f" idle {P['idle_secs']} s"),
        "load": open("/proc/loadavg").read().split()[:3],
    }}
    try:
        if "shaped" in sections:
            section_shaped(P, stacks, TIMING_BUILD, logdir, results)
        if "delay" in sections:
            section_delay(P, stacks, TIMING_BUILD, logdir, results)
        if "unshaped" in sections or "callgrind" in sections:
            with Bed(shaped=False, ipv6=False) as bed:
                if "unshaped" in sections:
                    section_unshaped(P, stacks, TIMING_BUILD, logdir, results, bed)
                if "callgrind" in sections:
                    section_callgrind(P, stacks, builds, have_lwip, logdir, results, bed)
    finally:
        results["meta"]["seconds"] = round(time.monotonic() - t_start, 1)
        rpath = os.path.join(a.out, "results.json")
        with open(rpath, "w") as f:
            json.dump(results, f, indent=1, default=str)
    rows = table_rows(results, stacks)
    print()
    print(text_table(rows))
    print(f"\n(measuring took {results['meta']['seconds']} s; JSON: {os.path.relpath(rpath, ROOT)})")
    if a.docs:
        png = plot(rpath, os.path.join(os.path.dirname(a.docs), "benchmarks.png"))
        write_docs(results, stacks, rows, png, a.docs)
        print(f"report: {os.path.relpath(a.docs, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
