//! Host tests of the C ABI. They drive the glue only through its
//! `extern "C"` functions, as the C runtime does: engines live in caller
//! memory, frames move through netdev ops implemented here over in-memory
//! queues, and time is a simulated clock advanced by the returned poll delay.

use core::ffi::c_void;
use core::ptr::{null, null_mut};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Mutex;
use std::vec;
use std::vec::Vec;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, EthernetAddress,
    EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr,
    UdpPacket, UdpRepr,
};

use crate::*;

// ---- addresses ------------------------------------------------------------------

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const IP4_A: [u8; 4] = [198, 18, 0, 1];
const IP4_B: [u8; 4] = [198, 18, 0, 2];
const IP6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const IP6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn ep4(addr: [u8; 4], port: u16) -> EsgEndpoint {
    let mut e = EsgEndpoint { family: ESG_AF_INET, port, ..Default::default() };
    e.addr[..4].copy_from_slice(&addr);
    e
}

fn ep6(addr: [u8; 16], port: u16) -> EsgEndpoint {
    EsgEndpoint { family: ESG_AF_INET6, port, addr, ..Default::default() }
}

fn any_ep(port: u16) -> EsgEndpoint {
    EsgEndpoint { family: ESG_AF_UNSPEC, port, ..Default::default() }
}

/// A position-dependent byte pattern (no short period), different per direction.
fn pat(seed: u8, i: usize) -> u8 {
    ((i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8) ^ seed
}

// ---- the netdev: in-memory frame queues -------------------------------------------

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

fn queue() -> Queue {
    Rc::new(RefCell::new(VecDeque::new()))
}

/// One engine's side of the link: frames arrive on `rx`, `tx` goes to the
/// peer's rx queue. Frames handed to the engine are kept in `inflight` until
/// rx_done, so a missing or double rx_done is counted.
#[derive(Default)]
struct Port {
    rx: Queue,
    tx: Queue,
    inflight: HashMap<usize, Vec<u8>>,
    next_cookie: usize,
    rx_taken: usize,
    rx_released: usize,
    bad_done: usize,
    tx_frames: usize,
    /// When set, a copy of every transmitted frame.
    log: Option<Vec<Vec<u8>>>,
}

unsafe extern "C" fn nd_rx_next(ctx: *mut c_void, frame: *mut *const u8, len: *mut usize, cookie: *mut usize) -> bool {
    let port = &*(ctx as *const RefCell<Port>);
    let mut p = port.borrow_mut();
    let Some(f) = p.rx.borrow_mut().pop_front() else {
        return false;
    };
    p.next_cookie += 1;
    let c = p.next_cookie;
    *frame = f.as_ptr();
    *len = f.len();
    *cookie = c;
    // Moving the Vec keeps its heap buffer where it is.
    p.inflight.insert(c, f);
    p.rx_taken += 1;
    true
}

unsafe extern "C" fn nd_rx_done(ctx: *mut c_void, cookie: usize) {
    let port = &*(ctx as *const RefCell<Port>);
    let mut p = port.borrow_mut();
    if p.inflight.remove(&cookie).is_some() {
        p.rx_released += 1;
    } else {
        p.bad_done += 1;
    }
}

unsafe extern "C" fn nd_tx(ctx: *mut c_void, frame: *mut u8, len: usize) -> i32 {
    let port = &*(ctx as *const RefCell<Port>);
    let mut p = port.borrow_mut();
    let f = core::slice::from_raw_parts(frame, len).to_vec();
    if let Some(log) = p.log.as_mut() {
        log.push(f.clone());
    }
    p.tx_frames += 1;
    p.tx.borrow_mut().push_back(f);
    0
}

// ---- engines ------------------------------------------------------------------------

/// A zeroed block of `size` bytes at an `align`-aligned address inside `v`.
fn aligned_block(size: usize, align: usize) -> (Vec<u8>, *mut u8) {
    let mut v = vec![0u8; size + align];
    let base = v.as_mut_ptr();
    let off = (align - (base as usize) % align) % align;
    // SAFETY: off < align, so base + off + size is inside v.
    (v, unsafe { base.add(off) })
}

fn config(mac: [u8; 6], max_sockets: u16) -> EsgConfig {
    EsgConfig { mac, mtu: 1500, max_sockets, rx_checksums_verified: false, tx_checksums_by_runtime: false, ipv6_slaac: false, random_seed: 0x1234_5678 ^ mac[5] as u64 }
}

struct Eng {
    ptr: *mut Engine,
    port: Box<RefCell<Port>>,
    /// Socket buffers; kept until after esg_engine_deinit.
    bufs: Vec<Vec<u8>>,
    _mem: Vec<u8>,
}

impl Eng {
    fn new(cfg: &EsgConfig, rx: Queue, tx: Queue, now: u64) -> Eng {
        let port = Box::new(RefCell::new(Port { rx, tx, ..Default::default() }));
        let ops = EsgNetdevOps {
            ctx: &*port as *const RefCell<Port> as *mut c_void,
            rx_next: Some(nd_rx_next),
            rx_done: Some(nd_rx_done),
            tx: Some(nd_tx),
        };
        let size = esg_engine_mem_size(cfg.max_sockets);
        let (mem, p) = aligned_block(size, esg_engine_mem_align());
        let mut eng = null_mut();
        let r = unsafe { esg_engine_init(p as *mut c_void, size, cfg, &ops, now, &mut eng) };
        assert_eq!(r, ESG_OK, "esg_engine_init");
        assert!(!eng.is_null());
        Eng { ptr: eng, port, bufs: Vec::new(), _mem: mem }
    }

    fn add4(&self, addr: [u8; 4], prefix: u8) {
        assert_eq!(unsafe { esg_iface_add_addr(self.ptr, ESG_AF_INET, addr.as_ptr(), prefix) }, ESG_OK);
    }

    fn add6(&self, addr: [u8; 16], prefix: u8) {
        assert_eq!(unsafe { esg_iface_add_addr(self.ptr, ESG_AF_INET6, addr.as_ptr(), prefix) }, ESG_OK);
    }

    fn buf(&mut self, len: usize) -> *mut u8 {
        let mut v = vec![0u8; len];
        let p = v.as_mut_ptr();
        self.bufs.push(v);
        p
    }

    fn tcp_open(&mut self, rx: usize, tx: usize) -> i32 {
        let (r, t) = (self.buf(rx), self.buf(tx));
        unsafe { esg_tcp_open(self.ptr, r, rx, t, tx) }
    }

    fn udp_open(&mut self, packets: u16, payload: usize) -> i32 {
        let n = esg_dgram_buffer_mem_size(packets, payload);
        let (r, t) = (self.buf(n), self.buf(n));
        unsafe { esg_udp_open(self.ptr, r as *mut c_void, n, packets, t as *mut c_void, n, packets) }
    }

    fn icmp_open(&mut self, packets: u16, payload: usize) -> i32 {
        let n = esg_dgram_buffer_mem_size(packets, payload);
        let (r, t) = (self.buf(n), self.buf(n));
        unsafe { esg_icmp_open(self.ptr, r as *mut c_void, n, packets, t as *mut c_void, n, packets) }
    }

    fn tcp_info(&self, id: i32) -> EsgTcpInfo {
        let mut i = EsgTcpInfo::default();
        assert_eq!(unsafe { esg_tcp_get_info(self.ptr, id, &mut i) }, ESG_OK);
        i
    }

    fn tcp_state(&self, id: i32) -> u8 {
        self.tcp_info(id).state
    }

    fn udp_info(&self, id: i32) -> EsgDgramInfo {
        let mut i = EsgDgramInfo::default();
        assert_eq!(unsafe { esg_udp_get_info(self.ptr, id, &mut i) }, ESG_OK);
        i
    }

    fn icmp_info(&self, id: i32) -> EsgDgramInfo {
        let mut i = EsgDgramInfo::default();
        assert_eq!(unsafe { esg_icmp_get_info(self.ptr, id, &mut i) }, ESG_OK);
        i
    }

    fn recv(&self, id: i32, len: usize, peek: bool) -> Result<Vec<u8>, i32> {
        let mut b = vec![0u8; len];
        let r = unsafe { esg_tcp_recv(self.ptr, id, b.as_mut_ptr(), len, peek) };
        if r < 0 {
            return Err(r);
        }
        b.truncate(r as usize);
        Ok(b)
    }

    fn send(&self, id: i32, data: &[u8]) -> i32 {
        unsafe { esg_tcp_send(self.ptr, id, data.as_ptr(), data.len()) }
    }

    /// Every frame handed over was released exactly once.
    fn check_frames_released(&self) {
        let p = self.port.borrow();
        assert_eq!(p.bad_done, 0, "rx_done with an unknown or released cookie");
        assert!(p.inflight.is_empty(), "{} frames never released by rx_done", p.inflight.len());
        assert_eq!(p.rx_taken, p.rx_released);
    }
}

impl Drop for Eng {
    fn drop(&mut self) {
        // Runs before the fields drop: the engine goes before its memory and buffers.
        unsafe { esg_engine_deinit(self.ptr) };
    }
}

/// Longest simulated step; the engines' own delays are usually shorter.
const STEP_CAP_US: u64 = 100_000;

/// Two engines on one simulated Ethernet link.
struct Net {
    a: Eng,
    b: Eng,
    ab: Queue,
    ba: Queue,
    now: u64,
}

impl Net {
    fn new() -> Net {
        Self::with_sockets(8)
    }

    fn with_sockets(max_sockets: u16) -> Net {
        let (ab, ba) = (queue(), queue());
        let now = 1_000_000;
        let a = Eng::new(&config(MAC_A, max_sockets), ba.clone(), ab.clone(), now);
        let b = Eng::new(&config(MAC_B, max_sockets), ab.clone(), ba.clone(), now);
        a.add4(IP4_A, 24);
        a.add6(IP6_A, 64);
        b.add4(IP4_B, 24);
        b.add6(IP6_B, 64);
        Net { a, b, ab, ba, now }
    }

    /// Poll both engines until the link is idle; the smaller next-poll delay.
    fn step(&mut self) -> u64 {
        let mut d = u64::MAX;
        for _ in 0..1000 {
            let da = unsafe { esg_poll(self.a.ptr, self.now) };
            let db = unsafe { esg_poll(self.b.ptr, self.now) };
            d = da.min(db);
            if self.ab.borrow().is_empty() && self.ba.borrow().is_empty() {
                break;
            }
        }
        d
    }

    /// Run `cond` (which may also do socket I/O), poll, advance the clock by
    /// the returned delay (capped), until `cond` holds or `max_steps` pass.
    fn run_until(&mut self, max_steps: usize, mut cond: impl FnMut(&mut Net) -> bool) -> bool {
        for _ in 0..max_steps {
            if cond(self) {
                return true;
            }
            let d = self.step();
            self.now += d.min(STEP_CAP_US);
        }
        cond(self)
    }

    /// A listens-free connect: B listens on `port`, A connects from 40000.
    fn tcp_pair(&mut self, port: u16, buf: usize) -> (i32, i32) {
        let ida = self.a.tcp_open(buf, buf);
        let idb = self.b.tcp_open(buf, buf);
        assert!(ida >= 0 && idb >= 0);
        assert_eq!(unsafe { esg_tcp_listen(self.b.ptr, idb, &any_ep(port)) }, ESG_OK);
        assert_eq!(self.b.tcp_state(idb), ESG_TCP_LISTEN);
        let r = unsafe { esg_tcp_connect(self.a.ptr, ida, &ep4(IP4_B, port), &any_ep(40000)) };
        assert_eq!(r, ESG_OK);
        assert_eq!(self.a.tcp_state(ida), ESG_TCP_SYN_SENT);
        let ok = self.run_until(200, |n| {
            n.a.tcp_state(ida) == ESG_TCP_ESTABLISHED && n.b.tcp_state(idb) == ESG_TCP_ESTABLISHED
        });
        assert!(ok, "handshake: A {} B {}", self.a.tcp_state(ida), self.b.tcp_state(idb));
        (ida, idb)
    }

    fn check_frames_released(&self) {
        self.a.check_frames_released();
        self.b.check_frames_released();
    }
}

/// Sum of 16-bit big-endian words, folded (internet checksum arithmetic).
fn ones_sum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in data.chunks(2) {
        s += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

// ---- engine init ------------------------------------------------------------------

#[test]
fn engine_init_rejects_bad_arguments() {
    let ops = EsgNetdevOps { ctx: null_mut(), rx_next: Some(nd_rx_next), rx_done: Some(nd_rx_done), tx: Some(nd_tx) };
    let cfg = config(MAC_A, 4);
    let align = esg_engine_mem_align();
    let size = esg_engine_mem_size(4);
    assert!(align.is_power_of_two() && align >= 2, "align {align}");
    assert!(size > esg_engine_mem_size(1), "size grows with max_sockets");
    let (_mem, p) = aligned_block(size + align, align);
    let init = |mem: *mut u8, len: usize, cfg: &EsgConfig, ops: &EsgNetdevOps| {
        let mut out = null_mut();
        let r = unsafe { esg_engine_init(mem as *mut c_void, len, cfg, ops, 0, &mut out) };
        if r == ESG_OK {
            assert!(!out.is_null());
            unsafe { esg_engine_deinit(out) };
        } else {
            assert!(out.is_null(), "out written on failure");
        }
        r
    };

    assert_eq!(init(null_mut(), size, &cfg, &ops), ESG_ERR_INVAL, "null memory");
    assert_eq!(init(unsafe { p.add(1) }, size, &cfg, &ops), ESG_ERR_INVAL, "misaligned memory");
    assert_eq!(init(unsafe { p.add(align / 2) }, size, &cfg, &ops), ESG_ERR_INVAL, "half-aligned memory");
    assert_eq!(init(p, size - 1, &cfg, &ops), ESG_ERR_NOMEM, "short memory");
    assert_eq!(init(p, 0, &cfg, &ops), ESG_ERR_NOMEM, "empty memory");
    unsafe {
        let mut out = null_mut();
        assert_eq!(esg_engine_init(p as *mut c_void, size, null(), &ops, 0, &mut out), ESG_ERR_INVAL);
        assert_eq!(esg_engine_init(p as *mut c_void, size, &cfg, null(), 0, &mut out), ESG_ERR_INVAL);
        assert_eq!(esg_engine_init(p as *mut c_void, size, &cfg, &ops, 0, null_mut()), ESG_ERR_INVAL);
    }
    for missing in 0..3 {
        let mut o = ops;
        match missing {
            0 => o.rx_next = None,
            1 => o.rx_done = None,
            _ => o.tx = None,
        }
        assert_eq!(init(p, size, &cfg, &o), ESG_ERR_INVAL, "incomplete ops {missing}");
    }
    for mac in [[0x01, 0x00, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1], [0xff; 6], [0x03, 0, 0, 0, 0, 1]] {
        assert_eq!(init(p, size, &EsgConfig { mac, ..config(MAC_A, 4) }, &ops), ESG_ERR_INVAL, "multicast MAC {mac:02x?}");
    }
    for mtu in [0, 575, 1501, 9000] {
        assert_eq!(init(p, size, &EsgConfig { mtu, ..config(MAC_A, 4) }, &ops), ESG_ERR_INVAL, "mtu {mtu}");
    }
    assert_eq!(init(p, size, &EsgConfig { max_sockets: 0, ..config(MAC_A, 4) }, &ops), ESG_ERR_INVAL, "no sockets");
    // The limits themselves are accepted, and exactly mem_size bytes suffice.
    for mtu in [576, 1500] {
        assert_eq!(init(p, size, &EsgConfig { mtu, ..config(MAC_A, 4) }, &ops), ESG_OK, "mtu {mtu}");
    }
    // A short block for 4 sockets is enough for 1.
    assert_eq!(init(p, esg_engine_mem_size(1), &EsgConfig { max_sockets: 1, ..config(MAC_A, 4) }, &ops), ESG_OK);
}

#[test]
fn engine_deinit_releases_memory_for_reuse() {
    let (rx, tx) = (queue(), queue());
    let cfg = config(MAC_A, 4);
    let size = esg_engine_mem_size(4);
    let (mem, p) = aligned_block(size, esg_engine_mem_align());
    let port = Box::new(RefCell::new(Port { rx, tx, ..Default::default() }));
    let ops = EsgNetdevOps {
        ctx: &*port as *const RefCell<Port> as *mut c_void,
        rx_next: Some(nd_rx_next),
        rx_done: Some(nd_rx_done),
        tx: Some(nd_tx),
    };
    let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; 2048]).collect();
    for round in 0..3 {
        let mut eng = null_mut();
        assert_eq!(unsafe { esg_engine_init(p as *mut c_void, size, &cfg, &ops, 0, &mut eng) }, ESG_OK);
        unsafe {
            assert_eq!(esg_iface_add_addr(eng, ESG_AF_INET, IP4_A.as_ptr(), 24), ESG_OK);
            let (r, t) = bufs.split_at_mut(2);
            let id = esg_tcp_open(eng, r[0].as_mut_ptr(), 2048, t[0].as_mut_ptr(), 2048);
            assert_eq!(id, 0, "round {round}: fresh engine starts at id 0");
            assert_eq!(esg_tcp_listen(eng, id, &any_ep(80)), ESG_OK);
            // A frame is in the RX queue at deinit time in the last round.
            if round == 2 {
                port.borrow().rx.borrow_mut().push_back(vec![0u8; 60]);
            }
            esg_poll(eng, 10);
            esg_engine_deinit(eng);
        }
        // The block is the caller's again: scribble over it.
        unsafe { core::ptr::write_bytes(p, 0xA5, size) };
    }
    drop(bufs);
    drop(mem);
    let pt = port.borrow();
    assert_eq!(pt.bad_done, 0);
    assert!(pt.inflight.is_empty());
}

