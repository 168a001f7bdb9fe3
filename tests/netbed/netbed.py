"""netbed — a throw-away two-namespace network test bed for the host port.

Topology (everything lives in namespaces created here and deleted on exit)::

    esst-dut-<suffix>                          esst-peer-<suffix>
    +-----------------------------+            +-------------------------------+
    | tap0 (stack process opens)  |            | vp  198.18.0.1/24             |
    |   |                         |   veth     |     2001:db8:1::1/64          |
    |  br0 ---------------- vd ===|============|===                            |
    +-----------------------------+            | dnsmasq, curl, ping, scapy…   |
                                               +-------------------------------+

* The dut namespace has no IP configuration of its own (IPv6 is disabled there so
  the kernel does not chatter on the bridge); the only host on that side is the
  stack under test, which opens ``tap0`` by name (``TUNSETIFF`` with
  ``IFF_TAP | IFF_NO_PI``) from inside the dut namespace. Until a process has
  the TAP open it has no carrier and the bridge port is down.
* ``shaped=True`` puts ``tbf rate 100mbit burst 4614 latency 50ms overhead 24
  mpu 84`` on the egress of both veth ends: a real 100 Mbit/s Ethernet wire.
* Addresses: 198.18.0.0/24 and 2001:db8:1::/64 only (RFC 2544 / RFC 3849).
* ``kernel_dut=True`` replaces TAP + bridge by a kernel veth end in the dut
  (vd = 198.18.0.2/24, MAC ``dut_mac``, IPv6 SLAAC from router adverts): the
  Linux reference for differential tests (tests/diff).
* ``wire=WireConfig(...)`` puts the seeded userspace wire (tools/wire, built on
  demand into build/wire/wire) in the middle of the dut namespace: delay,
  jitter, loss, reordering, duplication, corruption and link down/up, per
  direction ("ab" = dut -> peer, "ba" = peer -> dut)::

      tap0 -- br0 -- wa ] wire process [ wb -- br1 -- vd ===veth=== vp (peer)

  ``wa``/``wb`` are TAPs the wire opens (the kernel hands it whole, checksummed
  frames: no offload surprises). With ``shaped=True`` tbf still does the rate on
  vd and vp. ``bed.wire`` (a ``Wire``) controls it at run time: ``down()``,
  ``up()``, ``set(key, value, direction)``, ``stats()``, ``stop()`` (final
  counters). Without ``wire`` the topology is exactly the one drawn above.

Usage (root)::

    from netbed import Bed
    with Bed() as bed:
        demo = subprocess.Popen(bed.dut_exec_prefix() + ["./eth_basic", "--tap", bed.tap_name])
        bed.track(demo)                       # killed by PID when the bed closes
        bed.peer(["ping", "-c", "1", "198.18.0.2"])
        dns = bed.start_dnsmasq()             # DHCP + DNS on vp only

Cleanup: ``Bed.close()`` (also ``__exit__``) stops every process the bed started
or was asked to track (SIGTERM, then SIGKILL, by PID) and deletes both
namespaces. A module-level ``atexit`` hook and a SIGTERM/SIGHUP handler close
any bed still open, so an interrupted run (Ctrl-C, ``kill``) leaves nothing
behind. ``leftovers()`` lists esst-* namespaces that still exist;
``reap_stale()`` deletes those whose creating process is dead (a SIGKILLed run);
processes started through the bed get PR_SET_PDEATHSIG=SIGKILL, so they do not
outlive a SIGKILLed test run either (start them from the main thread).

Privileges: the main path is root (``ip netns`` needs CAP_SYS_ADMIN and a
writable /run/netns). Unprivileged users can run the whole test session inside
a user namespace that has its own mount and network namespaces, e.g.::

    unshare --user --map-root-user --net --mount sh -c \
        'mount -t tmpfs tmpfs /run && python3 -m pytest tests/e2e'

(``ip netns`` then works against the private /run; TAP creation is allowed
because the mapped root has CAP_NET_ADMIN over the new network namespaces.
dnsmasq must be able to run as the mapped root: it is started with --user=root.)
This is a convenience, not the tested path. It also needs /dev/net/tun to be
openable by the calling user (mode 0666, Debian's default); on machines where it
is 0600 the TAP creation fails with "open: Permission denied".

Only the standard library is used.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import itertools
import os
import re
import shlex
import signal
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Union

PREFIX = "esst"
PEER_IP = "198.18.0.1"
PEER_IP6 = "2001:db8:1::1"
PREFIX_LEN = 24
DUT_STATIC_IP = "198.18.0.2"
SHAPE = "tbf rate 100mbit burst 4614 latency 50ms overhead 24 mpu 84"

Cmd = Union[str, Sequence[str]]

_counter = itertools.count()
_live_beds: "set[Bed]" = set()
_lock = threading.RLock()


def _argv(cmd: Cmd) -> List[str]:
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the thread that started it dies, so a
    SIGKILLed test run leaves no demo/dnsmasq/curl running (survives the exec of
    `ip netns exec`, which execs the target program in place)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _ip(*args: str, check: bool = True, timeout: float = 15) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _netns_list() -> List[str]:
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=15)
    names = []
    for line in r.stdout.splitlines():
        if line.strip():
            names.append(line.split()[0])
    return names


def leftovers(pid: Optional[int] = None) -> List[str]:
    """esst-* namespaces that still exist (only those created by `pid` if given)."""
    out = []
    for n in _netns_list():
        if not n.startswith(PREFIX + "-"):
            continue
        if pid is not None:
            m = re.match(rf"^{PREFIX}-(?:dut|peer)-(\d+)-", n)
            if not m or int(m.group(1)) != pid:
                continue
        out.append(n)
    return sorted(out)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ns_pids(ns: str) -> List[int]:
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=15)
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def _kill_pids(pids: Iterable[int], grace: float = 3.0) -> None:
    pids = [p for p in pids if p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _delete_ns(ns: str) -> None:
    # Processes left inside a namespace of ours (started by this bed, e.g. a
    # grandchild of a helper) are stopped by PID before the namespace goes.
    try:
        _kill_pids(_ns_pids(ns), grace=1.0)
    except Exception:
        pass
    _ip("netns", "del", ns, check=False)


def reap_stale() -> List[str]:
    """Delete esst-* namespaces whose creating process (encoded in the name) is gone."""
    reaped = []
    for n in leftovers():
        m = re.match(rf"^{PREFIX}-(?:dut|peer)-(\d+)-", n)
        if m and not _pid_alive(int(m.group(1))):
            _delete_ns(n)
            reaped.append(n)
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        m = re.match(rf"^{PREFIX}-(\d+)-\d+-", d)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
    return reaped


class Dnsmasq:
    """A dnsmasq started by Bed.start_dnsmasq (DHCP + DNS on vp)."""

    def __init__(self, proc: subprocess.Popen, workdir: str):
        self.proc = proc
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "dnsmasq.log")
        self.lease_path = os.path.join(workdir, "dnsmasq.leases")
        self.pid_path = os.path.join(workdir, "dnsmasq.pid")

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def leases(self) -> List[dict]:
        """Parsed lease file: [{expiry, mac, ip, hostname, client_id}]."""
        out = []
        try:
            with open(self.lease_path) as f:
                for line in f:
                    p = line.split()
                    if len(p) >= 4:
                        out.append({"expiry": p[0], "mac": p[1].lower(), "ip": p[2],
                                    "hostname": p[3], "client_id": p[4] if len(p) > 4 else None})
        except FileNotFoundError:
            pass
        return out


class Capture:
    """tcpdump running in a namespace, writing a pcap. Use as a context manager."""

    def __init__(self, bed: "Bed", ns: str, iface: str, bpf: str, path: str):
        self.bed, self.ns, self.iface, self.bpf, self.path = bed, ns, iface, bpf, path
        self.proc: Optional[subprocess.Popen] = None
        self.stderr_path = path + ".stderr"

    def start(self, timeout: float = 10) -> "Capture":
        self._err = open(self.stderr_path, "w")
        argv = ["ip", "netns", "exec", self.ns, "tcpdump", "-n", "-U", "--immediate-mode", "-s", "256",
                "-i", self.iface, "-w", self.path]
        argv += _argv(self.bpf) if self.bpf else []
        self.proc = self.bed.track(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                    stderr=self._err, stdin=subprocess.DEVNULL,
                                                    preexec_fn=_die_with_parent))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.stderr_path, errors="replace") as f:
                if "listening on" in f.read():
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"tcpdump did not start: {open(self.stderr_path).read()}")

    def stop(self) -> str:
        if self.proc is not None:
            time.sleep(0.3)  # let the last packets reach the ring
            self.bed.stop(self.proc)
            self._err.close()
            self.proc = None
        return self.path

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WIRE_SRC_DIR = os.path.join(REPO_ROOT, "tools", "wire")
WIRE_BIN = os.path.join(REPO_ROOT, "build", "wire", "wire")
WIRE_KEYS = ("delay_us", "jitter_us", "loss", "reorder", "reorder_gap", "reorder_hold_us", "dup",
             "corrupt", "queue_frames", "queue_bytes")


def wire_binary() -> str:
    """Path of the wire binary: $ESST_WIRE_BIN, else build/wire/wire (made with
    `make -C tools/wire` when missing or older than its sources)."""
    env = os.environ.get("ESST_WIRE_BIN")
    if env:
        return env
    srcs = [os.path.join(WIRE_SRC_DIR, f) for f in ("wire.c", "wire.h", "Makefile")]
    newest = max(os.path.getmtime(f) for f in srcs)
    if not os.path.exists(WIRE_BIN) or os.path.getmtime(WIRE_BIN) < newest:
        r = subprocess.run(["make", "-s", "-C", WIRE_SRC_DIR, f"OUT={WIRE_BIN}"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"building the wire failed:\n{r.stdout}{r.stderr}")
    return WIRE_BIN


@dataclass
class WireConfig:
    """Impairments of the userspace wire. Keys (tools/wire/README.md): delay_us,
    jitter_us, loss, reorder, reorder_gap, reorder_hold_us, dup, corrupt (percent),
    queue_frames, queue_bytes. ``both`` applies to both directions, then ``ab``
    (dut -> peer) and ``ba`` (peer -> dut) override."""
    seed: int = 1
    both: Dict[str, float] = field(default_factory=dict)
    ab: Dict[str, float] = field(default_factory=dict)
    ba: Dict[str, float] = field(default_factory=dict)
    down: bool = False

    def argv(self) -> List[str]:
        out = ["--seed", str(int(self.seed))]
        for prefix, d in (("", self.both), ("ab-", self.ab), ("ba-", self.ba)):
            for k, v in d.items():
                if k not in WIRE_KEYS:
                    raise ValueError(f"unknown wire key {k!r} (known: {WIRE_KEYS})")
                out += [f"--{prefix}{k.replace('_', '-')}", _num(v)]
        if self.down:
            out.append("--down")
        return out


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


class Wire:
    """The running wire process of a Bed (in the dut namespace). Thread-safe."""

    def __init__(self, bed: "Bed", cfg: WireConfig, binary: str, a: str, b: str,
                 timeout: float = 10):
        self.bed, self.cfg = bed, cfg
        self.fifo = os.path.join(bed.workdir or tempfile.gettempdir(), "wire.ctl")
        self.argv = [binary, "--a", f"tap:{a}", "--b", f"tap:{b}", "--control", self.fifo,
                     *cfg.argv()]
        self.log: List[str] = []
        self.reports: List[dict] = []
        self._cond = threading.Condition()
        self._cmd_lock = threading.Lock()
        self.final: Optional[dict] = None
        self.proc = bed.run_dut(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(l.startswith("wire: ready") for l in self.log):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("wire did not start: " + " ".join(self.argv) + "\n"
                                       + "\n".join(self.log))
                self._cond.wait(0.1)

    def _pump(self, f, is_json: bool) -> None:
        for line in f:
            line = line.rstrip("\n")
            with self._cond:
                if is_json:
                    try:
                        self.reports.append(json.loads(line))
                    except json.JSONDecodeError:
                        self.log.append("wire stdout: " + line)
                else:
                    self.log.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _acks(self) -> List[str]:
        return [l for l in self.log if l.startswith(("wire: ok ", "wire: bad-command "))
                and not l.endswith("(signal)")]

    def command(self, line: str, timeout: float = 5) -> None:
        """Send one control line and wait for the wire's acknowledgement."""
        with self._cmd_lock:
            with self._cond:
                n0 = len(self._acks())
            fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, (line.strip() + "\n").encode())
            finally:
                os.close(fd)
            deadline = time.monotonic() + timeout
            with self._cond:
                while True:
                    acks = self._acks()
                    if len(acks) > n0:
                        if acks[n0].startswith("wire: bad-command"):
                            raise ValueError(f"wire rejected {line!r}")
                        return
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError(f"wire did not acknowledge {line!r}\n"
                                           + "\n".join(self.log[-20:]))
                    self._cond.wait(0.1)

    def down(self, direction: str = "both") -> None:
        self.command(f"down {direction}")

    def up(self, direction: str = "both") -> None:
        self.command(f"up {direction}")

    def set(self, key: str, value: float, direction: str = "both") -> None:
        if key not in WIRE_KEYS:
            raise ValueError(f"unknown wire key {key!r}")
        self.command(f"set {direction} {key} {_num(value)}")

    def stats(self, timeout: float = 5) -> dict:
        """Current counters: {'ab': {...}, 'ba': {...}, 'seed': N}."""
        with self._cond:
            n0 = len(self.reports)
        self.command("stats", timeout=timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.reports) <= n0 or self.reports[-1].get("event") != "stats":
                if time.monotonic() > deadline:
                    raise RuntimeError("wire printed no stats")
                self._cond.wait(0.1)
            return self.reports[-1]

    def stop(self) -> Optional[dict]:
        """SIGTERM the wire; returns its final counters."""
        if self.final is None:
            self.bed.stop(self.proc)
            for t in self._threads:
                t.join(timeout=2)
            with self._cond:
                fin = [r for r in self.reports if r.get("event") == "final"]
                self.final = fin[-1] if fin else None
        return self.final

    def output(self) -> str:
        with self._cond:
            return ("--- wire argv: " + " ".join(self.argv) + "\n" + "\n".join(self.log[-100:])
                    + "\n" + "\n".join(json.dumps(r) for r in self.reports[-3:]) + "\n")


