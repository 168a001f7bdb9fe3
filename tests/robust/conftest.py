"""Fixtures of the robustness suite (issue 7, sections 1-2): the fault matrix over
the seeded userspace wire, floods, churn, slow peers, pool and socket-table
exhaustion. Reuses tests/e2e/e2e_helpers.py and tests/netbed/netbed.py.

    python3 -m pytest tests/robust -m "not slow"     # CI budget (< 6 min on 2 cores)
    python3 -m pytest tests/robust                    # everything, slow cases included

Figures (goodput, drops, RSS) are printed in the terminal summary and written to
tests/robust/out/results.{md,json}; they are reported, not asserted.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

import robust_helpers as rh  # noqa: E402
from e2e_helpers import Demo, demo_path, netbed  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long case, outside the CI budget (-m 'not slow')")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when in ("call", "setup") and rep.failed:
        for d in getattr(item, "_esst_demos", []):
            rep.sections.append((f"demo pid {d.proc.pid}", d.output()))
        bed = getattr(item, "_esst_bed", None)
        if bed is not None and bed.wire is not None:
            rep.sections.append(("wire", bed.wire.output()))


def pytest_terminal_summary(terminalreporter):
    text = rh.RESULTS.render()
    if not text:
        return
    terminalreporter.write_sep("=", "robustness figures (reported, not asserted)")
    terminalreporter.write_line(text)
    path = rh.RESULTS.save(HERE / "out")
    terminalreporter.write_line(f"written: {path}")


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_namespaces():
    reaped = netbed.reap_stale()
    if reaped:
        print(f"netbed: removed stale namespaces of dead runs: {reaped}")
    yield
    netbed.close_all()
    left = netbed.leftovers(pid=os.getpid())
    assert not left, f"namespaces left behind: {left}"


@pytest.fixture(scope="session")
def demo_bin() -> Path:
    p = demo_path()
    if not p.exists():
        pytest.skip(f"demo binary not built: {p} (make build, or set ESP_SMOLTCP_DEMO_BIN)")
    return p


@pytest.fixture(scope="session")
def hping3() -> str:
    return rh.ensure_hping3()


@pytest.fixture
def make_bed(request):
    """Factory: make_bed(shaped=True, wire=None) -> netbed.Bed (closed after the test)."""
    beds: List[netbed.Bed] = []

    def _make(shaped: bool = True, wire=None) -> netbed.Bed:
        b = netbed.Bed(shaped=shaped, wire=wire)
        beds.append(b)
        b.__enter__()
        request.node._esst_bed = b
        return b

    yield _make
    for b in beds:
        b.close()


@pytest.fixture
def start_demo(request, demo_bin):
    """Factory: start_demo(bed) -> Demo on 198.18.0.2/24 (stopped after the test)."""
    demos: List[Demo] = []
    request.node._esst_demos = demos

    def _start(b: netbed.Bed, extra=None, wait: bool = True) -> Demo:
        d = Demo(b, demo_bin, ["--static", f"{rh.STATIC_IP}/24", "--gw", b.peer_ip,
                               "--dns", b.peer_ip, *(extra or [])])
        demos.append(d)
        if wait:
            d.wait_ip(20)
        return d

    yield _start
    for d in demos:
        d.stop()