// ---- TCP -------------------------------------------------------------------------

#[test]
fn tcp_argument_checks() {
    let mut net = Net::new();
    let id = net.a.tcp_open(1024, 1024);
    assert!(id >= 0);
    unsafe {
        let e = net.a.ptr;
        assert_eq!(esg_tcp_listen(e, id, &any_ep(0)), ESG_ERR_INVAL, "listen on port 0");
        assert_eq!(esg_tcp_listen(e, id, &ep4(IP4_A, 0)), ESG_ERR_INVAL, "listen on addr:0");
        assert_eq!(esg_tcp_listen(e, id, null()), ESG_ERR_INVAL, "listen on NULL");
        assert_eq!(esg_tcp_connect(e, id, &ep4(IP4_B, 80), &any_ep(0)), ESG_ERR_INVAL, "connect from port 0");
        assert_eq!(esg_tcp_connect(e, id, &ep4(IP4_B, 0), &any_ep(1234)), ESG_ERR_UNADDR, "connect to port 0");
        assert_eq!(esg_tcp_connect(e, id, &any_ep(80), &any_ep(1234)), ESG_ERR_UNADDR, "connect to UNSPEC");
        assert_eq!(esg_tcp_connect(e, id, &ep4([0; 4], 80), &any_ep(1234)), ESG_ERR_UNADDR, "connect to 0.0.0.0");
        let bad_family = EsgEndpoint { family: 5, ..ep4(IP4_B, 80) };
        assert_eq!(esg_tcp_connect(e, id, &bad_family, &any_ep(1234)), ESG_ERR_INVAL, "bad family");
        assert_eq!(net.a.tcp_state(id), ESG_TCP_CLOSED, "failed calls leave it closed");
        // recv/send on a closed socket
        assert_eq!(net.a.recv(id, 16, false), Err(ESG_ERR_STATE));
        assert_eq!(net.a.recv(id, 16, true), Err(ESG_ERR_STATE), "peek on a closed socket");
        assert_eq!(net.a.send(id, b"x"), ESG_ERR_STATE);
        assert_eq!(esg_tcp_send(e, id, null(), 4), ESG_ERR_INVAL);
        assert_eq!(esg_tcp_recv(e, id, null_mut(), 4, false), ESG_ERR_INVAL);
        assert_eq!(esg_tcp_get_info(e, id, null_mut()), ESG_ERR_INVAL);
        let mut b = [0u8; 4];
        assert_eq!(esg_tcp_open(e, null_mut(), 4, b.as_mut_ptr(), 4), ESG_ERR_INVAL);
        assert_eq!(esg_tcp_open(e, b.as_mut_ptr(), 0, b.as_mut_ptr(), 4), ESG_ERR_INVAL);
        // Listening: the info reports the listen endpoint, and a second listen/connect is refused.
        assert_eq!(esg_tcp_listen(e, id, &any_ep(7)), ESG_OK);
        let i = net.a.tcp_info(id);
        assert_eq!((i.state, i.local.family, i.local.port), (ESG_TCP_LISTEN, ESG_AF_UNSPEC, 7));
        assert_eq!(i.remote, EsgEndpoint::default());
        assert_eq!(esg_tcp_listen(e, id, &any_ep(8)), ESG_ERR_STATE);
        assert_eq!(esg_tcp_connect(e, id, &ep4(IP4_B, 80), &any_ep(1234)), ESG_ERR_STATE);
        // The options accept their whole ranges.
        assert_eq!(esg_tcp_set_nodelay(e, id, true), ESG_OK);
        assert_eq!(esg_tcp_set_keepalive(e, id, 0), ESG_OK);
        assert_eq!(esg_tcp_set_keepalive(e, id, u32::MAX), ESG_OK);
        assert_eq!(esg_tcp_set_timeout(e, id, 1000), ESG_OK);
        assert_eq!(esg_tcp_set_ack_delay(e, id, 0), ESG_OK);
        assert_eq!(esg_tcp_set_hop_limit(e, id, 0), ESG_OK);
        assert_eq!(esg_tcp_set_hop_limit(e, id, 255), ESG_OK);
    }
}

#[test]
fn tcp_transfer_1mb_both_ways_and_graceful_close() {
    const TOTAL: usize = 1 << 20;
    let mut net = Net::new();
    let (ida, idb) = net.tcp_pair(8080, 16 * 1024);

    // Endpoints, as bytes in network order.
    let ia = net.a.tcp_info(ida);
    let ib = net.b.tcp_info(idb);
    assert_eq!(ia.local, ep4(IP4_A, 40000));
    assert_eq!(ia.remote, ep4(IP4_B, 8080));
    assert_eq!(ib.local, ep4(IP4_B, 8080));
    assert_eq!(ib.remote, ep4(IP4_A, 40000));
    assert_eq!(&ia.local.addr[..4], &[198, 18, 0, 1]);
    assert_eq!(&ia.local.addr[4..], &[0u8; 12]);
    assert!(ia.may_send && ia.may_recv && ia.can_send && !ia.can_recv);
    assert_eq!((ia.send_capacity, ia.recv_capacity), (16 * 1024, 16 * 1024));
    assert_eq!((ia.send_queue, ia.recv_queue), (0, 0));

    // 1 MiB each way at once, checked byte for byte.
    let (mut a_sent, mut b_sent, mut a_got, mut b_got) = (0usize, 0usize, 0usize, 0usize);
    let mut chunk = vec![0u8; 6000];
    let ok = net.run_until(100_000, |n| {
        for (eng, id, sent, seed) in [(&n.a, ida, &mut a_sent, 0x5a), (&n.b, idb, &mut b_sent, 0xc3)] {
            while *sent < TOTAL {
                let len = chunk.len().min(TOTAL - *sent);
                for (k, c) in chunk[..len].iter_mut().enumerate() {
                    *c = pat(seed, *sent + k);
                }
                let r = eng.send(id, &chunk[..len]);
                assert!(r >= 0, "send: {r}");
                *sent += r as usize;
                if (r as usize) < len {
                    break;
                }
            }
        }
        for (eng, id, got, seed) in [(&n.b, idb, &mut b_got, 0x5a), (&n.a, ida, &mut a_got, 0xc3)] {
            loop {
                let d = eng.recv(id, 5000, false).expect("recv during transfer");
                if d.is_empty() {
                    break;
                }
                for (k, &c) in d.iter().enumerate() {
                    assert_eq!(c, pat(seed, *got + k), "byte {} (seed {seed:#x})", *got + k);
                }
                *got += d.len();
            }
        }
        a_got == TOTAL && b_got == TOTAL
    });
    assert!(ok, "transfer stalled: A sent {a_sent} got {a_got}, B sent {b_sent} got {b_got}");
    assert!(b_got == TOTAL && a_got == TOTAL);
    for e in [&net.a, &net.b] {
        let frames = e.port.borrow().tx_frames;
        assert!(frames > TOTAL / 1460, "1 MiB in only {frames} frames?");
    }

    // A queues a tail and closes at once: B reads the whole tail, then EOF.
    let tail: Vec<u8> = (0..3000).map(|i| pat(0x11, i)).collect();
    assert_eq!(net.a.send(ida, &tail), 3000);
    assert_eq!(unsafe { esg_tcp_close(net.a.ptr, ida) }, ESG_OK);
    assert_eq!(net.a.tcp_state(ida), ESG_TCP_FIN_WAIT_1);
    assert_eq!(net.a.send(ida, b"late"), ESG_ERR_STATE, "send after close");
    let mut got = Vec::new();
    let mut eof = false;
    let ok = net.run_until(500, |n| {
        loop {
            match n.b.recv(idb, 1024, false) {
                Ok(d) if d.is_empty() => return false,
                Ok(d) => got.extend_from_slice(&d),
                Err(e) => {
                    assert_eq!(e, ESG_ERR_FINISHED);
                    eof = true;
                    return true;
                }
            }
        }
    });
    assert!(ok && eof);
    assert_eq!(got, tail, "tail before EOF");
    assert_eq!(net.b.recv(idb, 16, false), Err(ESG_ERR_FINISHED), "EOF repeats");
    assert_eq!(net.b.recv(idb, 16, true), Err(ESG_ERR_FINISHED), "EOF on peek");
    let ib = net.b.tcp_info(idb);
    assert_eq!(ib.state, ESG_TCP_CLOSE_WAIT);
    assert!(!ib.may_recv && ib.may_send);
    assert!(net.run_until(100, |n| n.a.tcp_state(ida) == ESG_TCP_FIN_WAIT_2));

    // B can still send in CLOSE_WAIT, then closes.
    assert_eq!(net.b.send(idb, b"bye"), 3);
    assert_eq!(unsafe { esg_tcp_close(net.b.ptr, idb) }, ESG_OK);
    assert_eq!(net.b.tcp_state(idb), ESG_TCP_LAST_ACK);
    let mut bye = Vec::new();
    let ok = net.run_until(500, |n| {
        if let Ok(d) = n.a.recv(ida, 16, false) {
            bye.extend_from_slice(&d);
        }
        n.a.tcp_state(ida) == ESG_TCP_TIME_WAIT && n.b.tcp_state(idb) == ESG_TCP_CLOSED
    });
    assert!(ok, "A {} B {}", net.a.tcp_state(ida), net.b.tcp_state(idb));
    assert_eq!(bye, b"bye");
    assert_eq!(net.a.recv(ida, 16, false), Err(ESG_ERR_FINISHED));

    // TIME_WAIT ends by the clock alone (10 s in smoltcp).
    let t0 = net.now;
    assert!(net.run_until(1000, |n| n.a.tcp_state(ida) == ESG_TCP_CLOSED));
    // (t0 is up to one clock step after A entered TIME_WAIT.)
    let waited = net.now - t0;
    assert!((9_500_000..=10_500_000).contains(&waited), "TIME_WAIT lasted {waited} us");
    assert_eq!(unsafe { esg_socket_remove(net.a.ptr, ida) }, ESG_OK);
    assert_eq!(unsafe { esg_socket_remove(net.b.ptr, idb) }, ESG_OK);
    net.check_frames_released();
}

