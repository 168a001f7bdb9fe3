#!/usr/bin/env python3
"""rv32 bench: the bare-metal rv32imafc image on an emulated 250 MIPS RISC-V core.

QEMU `virt` (qemu-system-riscv32, -icount shift=S,align=on,sleep=on: 2**S ns per
instruction) runs build/rv32/esp_smoltcp_rv32.elf with a virtio-net NIC on the test
bed's TAP (tests/netbed: namespaces created and deleted here, tbf 100 Mbit/s each
way, dnsmasq in `peer`). The image gets a DHCP lease, is pinged, then serves
/dl/N and /ul to curl in `peer`. Every process is started through the Bed and
stopped by PID; every wait is bounded.

  --demo           DHCP, ping, one byte-exact download (+ upload), /quit ends QEMU with 0
  --stress N       the stall regression check (make rv32-demo runs it): N x (dl + ul),
                   every byte checked, on a slow core (--stress-shift 4 = 62.5 MIPS)
  default          downloads and uploads, --reps each, at each --shift; then one
                   run with the instruction-count plugin (make bench-rv32)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "netbed"))
import netbed  # noqa: E402

ELF = REPO / "build/rv32/esp_smoltcp_rv32.elf"
PLUGIN = REPO / "build/rv32/libfncount.so"
OUT = REPO / "build/rv32/bench"
CEILING_MBPS = 1460 / 1538 * 100


class Guest:
    """One QEMU run inside the dut namespace; its UART lines are collected."""

    def __init__(self, bed, shift, plugin_out=None, log=None):
        self.bed = bed
        argv = ["qemu-system-riscv32", "-machine", "virt", "-bios", "none", "-m", "64M",
                "-display", "none", "-monitor", "none", "-serial", "stdio",
                "-icount", f"shift={shift},align=on,sleep=on",
                "-global", "virtio-mmio.force-legacy=false",
                "-netdev", f"tap,id=n0,ifname={bed.tap_name},script=no,downscript=no",
                "-device", f"virtio-net-device,netdev=n0,mac={bed.dut_mac}",
                "-kernel", str(ELF)]
        if plugin_out:
            mark = nm_symbol("bench_mark")
            argv[1:1] = ["-plugin", f"{PLUGIN},out={plugin_out},mark={mark:x}"]
        self.lines = []
        self.log = open(log, "w") if log else None
        self.proc = bed.run_dut(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", bufsize=1)
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self.log:
                self.log.write(line)
                self.log.flush()

    def wait_line(self, pattern, timeout, start=0):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(start, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    return m, i + 1
            if self.proc.poll() is not None and not self.t.is_alive():
                break
            time.sleep(0.05)
        raise RuntimeError(f"no line /{pattern}/ within {timeout}s; guest said:\n" + "\n".join(self.lines[-30:]))

    def stop(self):
        self.bed.stop(self.proc, grace=3)
        if self.log:
            self.log.close()


def nm_symbol(name):
    out = subprocess.run(["riscv64-unknown-elf-nm", str(ELF)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[2] == name:
            return int(p[0], 16)
    raise RuntimeError(f"{name} not in {ELF}")


def curl(bed, args, timeout):
    r = bed.peer(["curl", "-sS", "--fail", "--max-time", str(int(timeout)), *args], check=False,
                 timeout=timeout + 10)
    if r.returncode != 0:
        raise RuntimeError(f"curl {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def pattern(n, period):
    """byte i = i % period, as the image sends (/dl, period 251) and checks (/ul?check=1, 256)."""
    return (bytes(range(period)) * (n // period + 1))[:n]


def data_mbps(n, t_first, t_total):
    """The data phase as curl timed it: from the first byte (dl) or the start of the body (ul) to
    the end, i.e. without process start, connect and request. The client figure includes those."""
    span = float(t_total) - float(t_first)
    return n * 8 / span / 1e6 if span > 0 else 0.0


def download(bed, g, ip, n, verify=False):
    """GET /dl/n; with verify the body is kept in the bed workdir and compared byte for byte."""
    mark = len(g.lines)
    dst = os.path.join(bed.workdir, "dl.bin") if verify else "/dev/null"
    t0 = time.monotonic()
    out = curl(bed, ["-o", dst, "-w", "%{size_download} %{speed_download} %{time_starttransfer} %{time_total}",
                     f"http://{ip}/dl/{n}"], timeout=60 + n / 2e6)
    wall = time.monotonic() - t0
    m, _ = g.wait_line(r"^dl: (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s", 15, mark)
    size, speed, t_first, t_total = out.split()
    if int(size) != n:
        raise RuntimeError(f"dl: got {size} of {n} bytes")
    if verify:
        with open(dst, "rb") as f:
            body = f.read()
        os.unlink(dst)
        if body != pattern(n, 251):
            bad = sum(a != b for a, b in zip(body, pattern(n, 251)))
            raise RuntimeError(f"dl: {n} bytes arrived but {bad} differ from the pattern")
    return {"dir": "dl", "bytes": n, "guest_us": int(m.group(2)), "guest_mbps": float(m.group(3)),
            "client_mbps": float(speed) * 8 / 1e6, "data_mbps": data_mbps(n, t_first, t_total), "wall_s": wall}


def upload(bed, g, ip, n, src, verify=False):
    """POST n bytes to /ul; with verify the image checks every byte (/ul?check=1)."""
    src = os.path.join(bed.workdir, f"upload-{n}.bin")
    if not os.path.exists(src):
        with open(src, "wb") as f:
            f.write(pattern(n, 256))
        os.chmod(src, 0o644)
    mark = len(g.lines)
    t0 = time.monotonic()
    out = curl(bed, ["-X", "POST", "-H", "Content-Type: application/octet-stream",
                     "-H", "Expect:", "-T", src, "-w", "\n%{time_pretransfer} %{time_total}",
                     f"http://{ip}/ul" + ("?check=1" if verify else "")], timeout=60 + n / 2e6)
    wall = time.monotonic() - t0
    out, _, timing = out.rstrip("\n").rpartition("\n")
    t_first, t_total = timing.split()
    m, _ = g.wait_line(r"^ul: (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s", 15, mark)
    if verify:
        ans = json.loads(out)
        if ans.get("bytes") != n or ans.get("bad") != 0:
            raise RuntimeError(f"ul: the image reports {ans} for {n} bytes sent")
    return {"dir": "ul", "bytes": n, "guest_us": int(m.group(2)), "guest_mbps": float(m.group(3)),
            "client_mbps": n * 8 / wall / 1e6, "data_mbps": data_mbps(n, t_first, t_total), "wall_s": wall}


def stats(bed, ip):
    return json.loads(curl(bed, [f"http://{ip}/stats"], timeout=20))


def quit_guest(bed, g, ip, timeout=10):
    """GET /quit: the image ends QEMU through the sifive_test device; returns QEMU's exit status
    (None if it did not exit in time: then the caller's g.stop() kills it by PID)."""
    curl(bed, [f"http://{ip}/quit"], timeout=10)
    try:
        return g.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def stress(bed, shift, cycles, n):
    """Regression check for the stall of issue 10, on the -slaac image: 12 s after boot smoltcp's
    SLAAC (no router answers) makes the engine ask for an immediate poll for ever; the poll task
    must still let the virtio driver run. A slow core (shift 4 = 62.5 MIPS) makes the transfers
    outlast that point. Download + checked upload, `cycles` times, every byte verified; then ping
    and a clean QEMU exit. With the old poll loop this stalled at the 3rd-4th download."""
    global ELF
    plain, ELF = ELF, ELF.with_name(ELF.stem + "-slaac.elf")
    try:
        g, ip = boot(bed, shift, log=OUT / f"guest-stress{shift}.log")
    finally:
        ELF = plain
    try:
        t0 = stats(bed, ip)["ticks"]
        for c in range(cycles):
            for fn in (lambda: download(bed, g, ip, n, verify=True), lambda: upload(bed, g, ip, n, None, verify=True)):
                mark = len(g.lines)
                try:
                    r = fn()
                except RuntimeError as e:
                    raise RuntimeError(f"stress cycle {c}: {e}\n  guest: " + " | ".join(g.lines[mark:][-6:])) from None
                print(f"rv32: stress {1000 >> shift} MIPS cycle {c} {r['dir']} {n} bytes byte-exact, "
                      f"guest {r['guest_mbps']:.2f} Mbit/s", flush=True)
        p = bed.peer(["ping", "-c", "3", "-i", "0.2", "-W", "2", ip], check=False, timeout=20)
        if p.returncode != 0:
            raise RuntimeError(f"stress: no ping answer after the transfers: {p.stdout.strip()}")
        st = stats(bed, ip)
        if st["ticks"] < 15000:
            raise RuntimeError(f"stress: the run ended {st['ticks']} ms after boot, before SLAAC gives up "
                               f"(12 s): it tested nothing; use more --stress cycles or bytes")
        print(f"rv32: stress: guest time {t0} -> {st['ticks']} ms, polls {st['polls']} for "
              f"{st['poll_wakeups']} wakeups (the engine's 'poll now' loop was live)")
        rc = quit_guest(bed, g, ip)
        if rc != 0:
            raise RuntimeError(f"stress: QEMU exit status {rc} after /quit (want 0)")
        print(f"rv32: stress passed: {cycles} x (dl + ul) of {n} bytes at {1000 >> shift} MIPS, ping, QEMU exit 0")
    finally:
        g.stop()


def boot(bed, shift, plugin_out=None, log=None):
    g = Guest(bed, shift, plugin_out, log)
    m, _ = g.wait_line(r"^ip: ([\d.]+)/(\d+)", 60)
    return g, m.group(1)


def host_load():
    return os.getloadavg()[0]


def run_plugin(args, bed, src, results):
    """One run with the instruction counter: a download and an upload between marks."""
    out = Path(args.counts)
    g, ip = boot(bed, args.shift[0], plugin_out=str(out), log=OUT / "guest-plugin.log")
    try:
        n = args.plugin_bytes
        dl = download(bed, g, ip, n)
        ul = upload(bed, g, ip, n, src)
        st = stats(bed, ip)
        quit_guest(bed, g, ip)
    finally:
        g.stop()
    results["plugin"] = {"dl": dl, "ul": ul, "stats": st, "counts": str(out)}


def main():
    global ELF
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--demo-upload", action="store_true", help="--demo: an upload too")
    ap.add_argument("--shift", type=int, action="append", help="icount shift: 2 = 250 MIPS, 1 = 500 MIPS")
    ap.add_argument("--bytes", type=int, default=50_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--plugin-bytes", type=int, default=20_000_000)
    ap.add_argument("--no-plugin", action="store_true")
    ap.add_argument("--stress", type=int, metavar="CYCLES", default=0,
                    help="only the stall regression check: CYCLES x (dl + ul) at --stress-shift")
    ap.add_argument("--stress-shift", type=int, default=4)
    ap.add_argument("--stress-bytes", type=int, default=5_000_000)
    ap.add_argument("--elf", default=str(ELF))
    ap.add_argument("--counts", default=str(OUT / "fncount.txt"))
    ap.add_argument("--json", default=str(OUT / "results.json"))
    args = ap.parse_args()
    args.shift = args.shift or [2]
    ELF = Path(args.elf)
    if not ELF.exists():
        print(f"rv32: {ELF} not built (scripts/rv32.sh)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"runs": [], "host": {"nproc": os.cpu_count()},
               "meta": {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "load": round(host_load(), 2),
                        "reps": args.reps, "bytes": args.bytes}}
    with netbed.Bed(shaped=True) as bed:
        bed.start_dnsmasq()
        src = None
        os.chmod(bed.workdir, 0o755)
        if args.stress:
            stress(bed, args.stress_shift, args.stress, args.stress_bytes)
            return 0
        if args.demo:
            g, ip = boot(bed, args.shift[0], log=OUT / "guest-demo.log")
            try:
                print(f"rv32: image got {ip} by DHCP (icount shift={args.shift[0]}: {1000 >> args.shift[0]} MIPS)")
                p = bed.peer(["ping", "-c", "3", "-i", "0.2", "-W", "2", ip], check=False, timeout=20)
                print("rv32: " + (p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "ping: no output"))
                r = download(bed, g, ip, args.bytes, verify=True)
                print(f"rv32: dl {r['bytes']} bytes byte-exact: guest {r['guest_mbps']:.2f} Mbit/s, client "
                      f"{r['client_mbps']:.2f} Mbit/s ({100 * r['guest_mbps'] / CEILING_MBPS:.1f} % of "
                      f"{CEILING_MBPS:.2f})")
                if args.demo_upload:
                    r = upload(bed, g, ip, args.bytes, src, verify=True)
                    print(f"rv32: ul {r['bytes']} bytes byte-exact: guest {r['guest_mbps']:.2f} Mbit/s, client "
                          f"{r['client_mbps']:.2f} Mbit/s")
                st = stats(bed, ip)
                print("rv32: stats " + json.dumps(st))
                rc = quit_guest(bed, g, ip)
                print(f"rv32: /quit: QEMU exit status {rc}")
                if rc != 0:
                    return 1
            finally:
                g.stop()
            return 0
        for shift in args.shift:
            g, ip = boot(bed, shift, log=OUT / f"guest-shift{shift}.log")
            try:
                for rep in range(args.reps):
                    for fn in (lambda: download(bed, g, ip, args.bytes), lambda: upload(bed, g, ip, args.bytes, src)):
                        load0 = host_load()
                        mark = len(g.lines)
                        try:
                            r = fn()
                        except RuntimeError as e:
                            r = {"dir": "?", "error": str(e).splitlines()[0], "guest_mbps": 0.0, "client_mbps": 0.0,
                                 "data_mbps": 0.0,
                                 "wall_s": 0.0, "guest_us": 1, "bytes": args.bytes}
                            print("rv32: FAILED: " + r["error"] + "\n  guest: " + " | ".join(g.lines[mark:][-6:]))
                        r.update(shift=shift, mips=1000 >> shift, rep=rep, load1=round(load0, 2),
                                 late=[ln for ln in g.lines[mark:] if "late by" in ln][-1:])
                        results["runs"].append(r)
                        print(f"rv32: {r['mips']} MIPS {r['dir']} rep {rep}: guest {r['guest_mbps']:.2f} Mbit/s, "
                              f"client {r['client_mbps']:.2f} Mbit/s (data phase {r['data_mbps']:.2f}), "
                              f"wall {r['wall_s']:.2f} s, "
                              f"load {load0:.1f} {' '.join(r['late'])}",
                              flush=True)
                results[f"stats_shift{shift}"] = stats(bed, ip)
                results[f"exit_shift{shift}"] = quit_guest(bed, g, ip)
            finally:
                g.stop()
        for shift in args.shift:
            for d in ("dl", "ul"):
                runs = [r for r in results["runs"] if r["shift"] == shift and r["dir"] == d]
                if runs:
                    print(f"rv32: {1000 >> shift} MIPS {d} median of {len(runs)}: client "
                          f"{statistics.median(r['client_mbps'] for r in runs):.2f} Mbit/s, data phase "
                          f"{statistics.median(r['data_mbps'] for r in runs):.2f} Mbit/s "
                          f"(ceiling {CEILING_MBPS})")
        if not args.no_plugin:
            run_plugin(args, bed, src, results)
            print(f"rv32: plugin run: dl {results['plugin']['dl']['guest_mbps']:.2f}, ul "
                  f"{results['plugin']['ul']['guest_mbps']:.2f} Mbit/s; counters in {results['plugin']['counts']}")
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"rv32: results in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
