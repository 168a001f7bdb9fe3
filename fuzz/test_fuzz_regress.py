"""Replays of the fuzz inputs (no fuzzing): every committed seed and fixed-crash input must
run clean; every known, unfixed crash (fuzz/known) is a strict xfail with its reason.

    make -C fuzz && python3 -m pytest fuzz        # binaries from build/fuzz (FUZZ_OUT overrides)
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("FUZZ_OUT") or HERE.parent / "build" / "fuzz")
TARGETS = ["fuzz_frames", "fuzz_bsd", "fuzz_mdns"]

# id -> reason, from the table in known/README.md
REASONS = {}
for line in (HERE / "known" / "README.md").read_text().splitlines():
    m = re.match(r"\| (K\d+) \| [^|]+ \| ([^|]+) \| [^|]+ \| ([^|]+) \|", line)
    if m:
        REASONS[m.group(1)] = f"{m.group(1)}: {m.group(2).strip()} — {m.group(3).strip()[:300]}"


def binary(target):
    p = OUT / target
    if not p.exists():
        pytest.skip(f"{p} not built (make -C fuzz)")
    return p


def run(target, files, env=None):
    return subprocess.run([str(binary(target)), "-runs=0", *map(str, files)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("target", TARGETS)
def test_committed_inputs_run_clean(target):
    """Seeds and fixed-crash regressions replay without a crash or sanitizer report."""
    dirs = [d for d in (HERE / "corpus" / target, HERE / "regress" / target) if d.is_dir()]
    r = run(target, dirs)
    assert r.returncode == 0, r.stderr[-4000:]


KNOWN = sorted((HERE / "known").glob("*/K*")) + sorted((HERE / "known").glob("*/k*"))


@pytest.mark.parametrize("path", KNOWN, ids=[f"{p.parent.name}/{p.name}" for p in KNOWN])
def test_known_crash_fixed(request, path):
    """A known crash input runs clean (xfail until the bug is fixed)."""
    kid = path.name.split("-")[0].upper()
    request.applymarker(pytest.mark.xfail(strict=True, reason=REASONS.get(kid, kid)))
    r = run(path.parent.name, [path], env={"FUZZ_NO_WORKAROUNDS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