#[test]
fn poll_ingress_takes_frames_and_leaves_socket_egress() {
    let mut net = Net::new();
    let (ida, idb) = net.tcp_pair(7, 4096);
    assert_eq!(unsafe { esg_tcp_set_ack_delay(net.b.ptr, idb, 0) }, ESG_OK);
    assert_eq!(net.a.send(ida, b"request"), 7);
    unsafe { esg_poll(net.a.ptr, net.now) };
    assert_eq!(net.ab.borrow().len(), 1, "A sent its segment");
    let d = unsafe { esg_poll_ingress(net.b.ptr, net.now) };
    assert!(net.ab.borrow().is_empty(), "B took the frame");
    assert_eq!(net.b.recv(idb, 64, true).unwrap(), b"request");
    assert!(net.ba.borrow().is_empty(), "the ACK waits for egress");
    assert_eq!(d, 0, "and is due now");
    unsafe { esg_poll(net.b.ptr, net.now) };
    assert_eq!(net.ba.borrow().len(), 1, "esg_poll sent the ACK");
    net.step();

    // What ingress answers itself leaves at once: an echo reply.
    let ia = net.a.icmp_open(2, 256);
    let echo = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, 0xaa];
    unsafe {
        assert_eq!(esg_icmp_bind_ident(net.a.ptr, ia, 0x1234), ESG_OK);
        assert_eq!(esg_icmp_send(net.a.ptr, ia, echo.as_ptr(), echo.len(), ESG_AF_INET, IP4_B.as_ptr()), 9);
        esg_poll(net.a.ptr, net.now);
        esg_poll_ingress(net.b.ptr, net.now);
    }
    assert_eq!(net.ba.borrow().len(), 1, "echo reply sent during ingress");
    assert!(net.run_until(10, |n| n.a.icmp_info(ia).can_recv));
    net.check_frames_released();
}

#[test]
fn tcp_over_ipv6() {
    let mut net = Net::new();
    let ida = net.a.tcp_open(4096, 4096);
    let idb = net.b.tcp_open(4096, 4096);
    unsafe {
        assert_eq!(esg_tcp_listen(net.b.ptr, idb, &ep6(IP6_B, 443)), ESG_OK);
        assert_eq!(esg_tcp_connect(net.a.ptr, ida, &ep6(IP6_B, 443), &any_ep(50000)), ESG_OK);
    }
    assert!(net.run_until(200, |n| n.b.tcp_state(idb) == ESG_TCP_ESTABLISHED));
    let ib = net.b.tcp_info(idb);
    assert_eq!(ib.local, ep6(IP6_B, 443));
    assert_eq!(ib.remote, ep6(IP6_A, 50000));
    assert_eq!(net.a.send(ida, b"over v6"), 7);
    let mut got = Vec::new();
    assert!(net.run_until(100, |n| {
        got.extend(n.b.recv(idb, 64, false).unwrap());
        got.len() == 7
    }));
    assert_eq!(got, b"over v6");
    net.check_frames_released();
}

#[test]
fn tcp_peek_leaves_data() {
    let mut net = Net::new();
    let (ida, idb) = net.tcp_pair(9000, 4096);
    assert_eq!(net.a.send(ida, b"hello world"), 11);
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 11));
    assert!(net.b.tcp_info(idb).can_recv);
    assert_eq!(net.b.recv(idb, 5, true).unwrap(), b"hello");
    assert_eq!(net.b.tcp_info(idb).recv_queue, 11, "peek consumed data");
    assert_eq!(net.b.recv(idb, 64, true).unwrap(), b"hello world");
    assert_eq!(net.b.recv(idb, 0, false).unwrap(), b"", "zero-length recv");
    assert_eq!(net.b.recv(idb, 64, false).unwrap(), b"hello world");
    assert_eq!(net.b.tcp_info(idb).recv_queue, 0);
    assert_eq!(net.b.recv(idb, 64, true).unwrap(), b"", "nothing queued yet is 0, not an error");
    assert_eq!(net.b.recv(idb, 64, false).unwrap(), b"");
    assert_eq!(net.a.send(ida, b""), 0, "zero-length send while open");
}

#[test]
fn tcp_abort_resets_peer() {
    let mut net = Net::new();
    let (ida, idb) = net.tcp_pair(9001, 4096);
    assert_eq!(net.a.send(ida, b"unsent?"), 7);
    assert_eq!(unsafe { esg_tcp_abort(net.a.ptr, ida) }, ESG_OK);
    assert_eq!(net.a.tcp_state(ida), ESG_TCP_CLOSED, "abort closes at once");
    assert!(net.run_until(100, |n| n.b.tcp_state(idb) == ESG_TCP_CLOSED), "B state {}", net.b.tcp_state(idb));
    let ib = net.b.tcp_info(idb);
    assert!(!ib.may_recv && !ib.may_send);
    assert_eq!(net.b.recv(idb, 16, false), Err(ESG_ERR_STATE), "RST is not EOF");
    assert_eq!(net.b.recv(idb, 16, true), Err(ESG_ERR_STATE), "peek after RST");
    assert_eq!(net.b.send(idb, b"x"), ESG_ERR_STATE);
    net.check_frames_released();
}

#[test]
fn tcp_connect_to_closed_port_gets_rst() {
    let mut net = Net::new();
    let ida = net.a.tcp_open(2048, 2048);
    assert_eq!(unsafe { esg_tcp_connect(net.a.ptr, ida, &ep4(IP4_B, 9), &any_ep(41000)) }, ESG_OK);
    let t0 = net.now;
    assert!(net.run_until(100, |n| n.a.tcp_state(ida) == ESG_TCP_CLOSED), "state {}", net.a.tcp_state(ida));
    // Refused by RST, not by some timeout: well under the first SYN retransmission.
    assert!(net.now - t0 < 500_000, "took {} us", net.now - t0);
    assert_eq!(net.a.recv(ida, 16, false), Err(ESG_ERR_STATE));
    // The same socket can connect again (now to a listener).
    let idb = net.b.tcp_open(2048, 2048);
    unsafe {
        assert_eq!(esg_tcp_listen(net.b.ptr, idb, &any_ep(9)), ESG_OK);
        assert_eq!(esg_tcp_connect(net.a.ptr, ida, &ep4(IP4_B, 9), &any_ep(41001)), ESG_OK);
    }
    assert!(net.run_until(100, |n| n.a.tcp_state(ida) == ESG_TCP_ESTABLISHED));
    net.check_frames_released();
}

// ---- ids and the socket table --------------------------------------------------------

#[test]
fn bad_socket_ids() {
    let mut net = Net::with_sockets(4);
    let t = net.a.tcp_open(512, 512);
    let u = net.a.udp_open(2, 512);
    let i = net.a.icmp_open(2, 512);
    assert_eq!((t, u, i), (0, 1, 2));
    let e = net.a.ptr;
    let mut b = [0u8; 16];
    let mut ti = EsgTcpInfo::default();
    let mut di = EsgDgramInfo::default();
    unsafe {
        // negative, past max_sockets, and an in-range slot never opened
        for id in [-1, i32::MIN, 4, 1000, i32::MAX, 3] {
            assert_eq!(esg_tcp_send(e, id, b.as_ptr(), 1), ESG_ERR_BADID, "tcp_send {id}");
            assert_eq!(esg_tcp_recv(e, id, b.as_mut_ptr(), 16, false), ESG_ERR_BADID, "tcp_recv {id}");
            assert_eq!(esg_tcp_get_info(e, id, &mut ti), ESG_ERR_BADID);
            assert_eq!(esg_tcp_close(e, id), ESG_ERR_BADID);
            assert_eq!(esg_tcp_listen(e, id, &any_ep(1)), ESG_ERR_BADID);
            assert_eq!(esg_tcp_connect(e, id, &ep4(IP4_B, 1), &any_ep(1)), ESG_ERR_BADID);
            assert_eq!(esg_udp_bind(e, id, &any_ep(1)), ESG_ERR_BADID);
            assert_eq!(esg_udp_get_info(e, id, &mut di), ESG_ERR_BADID);
            assert_eq!(esg_icmp_bind_ident(e, id, 1), ESG_ERR_BADID);
            assert_eq!(esg_socket_register_wake(e, id, ESG_WAKE_RECV, 1), ESG_ERR_BADID);
            assert_eq!(esg_socket_remove(e, id), ESG_ERR_BADID, "remove {id}");
        }
        // wrong kind
        for id in [u, i] {
            assert_eq!(esg_tcp_send(e, id, b.as_ptr(), 1), ESG_ERR_BADID);
            assert_eq!(esg_tcp_recv(e, id, b.as_mut_ptr(), 16, false), ESG_ERR_BADID);
            assert_eq!(esg_tcp_get_info(e, id, &mut ti), ESG_ERR_BADID);
            assert_eq!(esg_tcp_abort(e, id), ESG_ERR_BADID);
            assert_eq!(esg_tcp_set_nodelay(e, id, true), ESG_ERR_BADID);
            assert_eq!(esg_tcp_connect(e, id, &ep4(IP4_B, 1), &any_ep(1)), ESG_ERR_BADID);
        }
        for id in [t, i] {
            let mut full = 0usize;
            assert_eq!(esg_udp_recv(e, id, b.as_mut_ptr(), 16, false, &mut full, null_mut(), null_mut()), ESG_ERR_BADID);
            assert_eq!(esg_udp_send(e, id, b.as_ptr(), 1, &ep4(IP4_B, 1), null()), ESG_ERR_BADID);
            assert_eq!(esg_udp_get_info(e, id, &mut di), ESG_ERR_BADID);
            assert_eq!(esg_udp_set_hop_limit(e, id, 1), ESG_ERR_BADID);
        }
        for id in [t, u] {
            assert_eq!(esg_icmp_send(e, id, b.as_ptr(), 8, ESG_AF_INET, IP4_B.as_ptr()), ESG_ERR_BADID);
            assert_eq!(esg_icmp_recv(e, id, b.as_mut_ptr(), 16, null_mut(), null_mut()), ESG_ERR_BADID);
            assert_eq!(esg_icmp_get_info(e, id, &mut di), ESG_ERR_BADID);
        }
        assert_eq!(esg_socket_register_wake(e, t, 2, 1), ESG_ERR_INVAL, "bad direction");
        assert_eq!(esg_socket_register_wake(e, t, -1, 1), ESG_ERR_INVAL, "bad direction");
        // A removed id is bad afterwards; the other sockets are untouched.
        assert_eq!(esg_socket_remove(e, u), ESG_OK);
        assert_eq!(esg_socket_remove(e, u), ESG_ERR_BADID, "double remove");
        assert_eq!(esg_udp_get_info(e, u, &mut di), ESG_ERR_BADID);
        assert_eq!(esg_tcp_get_info(e, t, &mut ti), ESG_OK);
        assert_eq!(esg_icmp_get_info(e, i, &mut di), ESG_OK);
        // NULL engine
        assert_eq!(esg_tcp_get_info(null_mut(), t, &mut ti), ESG_ERR_INVAL);
        assert_eq!(esg_poll(null_mut(), 0), ESG_POLL_NEVER_RS);
    }
}

