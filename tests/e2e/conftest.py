"""Fixtures for the end-to-end tests of the host demo (examples/eth_basic, host build).

Run (as root):   python3 -m pytest tests/e2e
Demo binary:     $ESP_SMOLTCP_DEMO_BIN or <repo>/build/host/examples/eth_basic/eth_basic
Tests that need the demo skip — only — when that binary does not exist.
Set ESST_KEEP_WORKDIR=1 to keep the per-bed temp dirs (pcaps, dnsmasq logs).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_helpers import STATIC_IP, Demo, demo_path, netbed  # noqa: E402


# ------------------------------------------------------------------ fixtures
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when in ("call", "setup") and rep.failed:
        for d in getattr(item, "_esst_demos", []):
            rep.sections.append((f"demo pid {d.proc.pid}", d.output()))
        for dm in getattr(item, "_esst_dnsmasq", []):
            rep.sections.append(("dnsmasq log", dm.log()[-8000:]))


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
        pytest.skip(f"demo binary not built: {p} (build the host port or set ESP_SMOLTCP_DEMO_BIN)")
    assert os.access(p, os.X_OK), f"demo binary {p} exists but is not executable"
    return p


@pytest.fixture
def bed(request):
    with netbed.Bed() as b:
        request.node._esst_bed = b
        yield b


@pytest.fixture
def shaped_bed(request):
    with netbed.Bed(shaped=True) as b:
        request.node._esst_bed = b
        yield b


@pytest.fixture
def start_demo(request, demo_bin):
    """Factory: start_demo(bed, static=True, port=None, extra=[], wait=True) -> Demo."""
    demos: List[Demo] = []
    request.node._esst_demos = demos

    def _start(b: netbed.Bed, static: bool = True, port: Optional[int] = None,
               extra: Optional[List[str]] = None, wait: bool = True) -> Demo:
        args: List[str] = []
        if port is not None:
            args += ["--port", str(port)]
        if static:
            args += ["--static", f"{STATIC_IP}/24", "--gw", b.peer_ip, "--dns", b.peer_ip]
        args += extra or []
        d = Demo(b, demo_bin, args)
        demos.append(d)
        if wait:
            d.wait_ip(20)
        return d

    yield _start
    for d in demos:
        d.stop()


@pytest.fixture
def demo(bed, start_demo) -> Demo:
    """The demo with the static address 198.18.0.2/24, up and reachable."""
    return start_demo(bed)


@pytest.fixture
def dnsmasq_for(request):
    """Factory: dnsmasq_for(bed, **kw) -> netbed.Dnsmasq (log shown on failure)."""
    started = []
    request.node._esst_dnsmasq = started

    def _start(b: netbed.Bed, **kw):
        dm = b.start_dnsmasq(**kw)
        started.append(dm)
        return dm

    return _start
