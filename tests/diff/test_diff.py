"""The differential BSD suite: one C program (tests/diff/*.c), built against the
Linux kernel (bsd_diff_kernel) and against esp_smoltcp's shim (bsd_diff_shim),
run at the same time in two identical namespace beds with the same peers
(peer.py). Every case must pass its own Linux expectations in both builds and
record the same observations — return values, errno names, data — in both.

    python3 -m pytest -q tests/diff/test_diff.py        (root; ~30 s)

Binaries: $ESP_SMOLTCP_BUILD/tests/diff or build/host/tests/diff (make build);
the test skips only when they are missing. Deliberate differences between the
shim and Linux are listed in docs/conformance-bsd.md; those a case could see
are kept out of the observations there, so the table below is empty — a case
that differs is a bug, not a known difference.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diff_bed import binary, netbed, parse, run_in_bed  # noqa: E402

MIN_CASES = 150
# case name -> why kernel and shim may observe different things (documented in docs/conformance-bsd.md)
KNOWN_DIFFERENCES: dict = {}


@pytest.fixture(scope="module")
def runs():
    bins = {v: binary(f"bsd_diff_{v}") for v in ("kernel", "shim")}
    for v, p in bins.items():
        if not p.exists():
            pytest.skip(f"{p} not built (make build)")
    netbed.reap_stale()
    results = {}

    def go(v):
        try:
            results[v] = run_in_bed(v, bins[v], [], timeout=150)
        except Exception as e:  # reported by the test, not lost in the thread
            results[v] = (-1, "", f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=go, args=(v,)) for v in bins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    yield results
    assert not netbed.leftovers(pid=os.getpid()), "namespaces left behind"


def _summary(out: str, variant: str) -> str:
    for line in out.splitlines():
        if line.startswith(f"{variant}: ") and " passed, " in line:
            return line
    return "(no summary line)"


@pytest.mark.parametrize("variant", ["kernel", "shim"])
def test_variant_passes(runs, variant):
    rc, out, err = runs[variant]
    cases = parse(out)
    failed = {n: r for n, r in cases.items() if r[0] == "FAIL"}
    print(f"\n{_summary(out, variant)}")
    assert len(cases) >= MIN_CASES, f"{variant}: only {len(cases)} cases ran (rc {rc})\n{out[-3000:]}\n{err[-3000:]}"
    assert not failed, f"{variant}: failed cases:\n" + "\n".join(
        f"  {n}: {why} | {obs}" for n, (_, why, obs) in failed.items())
    assert rc == 0, f"{variant}: exit code {rc}\n{err[-3000:]}"


def test_same_observations(runs):
    k = parse(runs["kernel"][1])
    s = parse(runs["shim"][1])
    assert k and s, "a variant produced no cases"
    assert set(k) == set(s), f"case sets differ: only kernel {sorted(set(k) - set(s))}, only shim {sorted(set(s) - set(k))}"
    diffs = []
    for name in k:
        if name in KNOWN_DIFFERENCES:
            continue
        if k[name][0] != s[name][0] or k[name][2] != s[name][2]:
            diffs.append(f"{name}:\n   kernel: {k[name][0]} {k[name][1]} | {k[name][2]}\n"
                         f"   shim:   {s[name][0]} {s[name][1]} | {s[name][2]}")
    print(f"\n{len(k)} cases, {len(k) - len(diffs)} observe the same in both builds")
    assert not diffs, f"{len(diffs)} cases observe differently:\n" + "\n".join(diffs)