const ESG_POLL_NEVER_RS: u64 = u64::MAX;

#[test]
fn socket_table_full_and_slot_reuse() {
    let mut net = Net::with_sockets(4);
    let ids: Vec<i32> = (0..4).map(|_| net.a.tcp_open(256, 256)).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(net.a.tcp_open(256, 256), ESG_ERR_NOSLOT);
    assert_eq!(net.a.udp_open(1, 64), ESG_ERR_NOSLOT);
    assert_eq!(net.a.icmp_open(1, 64), ESG_ERR_NOSLOT);
    // The DHCP client has its own storage entry: it still fits.
    assert_eq!(unsafe { esg_dhcp_start(net.a.ptr, null_mut(), 0) }, ESG_OK);
    net.step();
    unsafe {
        assert_eq!(esg_tcp_listen(net.a.ptr, 2, &any_ep(22)), ESG_OK);
        assert_eq!(esg_socket_remove(net.a.ptr, 2), ESG_OK);
    }
    let u = net.a.udp_open(2, 256);
    assert_eq!(u, 2, "freed slot reused");
    assert!(!net.a.udp_info(u).is_open, "new socket, not the old one");
    assert_eq!(net.a.tcp_open(256, 256), ESG_ERR_NOSLOT);
    unsafe {
        assert_eq!(esg_socket_remove(net.a.ptr, 0), ESG_OK);
        assert_eq!(esg_socket_remove(net.a.ptr, 3), ESG_OK);
    }
    assert_eq!(net.a.tcp_open(256, 256), 0, "lowest free slot first");
    assert_eq!(net.a.icmp_open(1, 64), 3);
    assert_eq!(net.a.tcp_open(256, 256), ESG_ERR_NOSLOT);
    // The reused slots work: the new TCP socket in slot 0 can listen and accept.
    let idb = net.b.tcp_open(256, 256);
    unsafe {
        assert_eq!(esg_tcp_listen(net.a.ptr, 0, &any_ep(22)), ESG_OK);
        assert_eq!(esg_tcp_connect(net.b.ptr, idb, &ep4(IP4_A, 22), &any_ep(2222)), ESG_OK);
        esg_dhcp_stop(net.a.ptr);
    }
    assert!(net.run_until(100, |n| n.a.tcp_state(0) == ESG_TCP_ESTABLISHED));
    net.check_frames_released();
}

/// smoltcp walks the whole slice of its socket set on every packet and poll; the
/// engine's set spans only the entries its sockets need, whatever max_sockets is,
/// and a connection keeps working while the span moves under it.
#[test]
fn socket_set_spans_only_the_sockets_open() {
    let mut net = Net::with_sockets(40);
    let span = |e: &Eng| unsafe { (*e.ptr).span() };
    assert_eq!(span(&net.a), 0);
    let (ida, idb) = net.tcp_pair(7070, 4096);
    assert_eq!((ida, span(&net.a)), (0, 1));
    let ids: Vec<i32> = (0..30).map(|_| net.a.tcp_open(256, 256)).collect();
    assert_eq!(ids, (1..31).collect::<Vec<i32>>());
    assert_eq!(span(&net.a), 31);
    assert_eq!(unsafe { esg_dhcp_start(net.a.ptr, null_mut(), 0) }, ESG_OK);
    assert_eq!(span(&net.a), 32);
    for &id in &ids[..29] {
        assert_eq!(unsafe { esg_socket_remove(net.a.ptr, id) }, ESG_OK);
    }
    assert_eq!(span(&net.a), 32, "the DHCP client sits at the end");
    unsafe { esg_dhcp_stop(net.a.ptr) };
    assert_eq!(span(&net.a), 31, "down to socket 30");
    assert_eq!(unsafe { esg_socket_remove(net.a.ptr, 30) }, ESG_OK);
    assert_eq!(span(&net.a), 1, "only the connection is left");
    // A new socket takes the first free entry, inside the span or just past it.
    let u = net.a.udp_open(2, 64);
    assert_eq!((u, span(&net.a)), (1, 2));
    // The connection survived every respan: data still flows both ways.
    assert_eq!(net.a.send(ida, b"over a moved span"), 17);
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 17));
    assert_eq!(net.b.recv(idb, 64, false).unwrap(), b"over a moved span");
    assert_eq!(net.b.send(idb, b"back"), 4);
    assert!(net.run_until(100, |n| n.a.tcp_info(ida).recv_queue == 4));
    assert_eq!(net.a.recv(ida, 64, false).unwrap(), b"back");
    // Full: max_sockets sockets plus DHCP and DNS fill the table exactly.
    let more: Vec<i32> = (0..38).map(|_| net.a.tcp_open(64, 64)).collect();
    assert!(more.iter().all(|&id| id >= 0));
    assert_eq!(net.a.tcp_open(64, 64), ESG_ERR_NOSLOT);
    assert_eq!(unsafe { esg_dhcp_start(net.a.ptr, null_mut(), 0) }, ESG_OK);
    assert_eq!(unsafe { esg_dns_set_servers(net.a.ptr, &ep4(IP4_B, 53), 1) }, 1);
    assert_eq!(span(&net.a), 42);
    net.check_frames_released();
}

// ---- UDP ---------------------------------------------------------------------------

fn udp_recv(e: &Eng, id: i32, len: usize, peek: bool) -> Result<(Vec<u8>, usize, EsgEndpoint, EsgEndpoint), i32> {
    let mut b = vec![0u8; len];
    let mut full = usize::MAX;
    let mut from = EsgEndpoint { family: 99, ..Default::default() };
    let mut to = from;
    let r = unsafe { esg_udp_recv(e.ptr, id, b.as_mut_ptr(), len, peek, &mut full, &mut from, &mut to) };
    if r < 0 {
        return Err(r);
    }
    b.truncate(r as usize);
    Ok((b, full, from, to))
}

#[test]
fn udp_datagrams() {
    let mut net = Net::new();
    let ub = net.b.udp_open(4, 1024);
    let ua = net.a.udp_open(2, 1024);
    let (a, b) = (net.a.ptr, net.b.ptr);
    let msg: Vec<u8> = (0..100).map(|i| pat(7, i)).collect();
    unsafe {
        assert_eq!(esg_udp_bind(b, ub, &any_ep(0)), ESG_ERR_INVAL, "bind port 0");
        assert_eq!(esg_udp_bind(b, ub, &ep4(IP4_B, 0)), ESG_ERR_INVAL, "bind addr:0");
        assert_eq!(esg_udp_bind(b, ub, null()), ESG_ERR_INVAL);
        assert!(!net.b.udp_info(ub).is_open);
        assert_eq!(esg_udp_bind(b, ub, &any_ep(5353)), ESG_OK);
        assert_eq!(esg_udp_bind(b, ub, &any_ep(5354)), ESG_ERR_STATE, "bind twice");
        let ib = net.b.udp_info(ub);
        assert!(ib.is_open && ib.can_send && !ib.can_recv);
        assert_eq!((ib.local, ib.next_len, ib.recv_queue), (any_ep(5353), 0, 0));

        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, &ep4(IP4_B, 5353), null()), ESG_ERR_UNADDR, "unbound");
        assert_eq!(esg_udp_bind(a, ua, &ep4(IP4_A, 4000)), ESG_OK);
        assert_eq!(net.a.udp_info(ua).local, ep4(IP4_A, 4000));
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, &ep4(IP4_B, 0), null()), ESG_ERR_UNADDR, "to port 0");
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, &any_ep(5353), null()), ESG_ERR_UNADDR, "to UNSPEC");
        assert_eq!(esg_udp_send(a, ua, null(), 100, &ep4(IP4_B, 5353), null()), ESG_ERR_INVAL);
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, null(), null()), ESG_ERR_INVAL);
        assert_eq!(esg_udp_recv(b, ub, null_mut(), 4, false, null_mut(), null_mut(), null_mut()), ESG_ERR_INVAL);
    }
    assert_eq!(udp_recv(&net.b, ub, 64, false), Err(ESG_ERR_AGAIN), "empty");
    assert_eq!(udp_recv(&net.b, ub, 64, true), Err(ESG_ERR_AGAIN), "empty, peek");

    assert_eq!(unsafe { esg_udp_send(a, ua, msg.as_ptr(), 100, &ep4(IP4_B, 5353), null()) }, 100);
    assert!(net.run_until(100, |n| n.b.udp_info(ub).can_recv));
    let ib = net.b.udp_info(ub);
    assert_eq!((ib.next_len, ib.recv_queue), (100, 100));

    // peek, truncated: the datagram stays
    let (d, full, from, to) = udp_recv(&net.b, ub, 10, true).unwrap();
    assert_eq!((d.as_slice(), full), (&msg[..10], 100));
    assert_eq!(from, ep4(IP4_A, 4000));
    assert_eq!(to, ep4(IP4_B, 0));
    assert_eq!(net.b.udp_info(ub).next_len, 100, "peek consumed it");
    let (d, full, ..) = udp_recv(&net.b, ub, 1000, true).unwrap();
    assert_eq!((d.as_slice(), full), (&msg[..], 100));
    // recv, truncated: copied bytes returned, full_len the real size, the rest dropped
    let (d, full, from, _) = udp_recv(&net.b, ub, 10, false).unwrap();
    assert_eq!((d.len(), full), (10, 100));
    assert_eq!(d, &msg[..10]);
    assert_eq!(from, ep4(IP4_A, 4000));
    assert_eq!(udp_recv(&net.b, ub, 1000, false), Err(ESG_ERR_AGAIN), "remainder dropped");
    assert_eq!(net.b.udp_info(ub).recv_queue, 0);
    unsafe {
        // A NULL buffer with len 0 just reports the size; NULL outputs are fine.
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 33, &ep4(IP4_B, 5353), IP4_A.as_ptr()), 33);
        assert!(net.run_until(100, |n| n.b.udp_info(ub).can_recv));
        let mut full = 0usize;
        assert_eq!(esg_udp_recv(b, ub, null_mut(), 0, true, &mut full, null_mut(), null_mut()), 0);
        assert_eq!(full, 33);
        assert_eq!(esg_udp_recv(b, ub, null_mut(), 0, false, null_mut(), null_mut(), null_mut()), 0);
        assert_eq!(udp_recv(&net.b, ub, 64, false), Err(ESG_ERR_AGAIN));
        // an empty datagram is a datagram
        assert_eq!(esg_udp_send(a, ua, null(), 0, &ep4(IP4_B, 5353), null()), 0);
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).can_recv));
    let (d, full, from, _) = udp_recv(&net.b, ub, 64, false).unwrap();
    assert_eq!((d.len(), full, from), (0, 0, ep4(IP4_A, 4000)));

    unsafe {
        // Over the buffer: never fits. Two packets fit, the third waits.
        // (The payload area may exceed the 1024 asked for by up to the
        // alignment slack esg_dgram_buffer_mem_size adds; 1024 + 64 never fits.)
        let big = vec![0u8; 100_000];
        assert_eq!(esg_udp_send(a, ua, big.as_ptr(), 1024 + 64, &ep4(IP4_B, 5353), null()), ESG_ERR_TOOBIG);
        assert_eq!(esg_udp_send(a, ua, big.as_ptr(), 100_000, &ep4(IP4_B, 5353), null()), ESG_ERR_TOOBIG);
        assert!(net.a.udp_info(ua).can_send, "TOOBIG queued nothing");
        for k in 0..2 {
            assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, &ep4(IP4_B, 5353), null()), 100, "packet {k}");
        }
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 100, &ep4(IP4_B, 5353), null()), ESG_ERR_AGAIN, "tx ring full");
        assert!(!net.a.udp_info(ua).can_send);
        assert_eq!(net.a.udp_info(ua).send_queue, 200, "queued, not yet sent");
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).recv_queue == 200));
    assert!(net.a.udp_info(ua).can_send);
    assert_eq!(net.a.udp_info(ua).send_queue, 0, "sent");
    for _ in 0..2 {
        assert_eq!(udp_recv(&net.b, ub, 1000, false).unwrap().0, msg);
    }
    assert_eq!(unsafe { esg_udp_set_hop_limit(a, ua, 1) }, ESG_OK);
    net.check_frames_released();
}

