#!/usr/bin/env python3
"""Run the IDF linux-target eth_basic.elf in a netbed namespace and curl /dl/N.

Called by scripts/idf-linux.sh after the build. The app (real esp_http_server
on esp-smoltcp, FreeRTOS = IDF's POSIX simulator) opens the bed's TAP
($ETH_BASIC_TAP), gets a lease from dnsmasq in the peer namespace and logs
"up: A.B.C.D/N". For each N the peer curls /dl/N; the byte count and the
app's pattern (byte k = 'a' + (k % 4096) % 26) are checked and the rate is
printed. Everything it starts is stopped by PID; the namespaces are deleted.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "netbed"))
import netbed  # noqa: E402

SIZES = [0, 1460, 1000000, 10000000]
CHUNK = 4096


def expected_ok(path: str, n: int) -> bool:
    pattern = bytes(ord("a") + i % 26 for i in range(CHUNK))
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != n:
        return False
    full = pattern * (n // CHUNK) + pattern[: n % CHUNK]
    return data == full


IDF_PORT_NOTE = ("note: IDF's linux FreeRTOS port (master of 2026) can lose a task switch, and the app then "
                 "stops answering; docs/porting.md, 'IDF linux target', says how to tell and what fixes it")


def main() -> int:
    elf = sys.argv[1]
    timeout_up = float(os.environ.get("IDF_LINUX_UP_TIMEOUT", "60"))
    failures = 0
    with netbed.Bed(ipv6=False) as bed:
        bed.start_dnsmasq()
        log_path = os.path.join(bed.workdir, "eth_basic_idf.log")
        logf = open(log_path, "w")
        env = dict(os.environ, ETH_BASIC_TAP=bed.tap_name)
        app = bed.track(subprocess.Popen(bed.dut_exec_prefix() + [elf], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT, env=env))
        logf.close()

        def log() -> str:
            with open(log_path, errors="replace") as f:
                return f.read()

        ip = None
        deadline = time.monotonic() + timeout_up
        while time.monotonic() < deadline and app.poll() is None:
            m = re.search(r"up: (\d+\.\d+\.\d+\.\d+)/\d+", log())
            if m:
                ip = m.group(1)
                break
            time.sleep(0.2)
        if not ip:
            print(f"FAIL: no address within {timeout_up:.0f} s (exit {app.poll()}); app log:\n{log()}")
            print(IDF_PORT_NOTE)
            return 1
        # httpd_start() follows the "up:" line; wait for the URL line too.
        deadline = time.monotonic() + 10
        while "/dl/N" not in log() and time.monotonic() < deadline:
            time.sleep(0.1)
        print(f"app up at {ip} (DHCP from dnsmasq in {bed.peer_ns})")
        for n in SIZES:
            out = os.path.join(bed.workdir, f"dl-{n}")
            cmd = bed.peer_exec_prefix() + ["curl", "-sS", "--max-time", "120", "-o", out, "-w",
                                            "%{http_code} %{size_download} %{time_total} %{speed_download}",
                                            f"http://{ip}/dl/{n}"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
            parts = r.stdout.split()
            if r.returncode != 0 or len(parts) != 4:
                print(f"FAIL /dl/{n}: curl rc {r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
                failures += 1
                continue
            code, size, secs, bps = parts[0], int(parts[1]), float(parts[2]), float(parts[3])
            ok = code == "200" and size == n and expected_ok(out, n)
            print(f"{'ok  ' if ok else 'FAIL'} /dl/{n}: HTTP {code}, {size} bytes "
                  f"({'content checked' if ok else 'bad length/content'}), {secs:.3f} s, "
                  f"{bps * 8 / 1e6:.2f} Mbit/s (curl)")
            failures += 0 if ok else 1
        rates = re.findall(r"dl: \d+ bytes in \d+ us = [\d.]+ Mbit/s", log())
        for line in rates:
            print(f"     app: {line}")
        stats = subprocess.run(bed.peer_exec_prefix() + ["curl", "-sS", "--max-time", "10", f"http://{ip}/stats"],
                               capture_output=True, text=True, timeout=20)
        print("app /stats: " + " ".join(stats.stdout.split()))
        rc = bed.stop(app)
        print(f"app stopped by PID {app.pid} (exit {rc})")
        if failures:
            print(f"app log:\n{log()[-4000:]}")
            print(IDF_PORT_NOTE)
    print("idf-linux: " + ("PASS" if not failures else f"{failures} FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
