#!/usr/bin/env python3
"""make demo: esp_smoltcp serving /dl/N over an emulated 100 Mbit/s Ethernet wire.

Builds nothing itself (make does). Brings up the namespace test bed with tbf
shaping on both directions, dnsmasq as DHCP server in `peer`, starts the
eth_basic host twin in `dut`, waits for its DHCP lease, downloads /dl/N with
curl from `peer` (curl's progress meter visible), then prints the server's
Mbit/s, the share of the 94.93 Mbit/s TCP ceiling, RX pool drops, TX failures
and the demo's resident memory. Everything is torn down at the end.
"""
import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_helpers import Demo, get_stats, netbed  # noqa: E402

# 1460 payload bytes per 1538 bytes on the wire (1500 MTU + 14 Ethernet + 4 FCS + 8 preamble + 12 IFG).
CEILING_MBPS = 1460 / 1538 * 100


def resident_kib(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(val.split()[0])
    except OSError:
        pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(REPO / "build/host/examples/eth_basic/eth_basic"))
    ap.add_argument("--bytes", type=int, default=200_000_000)
    ap.add_argument("--unshaped", action="store_true", help="no tbf: raw TAP speed")
    args = ap.parse_args()
    if not Path(args.bin).exists():
        print(f"demo: {args.bin} not built; run `make demo`", file=sys.stderr)
        return 2

    with netbed.Bed(shaped=not args.unshaped) as bed:
        bed.start_dnsmasq()
        demo = Demo(bed, Path(args.bin), [])
        demo.wait_ip(timeout=30)
        print(f"demo: stack got {demo.ip}/{demo.prefix} from dnsmasq (gw {demo.gw}); "
              f"wire: {'unshaped TAP' if args.unshaped else 'tbf 100 Mbit/s each way, overhead 24'}")
        mark = demo.mark()
        url = f"http://{demo.ip}/dl/{args.bytes}"
        print(f"demo: curl {url}", flush=True)
        t0 = time.monotonic()
        # curl's progress meter goes to this terminal (stderr inherited).
        r = subprocess.run(bed.peer_exec_prefix() + ["curl", "-o", "/dev/null", "--fail", url])
        wall = time.monotonic() - t0
        if r.returncode != 0:
            print(f"demo: curl failed ({r.returncode})\n" + demo.output(), file=sys.stderr)
            return 1
        m = demo.wait_line(r"^dl: (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s", timeout=10, start=mark)
        mbps = float(m.group(3))
        stats = get_stats(bed, host=demo.ip)
        mem = resident_kib(demo.proc.pid)
        demo.stop()
        print()
        print(f"server: {m.group(0)}")
        print(f"        {mbps:.2f} Mbit/s = {100 * mbps / CEILING_MBPS:.1f} % of the {CEILING_MBPS:.2f} Mbit/s "
              f"TCP ceiling at MTU 1500 (client wall time {wall:.1f} s)")
        drops = stats["rx_drops"]
        print(f"        RX pool drops {drops['pool_empty']} (queue full {drops['queue_full']}), "
              f"TX failures {stats['tx_failures']}, RX pool high-water "
              f"{stats['rx_pool_high_water']}/{stats['rx_pool_capacity']}")
        if mem:
            print(f"        demo process resident memory {mem.get('VmRSS', 0)} KiB "
                  f"(peak {mem.get('VmHWM', 0)} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
