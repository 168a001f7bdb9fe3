"""Issue 7 §1 — fault matrix: 20 MB down and up through the seeded userspace wire
(tools/wire) on a 100 Mbit/s tbf wire, with loss, reordering, duplication,
corruption, jitter and a 3 s link outage. Each case: the transfer completes, the
bytes are identical (sha256), it finishes within a finite bound, and the stack's
/stats counters account for what the wire did. Goodput is reported, not asserted.

Impairments apply to both directions (data and ACKs) unless the case says otherwise.
"""
import time

import pytest

import robust_helpers as rh
from robust_helpers import MSS, RESULTS, Transfer, netbed

MB = 1_000_000
SEED = 20240607

# name: (wire config, size, time bound s, marks)
CASES = {
    "baseline":   (dict(), 20 * MB, 60, ()),
    "loss1":      (dict(both={"loss": 1}), 20 * MB, 180, ()),
    "loss5":      (dict(both={"loss": 5}), 20 * MB, 300, ("slow",)),
    "loss10":     (dict(both={"loss": 10}), 20 * MB, 300, ("slow",)),
    "reorder25":  (dict(both={"reorder": 25}), 20 * MB, 180, ()),
    "dup5":       (dict(both={"dup": 5}), 20 * MB, 120, ()),
    "corrupt1":   (dict(both={"corrupt": 1}), 20 * MB, 180, ()),
    "jitter":     (dict(both={"delay_us": 2000, "jitter_us": 2000}), 20 * MB, 180, ()),
    "linkdown3s": (dict(), 20 * MB, 180, ()),
}
COLUMNS = ["case", "dir", "MB", "s", "Mbit/s", "wire ab (dut->peer)", "wire ba (peer->dut)",
           "stack rx drops", "stack tx frames", "est. retransmits", "notes"]


def _params():
    for name, (cfg, size, bound, marks) in CASES.items():
        for d in ("dl", "ul"):
            m = [getattr(pytest.mark, x) for x in marks]
            yield pytest.param(name, d, id=f"{name}-{d}", marks=m)


def _wire_summary(s: dict) -> str:
    keys = ("lost", "reordered", "duplicated", "corrupted", "down_drops", "queue_drops")
    parts = [f"{k} {s[k]}" for k in keys if s.get(k)]
    return f"{s['tx_frames']} fr" + (": " + ", ".join(parts) if parts else "")


