"""Fixtures of the interop tests: TLS (mbedTLS on our stack vs openssl) and MQTT
(our client vs mosquitto), each in a fresh netbed.

Run (as root):   python3 -m pytest tests/interop
Apps:            $ESP_SMOLTCP_INTEROP_DIR or <repo>/build/host/tests/interop
Tests skip — only — when an app binary does not exist (mbedTLS missing at build time).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interop_helpers import Pki, app_path, netbed  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "minute: the 60 s keepalive case (the sanitizer runs leave it out)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when in ("call", "setup") and rep.failed:
        for a in getattr(item, "_esst_apps", []):
            rep.sections.append((f"app pid {a.proc.pid}", a.output()))
        for name, get in getattr(item, "_esst_logs", []):
            rep.sections.append((name, get()[-8000:]))


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_namespaces():
    reaped = netbed.reap_stale()
    if reaped:
        print(f"netbed: removed stale namespaces of dead runs: {reaped}")
    yield
    netbed.close_all()
    left = netbed.leftovers(pid=os.getpid())
    assert not left, f"namespaces left behind: {left}"


@pytest.fixture
def need_app():
    def _need(name: str) -> Path:
        p = app_path(name)
        if not p.exists():
            pytest.skip(f"interop app not built: {p} (needs libmbedtls-dev; scripts/install-deps.sh)")
        assert os.access(p, os.X_OK), f"{p} exists but is not executable"
        return p
    return _need


@pytest.fixture
def bed(request):
    """A fresh bed; parametrize indirectly with "shaped" for the 100 Mbit/s wire."""
    with netbed.Bed(shaped=getattr(request, "param", None) == "shaped") as b:
        request.node._esst_bed = b
        request.node._esst_apps = []
        request.node._esst_logs = []
        yield b


@pytest.fixture
def pki(bed) -> Pki:
    return Pki(bed.workdir)


@pytest.fixture
def track(request):
    """track(app) shows the app's output if the test fails; stops it at the end. An app
    still running then must end cleanly on SIGTERM (exit 0: no sanitizer report, no hang)."""
    apps = []

    def _track(a):
        apps.append(a)
        request.node._esst_apps.append(a)
        return a
    yield _track
    bad = []
    for a in apps:
        running = a.proc.poll() is None
        rc = a.stop()
        if running and rc != 0:
            bad.append(f"{a.argv[0]} exited with {rc} on SIGTERM\n{a.output()}")
    assert not bad, "\n".join(bad)
