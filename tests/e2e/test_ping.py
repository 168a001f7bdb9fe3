"""ICMP echo from the peer kernel to the stack."""
import re

import pytest

from e2e_helpers import STATIC_IP, curl_download, get_stats, pattern_sha256


def _ping(bed, count, size=None, timeout=30):
    argv = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2"]
    if size is not None:
        argv += ["-s", str(size)]
    return bed.peer(argv + [STATIC_IP], check=False, timeout=timeout)


def _received(out):
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_ping_count_5(demo):
    r = _ping(demo.bed, 5)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _received(r.stdout) == (5, 5), r.stdout
    assert "DUP!" not in r.stdout


@pytest.mark.parametrize("size", [0, 1, 57, 1000, 1472])
def test_ping_odd_sizes(demo, size):
    r = _ping(demo.bed, 3, size)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _received(r.stdout) == (3, 3), r.stdout
    assert "wrong data" not in r.stdout and "DUP!" not in r.stdout, r.stdout
    if size >= 8:
        # iputils checks the echoed payload; the reply must be as long as the request.
        assert f"{size + 8} bytes from {STATIC_IP}" in r.stdout, r.stdout


@pytest.mark.parametrize("size", [1473, 2000, 8972])
def test_ping_needs_fragmentation_is_clean(demo, size):
    """Echo requests larger than the MTU arrive as IPv4 fragments. Whether the stack
    reassembles and answers is its choice; either way it must keep serving."""
    bed = demo.bed
    r = _ping(bed, 3, size)
    sent, got = _received(r.stdout)
    print(f"ping -s {size}: {got}/{sent} answered (rc {r.returncode})")
    assert r.returncode in (0, 1), r.stdout + r.stderr  # 2 would be a local error
    assert "wrong data" not in r.stdout and "DUP!" not in r.stdout, r.stdout
    if got:
        assert f"{size + 8} bytes from {STATIC_IP}" in r.stdout, r.stdout
    assert demo.proc.poll() is None, demo.output()
    r2 = _ping(bed, 3)
    assert _received(r2.stdout) == (3, 3), r2.stdout
    res = curl_download(bed, 100_000)
    assert res["code"] == 200 and res["sha256"] == pattern_sha256(100_000)
    get_stats(bed)