#[test]
fn udp_over_ipv6() {
    let mut net = Net::new();
    let ub = net.b.udp_open(4, 1024);
    let ua = net.a.udp_open(4, 1024);
    unsafe {
        assert_eq!(esg_udp_bind(net.b.ptr, ub, &ep6(IP6_B, 5353)), ESG_OK);
        assert_eq!(esg_udp_bind(net.a.ptr, ua, &any_ep(4000)), ESG_OK);
        assert_eq!(esg_udp_send(net.a.ptr, ua, b"v6 datagram".as_ptr(), 11, &ep6(IP6_B, 5353), null()), 11);
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).can_recv));
    let (d, full, from, to) = udp_recv(&net.b, ub, 64, false).unwrap();
    assert_eq!((d.as_slice(), full), (&b"v6 datagram"[..], 11));
    assert_eq!(from, ep6(IP6_A, 4000));
    assert_eq!(to, ep6(IP6_B, 0));
    // B answers to the sender's endpoint as reported.
    unsafe {
        assert_eq!(esg_udp_send(net.b.ptr, ub, b"reply".as_ptr(), 5, &from, null()), 5);
    }
    assert!(net.run_until(100, |n| n.a.udp_info(ua).can_recv));
    let (d, _, from, _) = udp_recv(&net.a, ua, 64, false).unwrap();
    assert_eq!((d.as_slice(), from), (&b"reply"[..], ep6(IP6_B, 5353)));
    net.check_frames_released();
}

#[test]
fn dgram_buffer_size_and_open_checks() {
    let mut net = Net::new();
    let e = net.a.ptr;
    // The size covers metadata for each packet plus the payload, whatever the block's alignment.
    assert!(esg_dgram_buffer_mem_size(4, 1000) >= 1000 + 4);
    assert!(esg_dgram_buffer_mem_size(8, 1000) > esg_dgram_buffer_mem_size(4, 1000));
    let n = esg_dgram_buffer_mem_size(2, 300);
    let mut block = vec![0u8; 2 * n + 16];
    for off in 0..8 {
        let p = unsafe { block.as_mut_ptr().add(off) } as *mut c_void;
        let q = unsafe { block.as_mut_ptr().add(n + 8 + off) } as *mut c_void;
        let id = unsafe { esg_udp_open(e, p, n, 2, q, n, 2) };
        assert!(id >= 0, "offset {off}: {id}");
        let mut big = vec![7u8; 300];
        unsafe {
            assert_eq!(esg_udp_bind(e, id, &any_ep(7000)), ESG_OK);
            assert_eq!(esg_udp_send(e, id, big.as_mut_ptr(), 300, &ep4(IP4_B, 9), null()), 300, "payload fits at offset {off}");
            assert_eq!(esg_socket_remove(e, id), ESG_OK);
        }
    }
    unsafe {
        let p = block.as_mut_ptr() as *mut c_void;
        assert_eq!(esg_udp_open(e, null_mut(), n, 2, p, n, 2), ESG_ERR_INVAL);
        assert_eq!(esg_udp_open(e, p, n, 0, p, n, 2), ESG_ERR_INVAL, "0 packets");
        assert_eq!(esg_udp_open(e, p, 8, 2, p, n, 2), ESG_ERR_NOMEM, "block too short for the metadata");
        assert_eq!(esg_icmp_open(e, p, 8, 2, p, n, 2), ESG_ERR_NOMEM);
    }
    drop(block);
    let _ = &mut net;
}

// ---- ICMP ----------------------------------------------------------------------------

#[test]
fn icmp_ping_auto_reply() {
    let mut net = Net::new();
    let ia = net.a.icmp_open(4, 1024);
    assert!(ia >= 0);
    let e = net.a.ptr;
    let payload = b"esp-smoltcp ping payload";
    let echo = |ty: u8, seq: u16| {
        let mut m = vec![ty, 0, 0, 0, 0x12, 0x34, (seq >> 8) as u8, seq as u8];
        m.extend_from_slice(payload);
        m
    };
    unsafe {
        assert_eq!(esg_icmp_bind_ident(e, ia, 0x1234), ESG_OK);
        assert_eq!(esg_icmp_bind_ident(e, ia, 0x1235), ESG_ERR_STATE, "bind twice");
        assert!(net.a.icmp_info(ia).is_open);
        assert_eq!(esg_icmp_send(e, ia, null(), 8, ESG_AF_INET, IP4_B.as_ptr()), ESG_ERR_INVAL);
        assert_eq!(esg_icmp_send(e, ia, echo(8, 1).as_ptr(), 8, 9, IP4_B.as_ptr()), ESG_ERR_INVAL, "family");
        assert_eq!(esg_icmp_send(e, ia, echo(8, 1).as_ptr(), 2000, ESG_AF_INET, IP4_B.as_ptr()), ESG_ERR_TOOBIG);
        let m = echo(8, 1);
        assert_eq!(esg_icmp_send(e, ia, m.as_ptr(), m.len(), ESG_AF_INET, IP4_B.as_ptr()), m.len() as i32);
    }
    assert!(net.run_until(100, |n| n.a.icmp_info(ia).can_recv), "no echo reply");
    let mut b = vec![0u8; 256];
    let mut full = 0usize;
    let mut from = EsgEndpoint::default();
    let r = unsafe { esg_icmp_recv(e, ia, b.as_mut_ptr(), b.len(), &mut full, &mut from) };
    assert_eq!(r as usize, 8 + payload.len());
    assert_eq!(full, r as usize);
    b.truncate(r as usize);
    assert_eq!(b[0], 0, "type echo reply");
    assert_eq!(&b[4..8], &[0x12, 0x34, 0, 1], "ident and seq");
    assert_eq!(&b[8..], payload);
    assert_eq!(ones_sum(&b), 0xffff, "checksum");
    assert_eq!(from, ep4(IP4_B, 0));
    let r = unsafe { esg_icmp_recv(e, ia, b.as_mut_ptr(), b.len(), &mut full, &mut from) };
    assert_eq!(r, ESG_ERR_AGAIN);

    // IPv6, truncated receive
    let m = echo(128, 2);
    assert_eq!(unsafe { esg_icmp_send(e, ia, m.as_ptr(), m.len(), ESG_AF_INET6, IP6_B.as_ptr()) }, m.len() as i32);
    assert!(net.run_until(100, |n| n.a.icmp_info(ia).can_recv), "no ICMPv6 echo reply");
    let mut b = [0u8; 8];
    let r = unsafe { esg_icmp_recv(e, ia, b.as_mut_ptr(), 8, &mut full, &mut from) };
    assert_eq!(r, 8);
    assert_eq!(full, 8 + payload.len());
    assert_eq!(b[0], 129, "ICMPv6 echo reply");
    assert_eq!(&b[4..8], &[0x12, 0x34, 0, 2]);
    assert_eq!(from, ep6(IP6_B, 0));
    net.check_frames_released();
}

// ---- raw IP and routing questions -------------------------------------------------------

#[test]
fn raw_icmp_ping_with_ip_header() {
    let mut net = Net::new();
    let e = net.a.ptr;
    let n = esg_dgram_buffer_mem_size(4, 1024);
    let (r, t) = (net.a.buf(n), net.a.buf(n));
    let (rv, tv) = (r as *mut c_void, t as *mut c_void);
    unsafe {
        assert_eq!(esg_raw_open(e, 9, 1, rv, n, 4, tv, n, 4), ESG_ERR_INVAL, "family");
    }
    let id = unsafe { esg_raw_open(e, ESG_AF_INET, 1, rv, n, 4, tv, n, 4) };
    assert!(id >= 0);
    let mut m = vec![8u8, 0, 0, 0, 0x43, 0x21, 0, 7];
    m.extend_from_slice(b"raw payload");
    let c = !ones_sum(&m);
    m[2] = (c >> 8) as u8;
    m[3] = c as u8;
    unsafe {
        assert_eq!(esg_raw_send(e, id, m.as_ptr(), m.len(), ESG_AF_INET6, IP6_B.as_ptr(), 0), ESG_ERR_INVAL, "v6 on v4");
        assert_eq!(esg_raw_send(e, id, m.as_ptr(), 4000, ESG_AF_INET, IP4_B.as_ptr(), 0), ESG_ERR_TOOBIG);
        assert_eq!(esg_raw_send(e, id, m.as_ptr(), m.len(), ESG_AF_INET, IP4_B.as_ptr(), 9), m.len() as i32);
    }
    let mut info = EsgDgramInfo::default();
    let ok = net.run_until(100, |n| unsafe {
        esg_raw_get_info(n.a.ptr, id, &mut info) == ESG_OK && info.can_recv
    });
    assert!(ok, "no echo reply on the raw socket");
    assert_eq!(info.next_len as usize, 20 + m.len());
    let mut b = vec![0u8; 256];
    let mut full = 0usize;
    let mut from = EsgEndpoint::default();
    let k = unsafe { esg_raw_recv(e, id, b.as_mut_ptr(), 10, true, &mut full, &mut from) };
    assert_eq!((k, full), (10, 20 + m.len()), "peek, truncated");
    let k = unsafe { esg_raw_recv(e, id, b.as_mut_ptr(), b.len(), false, &mut full, &mut from) };
    assert_eq!(k as usize, 20 + m.len());
    assert_eq!(from, ep4(IP4_B, 0));
    assert_eq!(b[0], 0x45, "IPv4 header, 20 bytes");
    assert_eq!(b[9], 1, "protocol ICMP");
    assert_eq!(&b[12..16], &IP4_B, "source");
    assert_eq!(&b[16..20], &IP4_A, "destination");
    assert_eq!(b[20], 0, "echo reply");
    assert_eq!(&b[24..28], &[0x43, 0x21, 0, 7], "ident and seq");
    assert_eq!(&b[28..k as usize], b"raw payload");
    let k = unsafe { esg_raw_recv(e, id, b.as_mut_ptr(), b.len(), false, &mut full, &mut from) };
    assert_eq!(k, ESG_ERR_AGAIN);
    net.check_frames_released();
}

#[test]
fn iface_routes_and_source_addresses() {
    let net = Net::new();
    let e = net.a.ptr;
    let far4 = [198u8, 19, 0, 1];
    let far6 = [0x20u8, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let bcast = [255u8; 4];
    let mut out = [0u8; 16];
    unsafe {
        assert!(esg_iface_has_route(e, ESG_AF_INET, IP4_B.as_ptr()), "on-link");
        assert!(esg_iface_has_route(e, ESG_AF_INET6, IP6_B.as_ptr()), "on-link v6");
        assert!(esg_iface_has_route(e, ESG_AF_INET, bcast.as_ptr()), "broadcast");
        assert!(!esg_iface_has_route(e, ESG_AF_INET, far4.as_ptr()), "no route");
        assert!(!esg_iface_has_route(e, ESG_AF_INET6, far6.as_ptr()), "no route v6");
        assert!(!esg_iface_has_route(e, 9, far4.as_ptr()), "bad family");
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET, IP4_B.as_ptr()), ESG_OK);
        assert!(esg_iface_has_route(e, ESG_AF_INET, far4.as_ptr()), "via the default route");
        assert!(!esg_iface_has_route(e, ESG_AF_INET6, far6.as_ptr()), "the v4 route is no v6 route");
        assert_eq!(esg_iface_source_addr(e, ESG_AF_INET, IP4_B.as_ptr(), out.as_mut_ptr()), ESG_OK);
        assert_eq!(&out[..4], &IP4_A);
        assert_eq!(esg_iface_source_addr(e, ESG_AF_INET6, IP6_B.as_ptr(), out.as_mut_ptr()), ESG_OK);
        assert_eq!(out, IP6_A);
        assert_eq!(esg_iface_source_addr(e, ESG_AF_INET, IP4_B.as_ptr(), null_mut()), ESG_ERR_INVAL);
    }
}

// ---- wake handler ---------------------------------------------------------------------

/// esg_set_wake_handler is global: tests that use it hold this.
static WAKE_LOCK: Mutex<()> = Mutex::new(());
static WAKES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

extern "C" fn record_wake(token: usize) {
    WAKES.lock().unwrap_or_else(|e| e.into_inner()).push(token);
}

fn wakes(token: usize) -> usize {
    WAKES.lock().unwrap().iter().filter(|&&t| t == token).count()
}