@pytest.mark.parametrize("case,direction", list(_params()))
def test_fault_matrix(make_bed, start_demo, case, direction):
    cfg, size, bound, _ = CASES[case]
    bed = make_bed(shaped=True, wire=netbed.WireConfig(seed=SEED, **cfg))
    demo = start_demo(bed)
    snmp0 = rh.peer_snmp(bed)
    t = Transfer(bed, direction, size, timeout=bound)
    notes = []
    if case == "linkdown3s":
        time.sleep(0.5)
        assert t.running(), "transfer finished before the outage: make it longer"
        bed.wire.down()
        time.sleep(3.0)
        mid = bed.wire.stats()
        bed.wire.up()
        notes.append(f"outage 3 s at 0.5 s; down_drops ab {mid['ab']['down_drops']} "
                     f"ba {mid['ba']['down_drops']}")
        assert mid["ab"]["down_drops"] + mid["ba"]["down_drops"] > 0, "outage hit no traffic"
    res = t.wait()
    assert res["ok"], f"{case} {direction}: transfer not byte-exact: {res} (want {t.want})"
    assert res["time"] < bound

    # Settle, then stop the demo (it prints its final counters) and the wire: the
    # two sets of counters are compared over the whole life of the bed.
    time.sleep(0.5)
    snmp1 = rh.peer_snmp(bed)
    demo.stop()
    st = demo.final_stats()
    assert st is not None, "demo printed no final stats"
    w = bed.wire.stop()
    ab, ba = w["ab"], w["ba"]

    tap = rh.tap_counters(bed)
    # The stack's own accounting against the kernel's view of its TAP: every frame it
    # wrote, every frame the kernel handed to its reader accepted or counted as a drop.
    seen = st["rx_frames"] + rh.drops_sum(st, rh.ALL_DROP_REASONS)
    assert st["tx_frames"] == tap["from_stack"], (st, tap)
    over = seen - tap["to_stack"]
    if st["rx_drops"]["pool_empty"]:
        # Known counter bug (test_load.py::test_pool_empty_counts_frames): pool_empty also
        # counts the allocation of each drain loop that found no frame; only that may be off.
        assert 0 <= over <= st["rx_drops"]["pool_empty"], (st, tap)
        notes.append(f"pool_empty {st['rx_drops']['pool_empty']} of which {over} over-counted")
    else:
        assert over == 0, (st, tap)
    # The wire against the TAP: the bridge between them may lose or add a handful of
    # frames around start and stop (see tests/robust/README.md), nothing more.
    slack = max(10, seen // 500)
    assert abs(ab["rx_frames"] - st["tx_frames"]) <= slack, (ab, st)
    assert abs(ba["tx_frames"] - seen) <= slack, f"wire delivered {ba['tx_frames']}, stack saw {seen}"
    notes.append(f"wire-vs-tap0 diff ab {ab['rx_frames'] - st['tx_frames']:+d} ba {ba['tx_frames'] - seen:+d}")
    bad = rh.drops_sum(st, ("bad_ip_header", "bad_ip_checksum", "bad_l4_header", "bad_l4_checksum"))
    assert st["tx_failures"] == 0
    assert st["rx_pool_in_use"] == 0 or st["rx_pool_in_use"] <= 4
    if "corrupt" in cfg.get("both", {}):
        # One flipped byte inside the IP datagram is always caught by a checksum; the count may
        # only fall short by the frames lost between the wire and the stack (the bridge/TAP
        # queue, the same slack as above), seen as at most one per run here.
        lost_on_the_way = max(0, ba["tx_frames"] - seen)
        assert ba["corrupted"] - max(1, lost_on_the_way) <= bad <= ba["corrupted"], \
            f"stack bad-frame drops {bad} != wire corrupted {ba['corrupted']}"
        pk = {k: snmp1[k] - snmp0[k] for k in ("Ip.InHdrErrors", "Ip.InAddrErrors", "Tcp.InCsumErrors",
                                               "Tcp.InErrs") if snmp1.get(k, 0) - snmp0.get(k, 0)}
        notes.append(f"stack bad-frame drops {bad} = wire ba corrupted; peer kernel {pk} "
                     f"vs wire ab corrupted {ab['corrupted']}")
        assert ba["corrupted"] > 0 and ab["corrupted"] > 0
    else:
        assert bad == 0, st["rx_drops"]
    if "loss" in cfg.get("both", {}):
        assert ab["lost"] > 0 and ba["lost"] > 0
    if "dup" in cfg.get("both", {}):
        assert ab["duplicated"] > 0 and ba["duplicated"] > 0
    if "reorder" in cfg.get("both", {}):
        assert ab["reordered"] > 0 and ba["reordered"] > 0
    pool_drops = st["rx_drops"]["pool_empty"] + st["rx_drops"]["queue_full"]
    if pool_drops:
        notes.append(f"rx pool/queue drops {pool_drops}")
    notes.append(f"pool hw {st['rx_pool_high_water']}/{st['rx_pool_capacity']}")
    # Download: the stack sends the data; beyond ceil(n/MSS) segments (+ a few
    # control frames) its transmissions are retransmissions.
    est = st["tx_frames"] - (size + MSS - 1) // MSS - 8 if direction == "dl" else None
    RESULTS.add("fault matrix (20 MB unless noted, 100 Mbit/s tbf, wire seed %d)" % SEED, COLUMNS, {
        "case": case, "dir": direction, "MB": size / MB, "s": res["time"], "Mbit/s": res["mbit_s"],
        "wire ab (dut->peer)": _wire_summary(ab), "wire ba (peer->dut)": _wire_summary(ba),
        "stack rx drops": rh.drops_sum(st), "stack tx frames": st["tx_frames"],
        "est. retransmits": "" if est is None else max(est, 0), "notes": "; ".join(notes)})


def test_retransmit_overhead_at_1pct_loss(make_bed, start_demo):
    """Data segments (dut -> peer) lose 1 %; ACKs are intact. A sender that repairs
    losses segment by segment (RFC 5681/6582) sends about 1.01x the minimum.

    smoltcp 0.13.1 retransmits go-back-N (the whole flight from the first unacknowledged
    byte), and counted the duplicate ACKs its own duplicates provoked toward the next one:
    2.6x to 5x the segments needed here, 18.7 Mbit/s. core/tcp_recovery.c keeps the peer's
    D-SACK echoes from the engine and does not resend what the peer SACKed: about 1.3x."""
    n = 5 * MB
    bed = make_bed(shaped=True, wire=netbed.WireConfig(seed=SEED, ab={"loss": 1}))
    demo = start_demo(bed)
    res = Transfer(bed, "dl", n, timeout=120).wait()
    assert res["ok"], res
    demo.stop()
    st = demo.final_stats()
    need = (n + MSS - 1) // MSS
    lost = bed.wire.stop()["ab"]["lost"]
    ratio = st["tx_frames"] / need
    print(f"1 % data loss: {lost} segments lost, stack sent {st['tx_frames']} frames for {need} "
          f"segments ({ratio:.2f}x), {res['mbit_s']:.1f} Mbit/s")
    assert ratio < 1.5, f"stack sent {ratio:.2f}x the segments needed ({lost} lost)"
