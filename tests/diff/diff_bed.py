"""Run one build of the differential suite (or of patterns.c) in its own netbed.

    python3 tests/diff/diff_bed.py kernel|shim [--bin PATH] [-- program args...]

kernel: Bed(kernel_dut=True) — the dut namespace has a kernel veth 198.18.0.2/24
        (MAC 02:00:00:00:00:02), the program uses the kernel's sockets.
shim:   Bed() — the program opens tap0 in the dut namespace and runs the stack
        with the same address and MAC.
Both: peer.py runs in the peer namespace (with IPv6 router adverts, so the dut
forms 2001:db8:1::ff:fe00:2 by SLAAC in both cases).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "netbed"))

import netbed  # noqa: E402

DUT_MAC = "02:00:00:00:00:02"
BUILD = Path(os.environ.get("ESP_SMOLTCP_BUILD") or REPO / "build" / "host")


def binary(name: str) -> Path:
    return BUILD / "tests" / "diff" / name


CASE_RE = re.compile(r"^case (\S+): (ok|FAIL|skip)\s?(.*)$")


def parse(out: str) -> Dict[str, Tuple[str, str, str]]:
    """{case: (status, why, observations)} from the program's output."""
    res = {}
    for line in out.splitlines():
        m = CASE_RE.match(line)
        if not m:
            continue
        name, status, rest = m.groups()
        why, obs = rest, ""
        if status == "ok":
            why, obs = "", rest[2:] if rest.startswith("| ") else rest
        elif status == "FAIL" and " | " in rest:
            why, obs = rest.split(" | ", 1)
        res[name] = (status, why, obs)
    return res


def start_peer(bed: netbed.Bed) -> subprocess.Popen:
    p = bed.run_peer([sys.executable, str(HERE / "peer.py"), "--ra"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True, bufsize=1)
    line = p.stdout.readline()
    if "ready" not in line:
        raise RuntimeError(f"peer did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}")
    errs: List[str] = []
    threading.Thread(target=lambda: errs.extend(p.stderr), daemon=True).start()
    p.errors = errs  # type: ignore[attr-defined]
    return p


def run_in_bed(variant: str, program: Path, args: List[str], timeout: float = 170,
               shaped: bool = False, capture_bpf: Optional[str] = None,
               packets: Optional[list] = None) -> Tuple[int, str, str]:
    """Run program (a kernel or shim build) in a fresh bed; returns (rc, stdout, stderr).
    With capture_bpf, the frames the peer's link saw (scapy packets) are appended to packets."""
    kernel = variant == "kernel"
    with netbed.Bed(kernel_dut=kernel, dut_mac=DUT_MAC, shaped=shaped) as bed:
        peer = start_peer(bed)
        argv = [str(program), *args]
        if not kernel:
            argv += ["--tap", bed.tap_name, "--mac", DUT_MAC]
        cap = bed.capture(capture_bpf).start() if capture_bpf is not None else None
        p = bed.run_dut(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            bed.stop(p)
            out, err = p.communicate()
            err += f"\n(timed out after {timeout} s)"
        if cap is not None:
            from scapy.utils import rdpcap  # only the capturing callers need scapy
            packets.extend(rdpcap(cap.stop()))
        peer_errs = "".join(getattr(peer, "errors", []))
        if peer_errs:
            err += "\n--- peer stderr:\n" + peer_errs
        return p.returncode, out, err


def main() -> int:
    variant = sys.argv[1]
    rest = sys.argv[2:]
    prog = binary(f"bsd_diff_{variant}")
    if rest[:1] == ["--bin"]:
        prog = Path(rest[1])
        rest = rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    t0 = time.monotonic()
    rc, out, err = run_in_bed(variant, prog, rest)
    sys.stdout.write(out)
    sys.stderr.write(err)
    print(f"(rc {rc}, {time.monotonic() - t0:.1f} s)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