#[test]
fn wake_handler_one_shot_per_registration() {
    let _g = WAKE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    WAKES.lock().unwrap().clear();
    esg_set_wake_handler(Some(record_wake));
    let mut net = Net::new();
    let (ida, idb) = net.tcp_pair(7000, 8192);
    let (a, b) = (net.a.ptr, net.b.ptr);
    assert!(WAKES.lock().unwrap().is_empty(), "no registration, no wake");

    const T1: usize = 0xB0B1;
    assert_eq!(unsafe { esg_socket_register_wake(b, idb, ESG_WAKE_RECV, T1) }, ESG_OK);
    net.step();
    assert_eq!(wakes(T1), 0, "woken with nothing arriving");
    assert_eq!(net.a.send(ida, &[1; 100]), 100);
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 100));
    assert_eq!(wakes(T1), 1);
    // More data without re-arming: no further call.
    assert_eq!(net.a.send(ida, &[2; 3000]), 3000);
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 3100));
    assert_eq!(wakes(T1), 1, "one-shot");
    // Re-armed twice with the same token: still one call.
    unsafe {
        assert_eq!(esg_socket_register_wake(b, idb, ESG_WAKE_RECV, T1), ESG_OK);
        assert_eq!(esg_socket_register_wake(b, idb, ESG_WAKE_RECV, T1), ESG_OK);
    }
    assert_eq!(net.a.send(ida, &[3; 3000]), 3000, "sent into the window");
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 6100));
    assert_eq!(wakes(T1), 2);
    // A different token replaces the registration; smoltcp does not call the old one.
    const T2: usize = 0xB0B2;
    const T3: usize = 0xB0B3;
    unsafe {
        assert_eq!(esg_socket_register_wake(b, idb, ESG_WAKE_RECV, T2), ESG_OK);
        assert_eq!(esg_socket_register_wake(b, idb, ESG_WAKE_RECV, T3), ESG_OK);
    }
    assert_eq!(net.a.send(ida, &[4; 10]), 10);
    assert!(net.run_until(100, |n| n.b.tcp_info(idb).recv_queue == 6110));
    assert_eq!((wakes(T2), wakes(T3)), (0, 1));

    // SEND: the peer's ACK frees room in A's send buffer.
    const TS: usize = 0x5E4D;
    assert_eq!(unsafe { esg_socket_register_wake(a, ida, ESG_WAKE_SEND, TS) }, ESG_OK);
    assert_eq!(net.b.recv(idb, 10_000, false).unwrap().len(), 6110);
    assert_eq!(net.a.send(ida, &[5; 50]), 50);
    assert!(net.run_until(100, |n| n.a.tcp_info(ida).send_queue == 0));
    assert_eq!(wakes(TS), 1, "send wake after ACK");

    // UDP RECV
    const TU: usize = 0x0DD;
    let ub = net.b.udp_open(2, 256);
    let ua = net.a.udp_open(2, 256);
    unsafe {
        assert_eq!(esg_udp_bind(b, ub, &any_ep(6000)), ESG_OK);
        assert_eq!(esg_udp_bind(a, ua, &any_ep(6001)), ESG_OK);
        assert_eq!(esg_socket_register_wake(b, ub, ESG_WAKE_RECV, TU), ESG_OK);
        assert_eq!(esg_udp_send(a, ua, b"d1".as_ptr(), 2, &ep4(IP4_B, 6000), null()), 2);
        assert_eq!(esg_udp_send(a, ua, b"d2".as_ptr(), 2, &ep4(IP4_B, 6000), null()), 2);
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).recv_queue == 4));
    assert_eq!(wakes(TU), 1, "two datagrams, one registration");

    // RST wakes the receiver.
    const TR: usize = 0xDEAD;
    assert_eq!(unsafe { esg_socket_register_wake(b, idb, ESG_WAKE_RECV, TR) }, ESG_OK);
    assert_eq!(unsafe { esg_tcp_abort(a, ida) }, ESG_OK);
    assert!(net.run_until(100, |n| n.b.tcp_state(idb) == ESG_TCP_CLOSED));
    assert_eq!(wakes(TR), 1);

    // Without a handler nothing is called (and nothing crashes).
    for _ in 0..2 {
        assert_eq!(udp_recv(&net.b, ub, 16, false).unwrap().0.len(), 2);
    }
    esg_set_wake_handler(None);
    const TN: usize = 0x404;
    unsafe {
        assert_eq!(esg_socket_register_wake(b, ub, ESG_WAKE_RECV, TN), ESG_OK);
        assert_eq!(esg_udp_send(a, ua, b"d3".as_ptr(), 2, &ep4(IP4_B, 6000), null()), 2);
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).recv_queue == 2));
    assert_eq!(wakes(TN), 0);
    net.check_frames_released();
}

// ---- interface ------------------------------------------------------------------------

fn get_addr(e: &Eng, family: u8, index: u32) -> Result<(Vec<u8>, u8), i32> {
    let mut a = [0u8; 16];
    let mut p = 0xffu8;
    let r = unsafe { esg_iface_get_addr(e.ptr, family, index, a.as_mut_ptr(), &mut p) };
    if r != ESG_OK {
        return Err(r);
    }
    let n = if family == ESG_AF_INET || (family == ESG_AF_UNSPEC && p <= 32 && a[4..] == [0; 12] && a[0] != 0xfe && a[0] != 0x20) {
        4
    } else {
        16
    };
    Ok((a[..n].to_vec(), p))
}

#[test]
fn iface_addresses() {
    let (rx, tx) = (queue(), queue());
    let eng = Eng::new(&config(MAC_A, 2), rx, tx, 0);
    let e = eng.ptr;
    let ll: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01];
    let mut mac = [0u8; 6];
    unsafe { esg_iface_get_mac(e, mac.as_mut_ptr()) };
    assert_eq!(mac, MAC_A);

    // A fresh engine has only its IPv6 link-local address.
    assert_eq!(get_addr(&eng, ESG_AF_INET, 0), Err(ESG_ERR_INVAL));
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 0), Ok((ll.to_vec(), 64)));
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 1), Err(ESG_ERR_INVAL));
    unsafe {
        assert!(esg_iface_has_addr(e, ESG_AF_INET6, ll.as_ptr()));
        assert!(!esg_iface_has_addr(e, ESG_AF_INET, IP4_A.as_ptr()));

        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, IP4_A.as_ptr(), 24), ESG_OK);
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, IP4_A.as_ptr(), 24), ESG_OK, "duplicate is a no-op");
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, IP4_A.as_ptr(), 33), ESG_ERR_INVAL, "prefix > 32");
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET6, IP6_A.as_ptr(), 129), ESG_ERR_INVAL, "prefix > 128");
        assert_eq!(esg_iface_add_addr(e, 5, IP4_A.as_ptr(), 24), ESG_ERR_INVAL, "family");
        assert_eq!(esg_iface_add_addr(e, ESG_AF_UNSPEC, IP4_A.as_ptr(), 24), ESG_ERR_INVAL, "family UNSPEC");
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, null(), 24), ESG_ERR_INVAL);
    }
    assert_eq!(get_addr(&eng, ESG_AF_INET, 0), Ok((IP4_A.to_vec(), 24)));
    assert_eq!(get_addr(&eng, ESG_AF_INET, 1), Err(ESG_ERR_INVAL), "duplicate was stored");
    unsafe {
        assert!(esg_iface_has_addr(e, ESG_AF_INET, IP4_A.as_ptr()));
        assert!(!esg_iface_has_addr(e, ESG_AF_INET, IP4_B.as_ptr()));
        assert!(!esg_iface_has_addr(e, ESG_AF_INET, null()));
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET6, IP6_A.as_ptr(), 64), ESG_OK);
        assert!(esg_iface_has_addr(e, ESG_AF_INET6, IP6_A.as_ptr()));
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, [10, 0, 0, 1].as_ptr(), 8), ESG_OK);
        // 6 addresses (iface-max-addr-count-6: loopback, IPv4, link-local and SLAAC ones)
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, [10, 0, 0, 3].as_ptr(), 8), ESG_OK);
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, [10, 0, 0, 4].as_ptr(), 8), ESG_OK);
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, [10, 0, 0, 2].as_ptr(), 8), ESG_ERR_NOSLOT);
        assert!(!esg_iface_has_addr(e, ESG_AF_INET, [10, 0, 0, 2].as_ptr()));
        // one address removed, the others kept; removing it again is an error
        assert_eq!(esg_iface_remove_addr(e, ESG_AF_INET, [10, 0, 0, 4].as_ptr()), ESG_OK);
        assert!(!esg_iface_has_addr(e, ESG_AF_INET, [10, 0, 0, 4].as_ptr()));
        assert!(esg_iface_has_addr(e, ESG_AF_INET, [10, 0, 0, 3].as_ptr()));
        assert_eq!(esg_iface_remove_addr(e, ESG_AF_INET, [10, 0, 0, 4].as_ptr()), ESG_ERR_INVAL);
        assert_eq!(esg_iface_remove_addr(e, ESG_AF_INET, [10, 0, 0, 3].as_ptr()), ESG_OK);
        assert_eq!(esg_iface_remove_addr(e, ESG_AF_INET, null()), ESG_ERR_INVAL);
        assert_eq!(esg_iface_get_addr(e, ESG_AF_INET, 0, null_mut(), null_mut()), ESG_ERR_INVAL);
        let mut a = [0u8; 16];
        assert_eq!(esg_iface_get_addr(e, ESG_AF_INET, 1, a.as_mut_ptr(), null_mut()), ESG_OK, "prefix may be NULL");
        assert_eq!(&a[..4], &[10, 0, 0, 1]);
    }
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 0), Ok((ll.to_vec(), 64)));
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 1), Ok((IP6_A.to_vec(), 64)));
    let all: Vec<_> = (0..5).map(|i| get_addr(&eng, ESG_AF_UNSPEC, i).map(|x| x.1)).collect();
    assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 4, "{all:?}");
    assert_eq!(all[4], Err(ESG_ERR_INVAL));

    unsafe { esg_iface_clear_addrs(e, ESG_AF_INET) };
    assert_eq!(get_addr(&eng, ESG_AF_INET, 0), Err(ESG_ERR_INVAL));
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 1), Ok((IP6_A.to_vec(), 64)), "other family kept");
    unsafe { esg_iface_clear_addrs(e, ESG_AF_INET6) };
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 0), Ok((ll.to_vec(), 64)), "link-local stays");
    assert_eq!(get_addr(&eng, ESG_AF_INET6, 1), Err(ESG_ERR_INVAL));
    unsafe {
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET, IP4_B.as_ptr(), 16), ESG_OK);
        assert_eq!(esg_iface_add_addr(e, ESG_AF_INET6, IP6_B.as_ptr(), 48), ESG_OK);
        esg_iface_clear_addrs(e, ESG_AF_UNSPEC);
    }
    assert_eq!(get_addr(&eng, ESG_AF_UNSPEC, 0), Ok((ll.to_vec(), 64)), "UNSPEC clears all but link-local");
    assert_eq!(get_addr(&eng, ESG_AF_UNSPEC, 1), Err(ESG_ERR_INVAL));

    unsafe {
        // Routes: bad family / wrong-family gateway, and removal when none is set.
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_UNSPEC, IP4_B.as_ptr()), ESG_ERR_INVAL);
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET, null()), ESG_OK);
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET6, null()), ESG_OK);
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET, IP4_B.as_ptr()), ESG_OK);
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET, IP4_A.as_ptr()), ESG_OK, "replace");
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET6, IP6_B.as_ptr()), ESG_OK);
        assert_eq!(esg_iface_set_default_route(e, ESG_AF_INET6, null()), ESG_OK);
    }
    drop(eng);
}

/// Parse an Ethernet frame: (dst MAC, ARP target IP) or (dst MAC, IPv4 dst).
fn frame_kind(f: &[u8]) -> Option<(EthernetAddress, &'static str, Ipv4Address)> {
    let eth = EthernetFrame::new_checked(f).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            let ArpRepr::EthernetIpv4 { operation, target_protocol_addr, .. } =
                ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?
            else {
                return None;
            };
            (operation == ArpOperation::Request).then_some((eth.dst_addr(), "arp", target_protocol_addr))
        }
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            Some((eth.dst_addr(), "ip", ip.dst_addr()))
        }
        _ => None,
    }
}

#[test]
fn iface_default_route_steers_egress() {
    let mut net = Net::new();
    let far = [10, 1, 2, 3];
    let far4 = Ipv4Address::new(10, 1, 2, 3);
    let gw4 = Ipv4Address::new(198, 18, 0, 2);
    let ua = net.a.udp_open(4, 512);
    unsafe {
        assert_eq!(esg_udp_bind(net.a.ptr, ua, &any_ep(4444)), ESG_OK);
        assert_eq!(esg_iface_set_default_route(net.a.ptr, ESG_AF_INET, IP4_B.as_ptr()), ESG_OK);
    }
    net.a.port.borrow_mut().log = Some(Vec::new());
    assert_eq!(unsafe { esg_udp_send(net.a.ptr, ua, b"far".as_ptr(), 3, &ep4(far, 53), null()) }, 3);
    let routed = net.run_until(50, |n| {
        let p = n.a.port.borrow();
        p.log.as_ref().unwrap().iter().filter_map(|f| frame_kind(f)).any(|k| k == (EthernetAddress(MAC_B), "ip", far4))
    });
    assert!(routed, "no frame to 10.1.2.3 via B's MAC");
    let log = net.a.port.borrow_mut().log.replace(Vec::new()).unwrap();
    assert!(log.iter().filter_map(|f| frame_kind(f)).any(|k| k.1 == "arp" && k.2 == gw4), "ARP was for the gateway");
    assert!(!log.iter().filter_map(|f| frame_kind(f)).any(|k| k.1 == "arp" && k.2 == far4), "ARP for an off-link address");

    // Without the route the datagram goes nowhere.
    assert_eq!(unsafe { esg_iface_set_default_route(net.a.ptr, ESG_AF_INET, null()) }, ESG_OK);
    assert_eq!(unsafe { esg_udp_send(net.a.ptr, ua, b"far".as_ptr(), 3, &ep4(far, 53), null()) }, 3);
    net.run_until(20, |_| false);
    let log = net.a.port.borrow_mut().log.take().unwrap();
    assert!(!log.iter().filter_map(|f| frame_kind(f)).any(|k| k.2 == far4), "sent to 10.1.2.3 without a route");
    net.check_frames_released();
}