class Bed:
    """Two fresh namespaces joined by a veth; the dut side bridges a TAP to it."""

    def __init__(self, name_suffix: Optional[str] = None, shaped: bool = False, ipv6: bool = True,
                 wire: Optional[WireConfig] = None, kernel_dut: bool = False,
                 dut_mac: str = "02:00:00:00:00:02"):
        if name_suffix is None:
            name_suffix = f"{os.getpid()}-{next(_counter)}"
        self.suffix = name_suffix
        self.dut_ns = f"{PREFIX}-dut-{name_suffix}"
        self.peer_ns = f"{PREFIX}-peer-{name_suffix}"
        self.shaped = shaped
        self.ipv6 = ipv6
        self.wire_config = wire
        self.wire: Optional[Wire] = None
        self.kernel_dut = kernel_dut
        self.dut_mac = dut_mac
        self.wire_taps = ("wa", "wb")
        self.wire_bridge = "br1"
        self.tap_name = "tap0"
        self.bridge = "br0"
        self.dut_veth = "vd"
        self.peer_veth = "vp"
        self.peer_ip = PEER_IP
        self.peer_ip6 = PEER_IP6 if ipv6 else None
        self.prefix_len = PREFIX_LEN
        self.dut_static_ip = DUT_STATIC_IP
        self.workdir: Optional[str] = None
        self._procs: List[subprocess.Popen] = []
        self._created: List[str] = []
        self._closed = False

    # ---------------------------------------------------------------- setup
    def __enter__(self) -> "Bed":
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def setup(self) -> "Bed":
        if shutil.which("ip") is None:
            raise RuntimeError("iproute2 'ip' not found (scripts/install-deps.sh)")
        with _lock:
            _live_beds.add(self)
        _install_handlers()
        self.workdir = tempfile.mkdtemp(prefix=f"esst-{self.suffix}-")
        for ns in (self.dut_ns, self.peer_ns):
            if ns in _netns_list():
                raise RuntimeError(f"namespace {ns} already exists")
            _ip("netns", "add", ns)
            self._created.append(ns)
        d, p = self.dut_ns, self.peer_ns
        if self.kernel_dut:
            return self._setup_kernel_dut()

        # Quiet dut: no IPv6 on the bridge/ports, so the kernel sends nothing there.
        self._sysctl(d, "net.ipv6.conf.all.disable_ipv6", "1")
        self._sysctl(d, "net.ipv6.conf.default.disable_ipv6", "1")
        # br_netfilter (built into some kernels, on by default per namespace) would
        # validate and silently drop malformed IPv4 on the bridge: the stack must see
        # every frame the peer sends, so bridged traffic bypasses netfilter.
        # (checked after the bridge exists: the sysctls appear with the bridge code)
        _ip("-n", d, "link", "set", "lo", "up")
        _ip("-n", p, "link", "set", "lo", "up")

        _ip("-n", d, "link", "add", self.bridge, "type", "bridge",
            "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
        subprocess.run(self.dut_exec_prefix() + [
            "sh", "-c", "for f in /proc/sys/net/bridge/bridge-nf-call-*; do "
            "[ -e \"$f\" ] && echo 0 > \"$f\"; done; true"],
            check=True, capture_output=True, timeout=15)
        _ip("-n", d, "tuntap", "add", "dev", self.tap_name, "mode", "tap", "user", "0")
        _ip("-n", d, "link", "add", self.dut_veth, "type", "veth",
            "peer", "name", self.peer_veth, "netns", p)
        if self.wire_config is None:
            for dev in (self.tap_name, self.dut_veth):
                _ip("-n", d, "link", "set", dev, "master", self.bridge)
        else:
            wire_bin = wire_binary()
            wa, wb = self.wire_taps
            _ip("-n", d, "link", "add", self.wire_bridge, "type", "bridge",
                "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
            for t in (wa, wb):
                _ip("-n", d, "tuntap", "add", "dev", t, "mode", "tap", "user", "0")
            for dev, br in ((self.tap_name, self.bridge), (wa, self.bridge),
                            (wb, self.wire_bridge), (self.dut_veth, self.wire_bridge)):
                _ip("-n", d, "link", "set", dev, "master", br)

        if not self.ipv6:
            self._sysctl(p, f"net.ipv6.conf.{self.peer_veth}.disable_ipv6", "1")
        else:
            # Router advertisements/DAD from the peer kernel are not wanted either.
            self._sysctl(p, f"net.ipv6.conf.{self.peer_veth}.accept_ra", "0")
        _ip("-n", p, "addr", "add", f"{self.peer_ip}/{self.prefix_len}", "dev", self.peer_veth)
        if self.ipv6:
            _ip("-n", p, "addr", "add", f"{self.peer_ip6}/64", "dev", self.peer_veth, "nodad")

        if self.shaped:
            _tc_shape(d, self.dut_veth)
            _tc_shape(p, self.peer_veth)

        for dev in (self.bridge, self.dut_veth, self.tap_name):
            _ip("-n", d, "link", "set", dev, "up")
        if self.wire_config is not None:
            for dev in (self.wire_bridge, *self.wire_taps):
                _ip("-n", d, "link", "set", dev, "up")
        _ip("-n", p, "link", "set", self.peer_veth, "up")
        if self.wire_config is not None:
            self.wire = Wire(self, self.wire_config, wire_bin, *self.wire_taps)
        return self

    def _setup_kernel_dut(self) -> "Bed":
        """kernel_dut=True: the dut namespace holds a plain kernel interface instead
        of TAP + bridge — the reference side of differential tests that run one
        program against the Linux kernel and against the stack::

            dut: vd 198.18.0.2/24, MAC dut_mac ===veth=== vp (peer, as usual)

        IPv6 is on in the dut (no DAD, router adverts accepted), so a peer that
        sends adverts gives it the same SLAAC address the stack forms from the
        same MAC. No wire in this mode; ``shaped`` works as usual."""
        d, p = self.dut_ns, self.peer_ns
        if self.wire_config is not None:
            raise ValueError("kernel_dut does not combine with wire")
        _ip("-n", d, "link", "set", "lo", "up")
        _ip("-n", p, "link", "set", "lo", "up")
        _ip("-n", d, "link", "add", self.dut_veth, "address", self.dut_mac, "type", "veth",
            "peer", "name", self.peer_veth, "netns", p)
        if self.ipv6:
            for key, value in (("accept_dad", "0"), ("dad_transmits", "0"), ("accept_ra", "1"),
                               ("autoconf", "1"), ("use_tempaddr", "0")):
                self._sysctl(d, f"net.ipv6.conf.{self.dut_veth}.{key}", value)
            self._sysctl(p, f"net.ipv6.conf.{self.peer_veth}.accept_ra", "0")
        else:
            self._sysctl(d, "net.ipv6.conf.all.disable_ipv6", "1")
            self._sysctl(p, f"net.ipv6.conf.{self.peer_veth}.disable_ipv6", "1")
        _ip("-n", d, "addr", "add", f"{self.dut_static_ip}/{self.prefix_len}", "dev", self.dut_veth)
        _ip("-n", p, "addr", "add", f"{self.peer_ip}/{self.prefix_len}", "dev", self.peer_veth)
        if self.ipv6:
            _ip("-n", p, "addr", "add", f"{self.peer_ip6}/64", "dev", self.peer_veth, "nodad")
        if self.shaped:
            _tc_shape(d, self.dut_veth)
            _tc_shape(p, self.peer_veth)
        _ip("-n", d, "link", "set", self.dut_veth, "up")
        _ip("-n", p, "link", "set", self.peer_veth, "up")
        return self

    @staticmethod
    def _sysctl(ns: str, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", f"echo {value} > {path}"],
                       check=True, capture_output=True, timeout=15)

    # ---------------------------------------------------------------- exec helpers
    def dut_exec_prefix(self) -> List[str]:
        return ["ip", "netns", "exec", self.dut_ns]

    def peer_exec_prefix(self) -> List[str]:
        return ["ip", "netns", "exec", self.peer_ns]

    def track(self, proc: subprocess.Popen) -> subprocess.Popen:
        """Remember a process so close() stops it (by PID)."""
        with _lock:
            self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 5.0) -> Optional[int]:
        """SIGTERM, wait up to `grace` s, then SIGKILL. Returns the exit code."""
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        with _lock:
            if proc in self._procs:
                self._procs.remove(proc)
        return proc.returncode

    def run_peer(self, cmd: Cmd, **popen_kwargs) -> subprocess.Popen:
        """Start `cmd` in the peer namespace (Popen, tracked)."""
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        popen_kwargs.setdefault("preexec_fn", _die_with_parent)
        return self.track(subprocess.Popen(self.peer_exec_prefix() + _argv(cmd), **popen_kwargs))

    def run_dut(self, cmd: Cmd, **popen_kwargs) -> subprocess.Popen:
        """Start `cmd` in the dut namespace (Popen, tracked)."""
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        popen_kwargs.setdefault("preexec_fn", _die_with_parent)
        return self.track(subprocess.Popen(self.dut_exec_prefix() + _argv(cmd), **popen_kwargs))

    def peer(self, cmd: Cmd, check: bool = True, timeout: float = 60, text: bool = True,
             **run_kwargs) -> subprocess.CompletedProcess:
        """Run `cmd` in the peer namespace to completion (bounded by `timeout`)."""
        run_kwargs.setdefault("capture_output", True)
        run_kwargs.setdefault("stdin", subprocess.DEVNULL)
        run_kwargs.setdefault("preexec_fn", _die_with_parent)
        r = subprocess.run(self.peer_exec_prefix() + _argv(cmd), timeout=timeout, text=text,
                           **run_kwargs)
        if check and r.returncode != 0:
            raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
        return r

    def dut(self, cmd: Cmd, check: bool = True, timeout: float = 60, text: bool = True,
            **run_kwargs) -> subprocess.CompletedProcess:
        """Run `cmd` in the dut namespace to completion (bounded by `timeout`)."""
        run_kwargs.setdefault("capture_output", True)
        run_kwargs.setdefault("stdin", subprocess.DEVNULL)
        run_kwargs.setdefault("preexec_fn", _die_with_parent)
        r = subprocess.run(self.dut_exec_prefix() + _argv(cmd), timeout=timeout, text=text,
                           **run_kwargs)
        if check and r.returncode != 0:
            raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
        return r

    def peer_neigh_mac(self, ip: str) -> Optional[str]:
        """MAC the peer kernel has learnt for `ip` (after some traffic), or None."""
        r = self.peer(["ip", "neigh", "show", ip, "dev", self.peer_veth], check=False)
        m = re.search(r"lladdr ([0-9a-f:]{17})", r.stdout)
        return m.group(1) if m else None

    def peer_mac(self) -> str:
        r = self.peer(["cat", f"/sys/class/net/{self.peer_veth}/address"])
        return r.stdout.strip()

    # ---------------------------------------------------------------- services
    def start_dnsmasq(self, range_start: str = "198.18.0.100", range_end: str = "198.18.0.199",
                      lease: str = "1h", extra_args: Sequence[str] = (),
                      timeout: float = 10) -> Dnsmasq:
        wd = tempfile.mkdtemp(prefix="dnsmasq-", dir=self.workdir)
        os.chmod(wd, 0o755)
        dm = Dnsmasq(None, wd)  # type: ignore[arg-type]
        open(dm.lease_path, "w").close()
        argv = [
            "dnsmasq", "--keep-in-foreground", "--log-facility=-",
            "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            f"--pid-file={dm.pid_path}", f"--dhcp-leasefile={dm.lease_path}",
            "--bind-interfaces", f"--interface={self.peer_veth}", "--except-interface=lo",
            f"--listen-address={self.peer_ip}",
            f"--dhcp-range={range_start},{range_end},255.255.255.0,{lease}",
            f"--dhcp-option=3,{self.peer_ip}", f"--dhcp-option=6,{self.peer_ip}",
            "--dhcp-authoritative", "--port=53", "--log-dhcp", "--log-queries",
            "--user=root", "--group=root",
            "--address=/peer.esst.test/" + self.peer_ip,
            *extra_args,
        ]
        logf = open(dm.log_path, "w")
        proc = self.run_peer(argv, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        dm.proc = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited with {proc.returncode}:\n{dm.log()}")
            if "DHCP, IP range" in dm.log():
                return dm
            time.sleep(0.05)
        raise RuntimeError(f"dnsmasq did not come up within {timeout}s:\n{dm.log()}")

    def capture(self, bpf: str = "", side: str = "peer", name: str = "cap.pcap") -> Capture:
        """A tcpdump capture (context manager) on vp (side='peer') or br0 (side='dut')."""
        path = os.path.join(self.workdir or tempfile.gettempdir(), name)
        if side == "peer":
            return Capture(self, self.peer_ns, self.peer_veth, bpf, path)
        return Capture(self, self.dut_ns, self.bridge, bpf, path)

    # ---------------------------------------------------------------- teardown
    def close(self) -> None:
        with _lock:
            if self._closed:
                return
            self._closed = True
            procs = list(self._procs)
            self._procs.clear()
        for p in procs:
            try:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for ns in reversed(self._created):
            _delete_ns(ns)
        self._created.clear()
        if self.workdir and not os.environ.get("ESST_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        with _lock:
            _live_beds.discard(self)

    def __repr__(self) -> str:
        return f"Bed({self.suffix!r}, shaped={self.shaped}, wire={self.wire_config})"


def _tc_shape(ns: str, dev: str) -> None:
    _ip("-n", ns, "link", "set", dev, "up")
    r = subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", *SHAPE.split()],
                       capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        raise RuntimeError(f"tc qdisc add on {ns}/{dev} failed: {r.stderr.strip()}")


def close_all() -> None:
    with _lock:
        beds = list(_live_beds)
    for b in beds:
        try:
            b.close()
        except Exception:
            pass


_handlers_installed = False


def _install_handlers() -> None:
    """atexit always; SIGTERM/SIGHUP only if nobody else handles them (main thread)."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            pass
    # SIGINT stays Python's default (KeyboardInterrupt): context managers and the
    # atexit hook clean up on the way out.


def _on_signal(signum, frame):  # pragma: no cover - exercised by hand
    close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


if __name__ == "__main__":  # manual smoke test: python3 netbed.py
    with Bed(shaped=True) as bed:
        print(bed, "up")
        print(bed.peer(["ip", "-br", "addr"]).stdout)
        print(bed.dut(["ip", "-br", "link"]).stdout)
        dm = bed.start_dnsmasq()
        print("dnsmasq pid", dm.proc.pid)
    print("leftovers:", leftovers())
