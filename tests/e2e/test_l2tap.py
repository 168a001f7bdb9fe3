"""L2 frame tap (esp_smoltcp_l2tap.h) against real frames from the peer.

tests/tools/l2tap_tool runs the stack in the dut namespace with taps for LLDP
(0x88CC) and a custom EtherType (0x88B5) and prints every tapped frame.

- scapy in the peer sends LLDP (to the 802.1AB multicast), custom-type frames
  (unicast, broadcast, a runt body, a full 1514-byte frame) and an untapped
  type: the taps get exactly theirs, in order, byte for byte; IP is unaffected.
- A frame sent through the tap appears on the peer's wire as sent.
- A flood of tapped frames to a deliberately slow reader while a TCP download
  runs: the download completes intact, the tap's queue drops are counted, the
  RX pool is never exhausted by the tap.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from e2e_helpers import HERE, REPO, STATIC_IP, curl_download, pattern_sha256

TOOL = Path(os.environ.get("ESP_SMOLTCP_L2TAP_TOOL")
            or REPO / "build" / "host" / "tests" / "tools" / "l2tap_tool")
L2_PEER = str(HERE / "l2_peer.py")


@pytest.fixture(scope="module")
def tool() -> Path:
    if not TOOL.exists():
        pytest.skip(f"l2tap tool not built: {TOOL}")
    return TOOL


class TapTool:
    """l2tap_tool in the dut namespace; JSON lines collected, commands on stdin."""

    def __init__(self, bed, tool: Path, args):
        self.bed = bed
        self.proc = bed.run_dut([str(tool), "--tap", bed.tap_name, "--static", f"{STATIC_IP}/24", *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.stderr: list = []
        self.other: list = []  # events read while waiting for another kind
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        self.ready = self.wait("ready", 20)

    def _pump(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def wait(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"l2tap_tool: no {event!r} within {timeout}s; stderr: {''.join(self.stderr)}")
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if e["event"] == event:
                return e
            self.other.append(e)

    def command(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def rx_until(self, n: int, timeout: float) -> list:
        got = [e for e in self.other if e["event"] == "rx"]
        self.other = [e for e in self.other if e["event"] != "rx"]
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            try:
                e = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            (got if e["event"] == "rx" else self.other).append(e)
        return got

    def stats(self) -> dict:
        self.command("stats")
        return self.wait("stats", 10)

    def quit(self) -> dict:
        self.command("quit")
        st = self.wait("stats", 10)
        self.bed.stop(self.proc)
        return st


def wait_path(bed) -> None:
    """The stack answers a ping from the peer: the TAP's bridge port forwards, ARP is done."""
    for _ in range(20):
        if bed.peer(["ping", "-c", "1", "-W", "1", STATIC_IP], check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the stack does not answer pings")


def forward_lldp_on_bridge(bed) -> None:
    """A Linux bridge keeps 01:80:C2:00:00:0x (IEEE 802.1D link-local) to itself; forward
    0x0E (LLDP, PTP peer delay) so the stack behind br0 sees it as on a real wire."""
    bed.dut(["sh", "-c", f"echo 0x4000 > /sys/class/net/{bed.bridge}/bridge/group_fwd_mask"])


def test_tap_receives_its_types_in_order_and_sends(bed, tool):
    forward_lldp_on_bridge(bed)
    t = TapTool(bed, tool, ["--types", "0x88cc,0x88b5"])
    try:
        mac = t.ready["mac"]
        wait_path(bed)
        r = bed.peer([sys.executable, L2_PEER, "send", bed.peer_veth, mac], timeout=60)
        sent = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        assert len(sent) == 8, r.stdout + r.stderr
        want = {0: [s["hex"] for s in sent if s["type"] == 0x88CC],
                1: [s["hex"] for s in sent if s["type"] == 0x88B5]}
        rx = t.rx_until(len(want[0]) + len(want[1]), 10)
        got = {0: [e["hex"] for e in rx if e["tap"] == 0], 1: [e["hex"] for e in rx if e["tap"] == 1]}
        assert got == want, f"tapped frames differ\nwant {want}\ngot {got}"
        assert all(e["len"] == e["caplen"] == len(e["hex"]) // 2 for e in rx)
        assert all(e["ts_source"] == 1 for e in rx)  # software stamps
        lat = sorted(e["lat_us"] for e in rx)
        # The untapped 0x88B6 frame reached no tap; the engine still answers IP.
        assert bed.peer(["ping", "-c", "2", "-i", "0.2", "-W", "2", STATIC_IP], check=False).returncode == 0
        assert t.rx_until(1, 0.3) == [], "a frame of an untapped type reached a tap"

        # A frame sent through the tap (source filled in by the tool) shows up on the peer's wire.
        payload = b"esst-l2tap-tx".hex()
        frame = bed.peer_mac().replace(":", "") + "00" * 6 + "88b5" + payload
        with bed.capture(bpf="ether proto 0x88b5", side="peer", name="tap_tx.pcap") as cap:
            time.sleep(0.2)
            t.command(f"send {frame}")
            sent_ev = t.wait("sent", 10)
            time.sleep(0.3)
        assert sent_ev["rc"] == len(frame) // 2, sent_ev
        from scapy.all import rdpcap  # noqa: E402
        pkts = [bytes(p) for p in rdpcap(cap.path)]
        mine = [p for p in pkts if b"esst-l2tap-tx" in p]
        assert len(mine) == 1, [p.hex() for p in pkts]
        p = mine[0]
        assert p[:6].hex() == bed.peer_mac().replace(":", "")
        assert p[6:12].hex() == mac.replace(":", "")
        assert p[12:14] == b"\x88\xb5"
        assert len(p) == 60  # padded to the Ethernet minimum, as a MAC would
        st = t.quit()
        taps = {x["type"]: x for x in st["taps"]}
        assert taps[0x88CC]["rx_frames"] == 3 and taps[0x88B5]["rx_frames"] == 4
        assert taps[0x88B5]["tx_frames"] == 1
        assert all(x["drops_queue_full"] == 0 for x in st["taps"])
        print(f"\ntap delivery latency (netdev input -> reader): {lat} us")
    finally:
        bed.stop(t.proc)


def test_flood_of_tapped_frames_during_download(bed, tool):
    # A reader that sleeps 2 ms per frame and a 64-frame queue: the flood must overflow it.
    t = TapTool(bed, tool, ["--types", "0x88b5", "--queue", "64", "--slow-ms", "2", "--quiet",
                            "--http-port", "8080"])
    try:
        mac = t.ready["mac"]
        wait_path(bed)
        flood = bed.run_peer([sys.executable, L2_PEER, "flood", bed.peer_veth, mac, "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the flood is running before the download starts ...
        n = 20_000_000
        dl = curl_download(bed, n, host=f"{STATIC_IP}:8080", timeout=60)
        flood.terminate()  # ... and until it has finished
        out, err = flood.communicate(timeout=30)
        fl = json.loads(out.strip().splitlines()[-1])
        st = t.quit()
        tap = st["taps"][0]
        eng = st["engine"]
        print(f"\nflood {fl['sent']} frames at {fl['pps']} pps; download {dl['mbit_s']:.0f} Mbit/s "
              f"in {dl['time']:.2f} s; tap: queued {tap['rx_frames']}, read {tap['read']}, "
              f"dropped (queue full) {tap['drops_queue_full']}, high water {tap['queue_high_water']}/"
              f"{tap['queue_capacity']}; latency p50 {tap['lat_us_p50']} us p99 {tap['lat_us_p99']} us "
              f"max {tap['lat_us_max']} us; engine pool high water {eng['rx_pool_high_water']}, "
              f"pool-empty drops {eng['rx_drop_pool_empty']}, queue-full drops {eng['rx_drop_queue_full']}")
        assert dl["code"] == 200 and dl["size"] == n and dl["sha256"] == pattern_sha256(n), dl
        assert fl["sent"] > 5_000, fl
        assert tap["drops_queue_full"] > 0, tap              # the slow reader lost frames ...
        assert 0 <= tap["rx_frames"] - tap["read"] <= 64, tap  # ... only at its own queue (the rest was read)
        assert tap["queue_high_water"] == tap["queue_capacity"] == 64, tap
        # Every frame the stack took off the TAP was either queued for the tap or counted as dropped.
        assert tap["rx_frames"] + tap["drops_queue_full"] <= fl["sent"]
    finally:
        bed.stop(t.proc)