// ---- DHCP ------------------------------------------------------------------------------

struct DhcpSeen {
    msg: DhcpMessageType,
    xid: u32,
    chaddr: EthernetAddress,
    requested_ip: Option<Ipv4Address>,
    server_id: Option<Ipv4Address>,
    params: Vec<u8>,
    eth_src: EthernetAddress,
    ip_src: Ipv4Address,
    ip_dst: Ipv4Address,
}

fn parse_dhcp(frame: &[u8]) -> Option<DhcpSeen> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if (udp.src_port(), udp.dst_port()) != (68, 67) {
        return None;
    }
    let pkt = DhcpPacket::new_checked(udp.payload()).ok()?;
    let r = DhcpRepr::parse(&pkt).ok()?;
    Some(DhcpSeen {
        msg: r.message_type,
        xid: r.transaction_id,
        chaddr: r.client_hardware_address,
        requested_ip: r.requested_ip,
        server_id: r.server_identifier,
        params: r.parameter_request_list.map(|p| p.to_vec()).unwrap_or_default(),
        eth_src: eth.src_addr(),
        ip_src: ip.src_addr(),
        ip_dst: ip.dst_addr(),
    })
}

const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn dhcp_reply(msg: DhcpMessageType, xid: u32, chaddr: EthernetAddress) -> Vec<u8> {
    dhcp_reply_ntp(msg, xid, chaddr, &[])
}

/// The DHCP payload (no Ethernet/IP/UDP) of a reply; `ntp` non-empty adds option 42.
fn dhcp_payload(msg: DhcpMessageType, xid: u32, chaddr: EthernetAddress, ntp: &[u8]) -> Vec<u8> {
    let server = Ipv4Address::new(198, 18, 0, 254);
    let dns = [8, 8, 8, 8, 1, 1, 1, 1];
    let with_ntp = [DhcpOption { kind: 6, data: &dns }, DhcpOption { kind: 42, data: ntp }];
    let opts = if ntp.is_empty() { &with_ntp[..1] } else { &with_ntp[..] };
    let repr = DhcpRepr {
        message_type: msg,
        transaction_id: xid,
        secs: 0,
        client_hardware_address: chaddr,
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: Ipv4Address::new(198, 18, 0, 50),
        server_ip: server,
        router: Some(Ipv4Address::new(198, 18, 0, 1)),
        subnet_mask: Some(Ipv4Address::new(255, 255, 255, 0)),
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(server),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: Some(3600),
        renew_duration: None,
        rebind_duration: None,
        additional_options: opts,
    };
    let mut dhcp = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut dhcp[..])).unwrap();
    dhcp
}

fn dhcp_reply_ntp(msg: DhcpMessageType, xid: u32, chaddr: EthernetAddress, ntp: &[u8]) -> Vec<u8> {
    let dhcp = dhcp_payload(msg, xid, chaddr, ntp);
    let (src, dst) = (Ipv4Address::new(198, 18, 0, 254), Ipv4Address::BROADCAST);
    let caps = ChecksumCapabilities::default();
    let mut f = vec![0u8; 14 + 20 + 8 + dhcp.len()];
    EthernetRepr { src_addr: EthernetAddress(SERVER_MAC), dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Ipv4 }
        .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr { src_addr: src, dst_addr: dst, next_header: IpProtocol::Udp, payload_len: 8 + dhcp.len(), hop_limit: 64 }
        .emit(&mut Ipv4Packet::new_unchecked(&mut f[14..]), &caps);
    UdpRepr { src_port: 67, dst_port: 68 }.emit(
        &mut UdpPacket::new_unchecked(&mut f[34..]),
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        dhcp.len(),
        |p| p.copy_from_slice(&dhcp),
        &caps,
    );
    f
}

#[test]
fn dhcp_discover_offer_request_ack() {
    let mac = [0x02, 0, 0, 0, 0, 0x03];
    let (rx, tx) = (queue(), queue());
    let eng = Eng::new(&config(mac, 2), rx.clone(), tx.clone(), 0);
    let e = eng.ptr;
    let mut lease = EsgDhcpLease::default();
    let mut now = 0u64;
    unsafe {
        assert_eq!(esg_dhcp_poll(e, &mut lease), ESG_ERR_STATE, "poll before start");
        assert_eq!(esg_dhcp_start(e, null_mut(), 0), ESG_OK);
        assert_eq!(esg_dhcp_start(e, null_mut(), 0), ESG_OK, "start twice");
    }
    // Poll until the client has sent what it wants to; return its DHCP messages.
    let run = |now: &mut u64, steps: usize| -> Vec<DhcpSeen> {
        let mut seen = Vec::new();
        for _ in 0..steps {
            let d = unsafe { esg_poll(e, *now) };
            seen.extend(tx.borrow_mut().drain(..).filter_map(|f| parse_dhcp(&f)));
            if !seen.is_empty() {
                break;
            }
            *now += d.min(STEP_CAP_US);
        }
        seen
    };
    let events = |lease: &mut EsgDhcpLease| -> Vec<i32> {
        let mut v = Vec::new();
        loop {
            let r = unsafe { esg_dhcp_poll(e, lease) };
            if r == ESG_DHCP_EVENT_NONE || v.len() > 8 {
                return v;
            }
            v.push(r);
        }
    };

    let seen = run(&mut now, 50);
    assert_eq!(seen.len(), 1);
    let d = &seen[0];
    assert_eq!(d.msg, DhcpMessageType::Discover);
    assert_eq!(d.chaddr, EthernetAddress(mac));
    assert_eq!(d.params, [1, 3, 6], "no rx buffer: smoltcp's default request list");
    assert_eq!(d.eth_src, EthernetAddress(mac));
    assert_eq!((d.ip_src, d.ip_dst), (Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST));
    let xid = d.xid;
    assert!(!events(&mut lease).contains(&ESG_DHCP_EVENT_CONFIGURED));

    rx.borrow_mut().push_back(dhcp_reply(DhcpMessageType::Offer, xid, EthernetAddress(mac)));
    let seen = run(&mut now, 50);
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.msg, DhcpMessageType::Request);
    assert_eq!(r.xid, xid);
    assert_eq!(r.requested_ip, Some(Ipv4Address::new(198, 18, 0, 50)));
    assert_eq!(r.server_id, Some(Ipv4Address::new(198, 18, 0, 254)));
    assert!(!events(&mut lease).contains(&ESG_DHCP_EVENT_CONFIGURED), "configured before ACK");

    rx.borrow_mut().push_back(dhcp_reply(DhcpMessageType::Ack, xid, EthernetAddress(mac)));
    unsafe { esg_poll(e, now) };
    let ev = events(&mut lease);
    assert_eq!(ev.last(), Some(&ESG_DHCP_EVENT_CONFIGURED), "events {ev:?}");
    assert_eq!(lease.addr, [198, 18, 0, 50]);
    assert_eq!(lease.prefix, 24);
    assert!(lease.has_router);
    assert_eq!(lease.router, [198, 18, 0, 1]);
    assert_eq!(lease.server, [198, 18, 0, 254]);
    assert_eq!(lease.dns_count, 2);
    assert_eq!(lease.dns[..2], [[8, 8, 8, 8], [1, 1, 1, 1]]);
    assert_eq!(lease.dns[2], [0; 4]);
    assert_eq!(lease.ntp_count, 0, "no option 42 without an rx buffer");
    assert_eq!(unsafe { esg_dhcp_poll(e, &mut lease) }, ESG_DHCP_EVENT_NONE, "event delivered once");
    // A NULL lease is allowed.
    assert_eq!(unsafe { esg_dhcp_poll(e, null_mut()) }, ESG_DHCP_EVENT_NONE);

    unsafe {
        esg_dhcp_stop(e);
        assert_eq!(esg_dhcp_poll(e, &mut lease), ESG_ERR_STATE, "poll after stop");
        esg_dhcp_stop(e);
        assert_eq!(esg_dhcp_start(e, null_mut(), 0), ESG_OK, "restart");
    }
    let seen = run(&mut now, 50);
    assert_eq!(seen.first().map(|s| s.msg), Some(DhcpMessageType::Discover), "restart discovers again");
    eng.check_frames_released();
}

#[test]
fn dhcp_option_42_ntp_servers() {
    let mac = [0x02, 0, 0, 0, 0, 0x04];
    // Declared before the engine: it outlives the socket that points into it.
    let mut buf = vec![0u8; 1472];
    let (rx, tx) = (queue(), queue());
    let eng = Eng::new(&config(mac, 2), rx.clone(), tx.clone(), 0);
    let e = eng.ptr;
    let mut short = [0u8; 575];
    unsafe {
        assert_eq!(esg_dhcp_start(e, short.as_mut_ptr(), short.len()), ESG_ERR_INVAL, "buffer too short");
        assert_eq!(esg_dhcp_start(e, buf.as_mut_ptr(), buf.len()), ESG_OK);
    }
    let mut now = 0u64;
    let mut run = || -> Vec<DhcpSeen> {
        for _ in 0..50 {
            let d = unsafe { esg_poll(e, now) };
            let seen: Vec<DhcpSeen> = tx.borrow_mut().drain(..).filter_map(|f| parse_dhcp(&f)).collect();
            if !seen.is_empty() {
                return seen;
            }
            now += d.min(STEP_CAP_US);
        }
        Vec::new()
    };
    let d = run();
    assert_eq!(d[0].msg, DhcpMessageType::Discover);
    assert_eq!(d[0].params, [1, 3, 6, 42], "asks for NTP servers");
    let xid = d[0].xid;
    let ch = EthernetAddress(mac);
    // Four servers and a stray byte: the first three are kept.
    let ntp: Vec<u8> = (1..=4).flat_map(|i| [198, 18, 1, i]).chain([9]).collect();
    rx.borrow_mut().push_back(dhcp_reply_ntp(DhcpMessageType::Offer, xid, ch, &ntp));
    assert_eq!(run()[0].msg, DhcpMessageType::Request);
    rx.borrow_mut().push_back(dhcp_reply_ntp(DhcpMessageType::Ack, xid, ch, &ntp));
    unsafe { esg_poll(e, now) };
    let mut lease = EsgDhcpLease::default();
    assert_eq!(unsafe { esg_dhcp_poll(e, &mut lease) }, ESG_DHCP_EVENT_CONFIGURED);
    assert_eq!(lease.addr, [198, 18, 0, 50]);
    assert_eq!(lease.dns_count, 2, "other options still read");
    assert_eq!(lease.ntp_count, 3);
    assert_eq!(lease.ntp, [[198, 18, 1, 1], [198, 18, 1, 2], [198, 18, 1, 3]]);
    unsafe { esg_dhcp_stop(e) };
    eng.check_frames_released();
    drop(eng);
    drop(buf);
}

#[test]
fn dhcp_option_42_only_from_our_ack() {
    use crate::engine::lease_ntp;
    let ch = EthernetAddress([0x02, 0, 0, 0, 0, 0x05]);
    let read = |msg, ntp: &[u8], addr: [u8; 4]| {
        let mut p = dhcp_payload(msg, 7, ch, ntp);
        p.resize(1472, 0);
        let mut l = EsgDhcpLease::default();
        lease_ntp(&DhcpPacket::new_unchecked(&p[..]), addr, &mut l);
        (l.ntp_count, l.ntp)
    };
    let ours = [198, 18, 0, 50];
    let one = [198, 18, 0, 1, 0, 0];
    assert_eq!(read(DhcpMessageType::Ack, &one, ours), (1, [[198, 18, 0, 1], [0; 4], [0; 4]]), "partial address dropped");
    assert_eq!(read(DhcpMessageType::Ack, &[], ours).0, 0, "no option 42");
    assert_eq!(read(DhcpMessageType::Ack, &[1, 2, 3], ours).0, 0, "shorter than one address");
    assert_eq!(read(DhcpMessageType::Offer, &one, ours).0, 0, "an OFFER left in the buffer is not the lease");
    assert_eq!(read(DhcpMessageType::Ack, &one, [198, 18, 0, 51]).0, 0, "an ACK for another address");
    // A buffer smoltcp never wrote (all zeros) gives nothing and does not panic.
    let z = vec![0u8; 576];
    let mut l = EsgDhcpLease::default();
    lease_ntp(&DhcpPacket::new_unchecked(&z[..]), ours, &mut l);
    assert_eq!(l.ntp_count, 0);
}

// ---- regression: no busy poll after a SYN from an unresolvable address -------------

