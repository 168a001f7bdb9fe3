"""Helpers of the conformance suite: the client of peer_agent.py (which runs
inside the peer namespace and does every scapy thing) and the constants the
cases share. A uniquely named module, so other test trees cannot shadow it."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "netbed"))

from e2e_helpers import Demo, demo_path  # noqa: E402,F401
import netbed  # noqa: E402

AGENT = str(HERE / "peer_agent.py")
DUT_MAC = "02:00:00:00:00:02"
DUT_IP = "198.18.0.2"
DUT_LL = "fe80::ff:fe00:2"  # modified EUI-64 of DUT_MAC (RFC 4291 appendix A)
GW_IP = "198.18.0.1"


def vhost(n: int) -> Dict[str, str]:
    """Identity n of the agent's virtual hosts (see peer_agent.host)."""
    return {"mac": f"02:00:00:00:aa:{n:02x}", "ip": f"198.18.0.{10 + n}",
            "ll": f"fe80::aa:{n:x}", "ip6": f"2001:db8:1::{10 + n:x}"}


class AgentError(AssertionError):
    pass


class Agent:
    """peer_agent.py running in the bed's peer namespace; call(op, **args) -> dict."""

    def __init__(self, bed: netbed.Bed, dut_mac: str = DUT_MAC, dut_ip: str = DUT_IP):
        self.bed = bed
        self.err_path = os.path.join(bed.workdir, "agent.stderr")
        self._err = open(self.err_path, "w")
        self.proc = bed.run_peer([sys.executable, AGENT, bed.peer_veth, dut_mac, dut_ip],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                 text=True, bufsize=1)
        first = self._read(30)
        if not first.get("ready"):
            raise AgentError(f"agent did not start: {first}\n{self.stderr()}")
        self.dut_ll = first["dut_ll"]

    def stderr(self) -> str:
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentError(f"agent: no answer within {timeout}s\n{self.stderr()}")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                line = self.proc.stdout.readline()
                if not line:
                    raise AgentError(f"agent exited (rc {self.proc.poll()})\n{self.stderr()}")
                return json.loads(line)

    def call(self, op: str, rpc_timeout: Optional[float] = None, **args: Any) -> dict:
        """Run one agent command; the answer's own waits are bounded, plus a margin."""
        waits = [float(args.get(k, 0) or 0) for k in ("timeout", "wait")]
        limit = rpc_timeout if rpc_timeout is not None else 15 + sum(waits)
        self.proc.stdin.write(json.dumps(dict(args, op=op)) + "\n")
        self.proc.stdin.flush()
        r = self._read(limit)
        if not r.get("ok"):
            raise AgentError(f"agent {op} failed: {r.get('error')}\n{r.get('trace', '')}")
        return r

    # Shorthands --------------------------------------------------------------------------
    def exchange(self, frames: List[dict], match: dict, timeout: float = 1.0, count: int = 1,
                 gap: float = 0.0) -> List[dict]:
        return self.call("exchange", frames=frames, match=match, timeout=timeout, count=count,
                         gap=gap)["frames"]

    def send(self, frames: List[dict], gap: float = 0.0) -> None:
        self.call("send", frames=frames, gap=gap)

    def expect(self, match: dict, since: int, timeout: float = 1.0, count: int = 1) -> List[dict]:
        return self.call("expect", match=match, since=since, timeout=timeout, count=count)["frames"]

    def mark(self) -> int:
        return self.call("mark")["mark"]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.bed.stop(self.proc, grace=3)
        self._err.close()


def frame(*layers, host: int = 1, **extra) -> dict:
    """A frame spec for the agent: frame(("IP", {...}), ("ICMP", {...}), host=2, patch=[...])."""
    spec = {"layers": [[name, dict(fields)] for name, fields in layers], "host": host}
    spec.update(extra)
    return spec


def stats(bed: netbed.Bed) -> dict:
    r = bed.peer(["curl", "-sS", "--max-time", "10", "-f", f"http://{DUT_IP}/stats"], timeout=20)
    return json.loads(r.stdout)


def ones_sum_fix(data: bytes) -> int:
    s = 0
    for i in range(0, len(data) - 1, 2):
        s += data[i] << 8 | data[i + 1]
    if len(data) % 2:
        s += data[-1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def prime_arp(ag: Agent, host: int) -> None:
    """Make the stack learn virtual host n's MAC (an ARP request from it), so that its first
    reply is not lost to ARP resolution (smoltcp drops the packet that needs resolving)."""
    h = vhost(host)
    ag.exchange([frame(("Ether", {"dst": "ff:ff:ff:ff:ff:ff"}),
                       ("ARP", {"op": 1, "hwsrc": h["mac"], "psrc": h["ip"], "pdst": DUT_IP}), host=host)],
                {"l2": "arp", "op": 2, "pdst": h["ip"]}, timeout=1)


def prime_ndp(ag: Agent, host: int) -> None:
    """The same for IPv6: a Neighbour Solicitation from host n's link-local address."""
    h = vhost(host)
    ag.exchange([frame(("Ether", {"dst": "33:33:ff:00:00:02"}),
                       ("IPv6", {"src": h["ll"], "dst": "ff02::1:ff00:2", "hlim": 255}),
                       ("ICMPv6ND_NS", {"tgt": DUT_LL}), ("ICMPv6NDOptSrcLLAddr", {"lladdr": h["mac"]}),
                       host=host)],
                {"proto": "icmp6", "type": 136}, timeout=1)


def echo_frame(host: int, seq: int = 1, data: bytes = b"conformance", ip=None, icmp=None, **extra) -> dict:
    ipf = dict(ip or {})
    icf = {"type": 8, "id": 0x4300 + host, "seq": seq}
    icf.update(icmp or {})
    return frame(("IP", ipf), ("ICMP", icf), ("Raw", {"load_hex": data.hex()}), host=host, **extra)


def echo_replies(ag: Agent, host: int, seq: int = 1, timeout: float = 1.0, **kw) -> List[dict]:
    """Send one echo request from host n; the matching echo replies within timeout."""
    return ag.exchange([echo_frame(host, seq, **kw)],
                       {"proto": "icmp", "type": 0, "icmp_id": 0x4300 + host, "icmp_seq": seq}, timeout=timeout)