/// A SYN from `src` (whose MAC nobody will ever resolve) to B's port 80.
fn syn_frame(src: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    use smoltcp::wire::{TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};
    let tcp = TcpRepr {
        src_port: sport,
        dst_port: dport,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 64240,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: Ipv4Address::from(src),
        dst_addr: Ipv4Address::from(IP4_B),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(MAC_A), // a real peer's MAC, a spoofed IP (hping3 -a)
        dst_addr: EthernetAddress(MAC_B),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let caps = ChecksumCapabilities::default();
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &caps);
    let mut t = TcpPacket::new_unchecked(p.payload_mut());
    tcp.emit(&mut t, &IpAddress::Ipv4(Ipv4Address::from(src)), &IpAddress::Ipv4(Ipv4Address::from(IP4_B)), &caps);
    buf
}

/// Polls of B over `secs` of simulated time, frames from B thrown away
/// (nobody answers its ARP). A busy loop shows as polls far beyond the
/// timers a half-open connection needs.
fn polls_after_unanswered_syn(n: &mut Net, secs: u64) -> usize {
    let end = n.now + secs * 1_000_000;
    let mut polls = 0;
    while n.now < end && polls < 1_000_000 {
        let d = unsafe { esg_poll(n.b.ptr, n.now) };
        n.ba.borrow_mut().clear();
        polls += 1;
        // A real poll loop waits at least its clock's granularity: 1 µs here.
        // and wakes a little late, as a real poll task does.
        n.now += d.clamp(1, 1_000_000) + 37;
    }
    polls
}

/// B with a listen backlog of four (as the runtime builds it) gets a SYN from
/// an address whose MAC never resolves (hping3 -a: a real peer's MAC, a spoofed IP).
fn net_with_half_open_connection(slaac: bool) -> Net {
    let mut n = Net::new();
    let cfg = EsgConfig { ipv6_slaac: slaac, ..config(MAC_B, 8) };
    n.b = Eng::new(&cfg, n.ab.clone(), n.ba.clone(), n.now);
    n.b.add4(IP4_B, 24);
    for _ in 0..4 {
        let id = n.b.tcp_open(4096, 4096);
        assert_eq!(unsafe { esg_tcp_listen(n.b.ptr, id, &any_ep(80)) }, ESG_OK);
    }
    // A clock far from zero, like CLOCK_MONOTONIC an hour after boot.
    n.now = 3_600_000_000;
    n.ab.borrow_mut().push_back(syn_frame([198, 18, 0, 77], 5555, 80));
    n
}

#[test]
fn no_busy_poll_after_syn_from_unresolvable_address() {
    let mut n = net_with_half_open_connection(false);
    let polls = polls_after_unanswered_syn(&mut n, 120);
    assert!(polls < 2_000, "{polls} polls in 120 s of simulated time: the poll delay stays at 0");
}

/// smoltcp 0.13.1 bug, the reason the runtime keeps its SLAAC off: after the
/// third unanswered router solicitation `rs_required()` is false for good, so
/// `rs_sent()` never moves `retry_rs_at`, and `poll_at()` keeps returning that
/// past instant whenever a socket also has a deadline (`Option::min` lets a
/// socket-less `None` hide it). Expected to fail until upstream fixes it.
#[test]
#[cfg(feature = "smoltcp-slaac")]
#[ignore = "smoltcp 0.13.1 SLAAC keeps a past deadline after 3 unanswered router solicitations"]
fn upstream_slaac_busy_poll() {
    let mut n = net_with_half_open_connection(true);
    let polls = polls_after_unanswered_syn(&mut n, 120);
    assert!(polls < 2_000, "{polls} polls in 120 s of simulated time");
}

// ---- regressions found by the fuzzers ----------------------------------------------

#[test]
fn udp_send_across_families_is_refused_not_a_panic() {
    let mut n = Net::new();
    let id = n.b.udp_open(4, 1024);
    assert_eq!(unsafe { esg_udp_bind(n.b.ptr, id, &ep6(IP6_B, 7)) }, ESG_OK);
    let r = unsafe { esg_udp_send(n.b.ptr, id, b"x".as_ptr(), 1, &ep4(IP4_A, 7), null()) };
    assert_eq!(r, ESG_ERR_UNADDR);
    n.step(); // smoltcp 0.13.1 would panic here with "IP version mismatch"
    assert!(n.ba.borrow().is_empty() || n.ab.borrow().is_empty());
}

#[test]
fn clearing_ipv6_keeps_the_link_local_address() {
    let mut n = Net::new();
    let cfg = EsgConfig { ipv6_slaac: true, ..config(MAC_B, 8) };
    n.b = Eng::new(&cfg, n.ab.clone(), n.ba.clone(), n.now);
    n.b.add6(IP6_B, 64);
    unsafe { esg_iface_clear_addrs(n.b.ptr, ESG_AF_INET6) };
    let (addr, prefix) = get_addr(&n.b, ESG_AF_INET6, 0).expect("link-local left");
    assert_eq!(&addr[..2], &[0xfe, 0x80]);
    assert_eq!(prefix, 64);
    assert_eq!(get_addr(&n.b, ESG_AF_INET6, 1).unwrap_err(), ESG_ERR_INVAL);
    unsafe { esg_iface_clear_addrs(n.b.ptr, ESG_AF_UNSPEC) };
    assert!(get_addr(&n.b, ESG_AF_INET6, 0).is_ok());
    // A router solicitation goes out from the link-local address instead of panicking.
    for _ in 0..3 {
        n.step();
        n.now += 5_000_000;
    }
}

/// IPv4 protocol numbers / ICMPv6 types of the frames in a TX log.
fn ip_protos(log: &[Vec<u8>]) -> Vec<(u16, u8)> {
    log.iter()
        .filter_map(|f| {
            let et = u16::from_be_bytes([f[12], f[13]]);
            match et {
                0x0800 => Some((et, f[14 + 9])),
                // IPv6 with a hop-by-hop header (MLD): the ICMPv6 type after it
                0x86dd if f[14 + 6] == 0 => Some((et, f[14 + 40 + 8])),
                0x86dd if f[14 + 6] == 58 => Some((et, f[14 + 40])),
                _ => None,
            }
        })
        .collect()
}

/// (record type, group) of the MLDv2 reports in a TX log; checks each checksum.
fn mld_records(log: &[Vec<u8>]) -> Vec<(u8, [u8; 16])> {
    use smoltcp::wire::{Icmpv6Packet, Ipv6Address};
    let mut out = Vec::new();
    for f in log.iter().filter(|f| f[12..14] == [0x86, 0xdd] && f[20] == 0 && f[54] == 58) {
        let icmp = 54 + (f[55] as usize + 1) * 8;
        if f[icmp] != 143 {
            continue;
        }
        let src = Ipv6Address::from(<[u8; 16]>::try_from(&f[22..38]).unwrap());
        let dst = Ipv6Address::from(<[u8; 16]>::try_from(&f[38..54]).unwrap());
        assert!(Icmpv6Packet::new_unchecked(&f[icmp..]).verify_checksum(&src, &dst), "MLD checksum");
        for k in 0..u16::from_be_bytes([f[icmp + 6], f[icmp + 7]]) as usize {
            let r = icmp + 8 + k * 20;
            out.push((f[r], <[u8; 16]>::try_from(&f[r + 4..r + 20]).unwrap()));
        }
    }
    out
}

#[test]
fn multicast_join_receive_leave() {
    let mut net = Net::new();
    let ub = net.b.udp_open(4, 1024);
    let ua = net.a.udp_open(4, 1024);
    let (a, b) = (net.a.ptr, net.b.ptr);
    let g4 = [239u8, 1, 2, 3];
    let mut g6 = [0u8; 16];
    g6[0] = 0xff;
    g6[1] = 0x15;
    g6[15] = 0x42;
    let msg = [7u8; 40];
    unsafe {
        assert_eq!(esg_udp_bind(b, ub, &any_ep(5000)), ESG_OK);
        assert_eq!(esg_udp_bind(a, ua, &any_ep(4000)), ESG_OK);
        assert_eq!(esg_iface_join_group(b, ESG_AF_INET, IP4_A.as_ptr()), ESG_ERR_INVAL, "unicast");
        assert_eq!(esg_iface_join_group(b, 9, g4.as_ptr()), ESG_ERR_INVAL, "family");
        assert_eq!(esg_iface_join_group(b, ESG_AF_INET, null()), ESG_ERR_INVAL);
        assert_eq!(esg_iface_join_group(null_mut(), ESG_AF_INET, g4.as_ptr()), ESG_ERR_INVAL);
        // not a member: smoltcp drops the datagram
        assert!(!esg_iface_has_group(b, ESG_AF_INET, g4.as_ptr()));
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 40, &ep4(g4, 5000), null()), 40);
    }
    net.b.port.borrow_mut().log = Some(Vec::new());
    net.step();
    assert_eq!(udp_recv(&net.b, ub, 64, false), Err(ESG_ERR_AGAIN), "delivered without a join");
    unsafe {
        assert_eq!(esg_iface_join_group(b, ESG_AF_INET, g4.as_ptr()), ESG_OK);
        assert_eq!(esg_iface_join_group(b, ESG_AF_INET, g4.as_ptr()), ESG_OK, "join twice");
        assert_eq!(esg_iface_join_group(b, ESG_AF_INET6, g6.as_ptr()), ESG_OK);
        assert!(esg_iface_has_group(b, ESG_AF_INET, g4.as_ptr()));
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 40, &ep4(g4, 5000), null()), 40);
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 20, &ep6(g6, 5000), null()), 20);
    }
    assert!(net.run_until(100, |n| n.b.udp_info(ub).recv_queue == 60));
    let (d, _, from, to) = udp_recv(&net.b, ub, 64, false).unwrap();
    assert_eq!((d.len(), from, to), (40, ep4(IP4_A, 4000), ep4(g4, 0)));
    let (d, _, _, to) = udp_recv(&net.b, ub, 64, false).unwrap();
    assert_eq!((d.len(), to), (20, ep6(g6, 0)));
    // A new DHCP lease replaces the IPv4 address: the membership stays.
    unsafe { esg_iface_clear_addrs(b, ESG_AF_INET) };
    net.b.add4([10, 0, 0, 9], 24);
    assert!(unsafe { esg_iface_has_group(b, ESG_AF_INET, g4.as_ptr()) }, "group lost with the address");
    assert_eq!(unsafe { esg_udp_send(a, ua, msg.as_ptr(), 40, &ep4(g4, 5000), null()) }, 40);
    assert!(net.run_until(100, |n| n.b.udp_info(ub).recv_queue == 40), "not received after the address change");
    udp_recv(&net.b, ub, 64, false).unwrap();
    unsafe { esg_iface_clear_addrs(b, ESG_AF_INET) };
    net.b.add4(IP4_B, 24);
    let log = net.b.port.borrow_mut().log.replace(Vec::new()).unwrap();
    let protos = ip_protos(&log);
    assert!(protos.contains(&(0x0800, 2)), "IGMP report sent: {protos:?}");
    assert!(protos.contains(&(0x86dd, 143)), "MLDv2 report sent: {protos:?}");
    assert!(mld_records(&log).contains(&(4, g6)), "join = CHANGE_TO_EXCLUDE {{}} (RFC 3810 §6.1)");
    unsafe { esg_iface_leave_group(b, ESG_AF_INET6, g6.as_ptr()) };
    net.b.port.borrow_mut().log = Some(Vec::new());
    net.step();
    let log = net.b.port.borrow_mut().log.replace(Vec::new()).unwrap();
    assert_eq!(mld_records(&log), vec![(3, g6)], "leave = CHANGE_TO_INCLUDE {{}}");
    unsafe {
        assert_eq!(esg_iface_leave_group(b, ESG_AF_INET, g4.as_ptr()), ESG_OK);
        assert_eq!(esg_iface_leave_group(b, ESG_AF_INET, g4.as_ptr()), ESG_OK, "leave twice");
        assert!(!esg_iface_has_group(b, ESG_AF_INET, g4.as_ptr()));
        assert_eq!(esg_udp_send(a, ua, msg.as_ptr(), 40, &ep4(g4, 5000), null()), 40);
    }
    net.run_until(20, |_| false);
    assert_eq!(udp_recv(&net.b, ub, 64, false), Err(ESG_ERR_AGAIN), "delivered after leave");
    let protos = ip_protos(&net.b.port.borrow_mut().log.take().unwrap());
    assert!(protos.contains(&(0x0800, 2)), "IGMP leave sent: {protos:?}");
    // the table is bounded: joins past it fail with NOSLOT, never silently
    let mut joined = 0;
    let mut r = ESG_OK;
    for i in 0..64u8 {
        let g = [239, 9, 9, i];
        r = unsafe { esg_iface_join_group(b, ESG_AF_INET, g.as_ptr()) };
        if r != ESG_OK {
            break;
        }
        joined += 1;
    }
    assert_eq!(r, ESG_ERR_NOSLOT, "after {joined} joins");
    assert!(joined >= 8, "only {joined} groups");
    net.check_frames_released();
}
