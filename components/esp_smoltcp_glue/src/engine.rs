//! The engine: one smoltcp `Interface`, its `SocketSet` and the device, laid
//! out in a memory block the C runtime provides.
//!
//! Block layout: `Engine` | `SocketStorage` × (max_sockets + 2) | `Slot` × max_sockets
//! | `Option<DnsQuery>` × ESG_DNS_MAX_QUERIES. The two extra storage entries are
//! the DHCP client's and the DNS resolver's. C socket ids are indexes
//! into the slot table.

use core::ffi::c_void;
use core::hash::{Hash, Hasher};
use core::mem::{align_of, size_of};

use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{dhcpv4, dns, icmp, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};

use crate::abi::*;
use crate::device::{Dev, EsgNetdevOps};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Tcp,
    Udp,
    Icmp,
    Raw,
}

#[derive(Clone, Copy)]
pub struct Slot {
    pub handle: SocketHandle,
    pub kind: Kind,
}

/// `esg_config_t`.
#[repr(C)]
pub struct EsgConfig {
    pub mac: [u8; 6],
    pub mtu: u16,
    pub max_sockets: u16,
    pub rx_checksums_verified: bool,
    pub tx_checksums_by_runtime: bool,
    pub ipv6_slaac: bool,
    pub random_seed: u64,
}

pub struct Engine {
    pub iface: Interface,
    /// Spans `span` entries of the storage table, enough for every socket in it (see `insert`).
    pub sockets: SocketSet<'static>,
    storage: *mut SocketStorage<'static>,
    storage_len: usize,
    span: usize,
    live: usize,
    pub dev: Dev,
    pub slots: &'static mut [Option<Slot>],
    pub dhcp: Option<SocketHandle>,
    pub dns: Option<SocketHandle>,
    pub dns_storage: &'static mut [Option<dns::DnsQuery>],
    pub dns_queries: [Option<dns::QueryHandle>; crate::dns::ESG_DNS_MAX_QUERIES],
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

const ALIGN: usize = max(
    max(align_of::<Engine>(), align_of::<Option<dns::DnsQuery>>()),
    max(align_of::<SocketStorage<'static>>(), align_of::<Option<Slot>>()),
);

/// Engine sockets beyond the caller's: the DHCP client and the DNS resolver.
const RESERVED_SOCKETS: usize = 2;

fn round_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

/// Offsets of (storage, slots, dns queries) and the total size for `max_sockets`.
fn layout(max_sockets: usize) -> (usize, usize, usize, usize) {
    let storage = round_up(size_of::<Engine>(), align_of::<SocketStorage<'static>>());
    let slots = round_up(
        storage + size_of::<SocketStorage<'static>>() * (max_sockets + RESERVED_SOCKETS),
        align_of::<Option<Slot>>(),
    );
    let queries = round_up(slots + size_of::<Option<Slot>>() * max_sockets, align_of::<Option<dns::DnsQuery>>());
    let total = queries + size_of::<Option<dns::DnsQuery>>() * crate::dns::ESG_DNS_MAX_QUERIES;
    (storage, slots, queries, total)
}

#[no_mangle]
pub extern "C" fn esg_engine_mem_align() -> usize {
    ALIGN
}

#[no_mangle]
pub extern "C" fn esg_engine_mem_size(max_sockets: u16) -> usize {
    layout(max_sockets as usize).3
}

pub fn instant(now_us: u64) -> Instant {
    Instant::from_micros(now_us.min(i64::MAX as u64) as i64)
}

/// Borrow the engine behind a C pointer.
///
/// # Safety
/// `eng` must be null or come from esg_engine_init and not be deinitialised.
pub unsafe fn engine<'a>(eng: *mut Engine) -> Result<&'a mut Engine, i32> {
    eng.as_mut().ok_or(ESG_ERR_INVAL)
}

#[no_mangle]
pub unsafe extern "C" fn esg_engine_init(
    mem: *mut c_void,
    mem_len: usize,
    cfg: *const EsgConfig,
    ops: *const EsgNetdevOps,
    now_us: u64,
    out: *mut *mut Engine,
) -> i32 {
    let (Some(cfg), Some(ops), false) = (cfg.as_ref(), ops.as_ref(), out.is_null()) else {
        return ESG_ERR_INVAL;
    };
    if mem.is_null() || (mem as usize) % ALIGN != 0 || !ops.is_complete() {
        return ESG_ERR_INVAL;
    }
    if !(576..=1500).contains(&cfg.mtu) || cfg.max_sockets == 0 {
        return ESG_ERR_INVAL;
    }
    let mac = EthernetAddress(cfg.mac);
    if !mac.is_unicast() {
        return ESG_ERR_INVAL;
    }
    let n = cfg.max_sockets as usize;
    let (storage_off, slots_off, queries_off, total) = layout(n);
    if mem_len < total {
        return ESG_ERR_NOMEM;
    }
    let base = mem as *mut u8;

    // SAFETY: the block is large enough and aligned (checked above); every
    // element is written before a slice is formed over it.
    let storage_ptr = base.add(storage_off) as *mut SocketStorage<'static>;
    for i in 0..n + RESERVED_SOCKETS {
        storage_ptr.add(i).write(SocketStorage::EMPTY);
    }
    let slots_ptr = base.add(slots_off) as *mut Option<Slot>;
    for i in 0..n {
        slots_ptr.add(i).write(None);
    }
    let slots = core::slice::from_raw_parts_mut(slots_ptr, n);
    let queries_ptr = base.add(queries_off) as *mut Option<dns::DnsQuery>;
    for i in 0..crate::dns::ESG_DNS_MAX_QUERIES {
        queries_ptr.add(i).write(None);
    }
    let dns_storage = core::slice::from_raw_parts_mut(queries_ptr, crate::dns::ESG_DNS_MAX_QUERIES);

    let mut dev = Dev::new(*ops, cfg.mtu as usize, cfg.rx_checksums_verified, cfg.tx_checksums_by_runtime);
    let mut icfg = Config::new(HardwareAddress::Ethernet(mac));
    icfg.random_seed = cfg.random_seed;
    #[cfg(feature = "smoltcp-slaac")]
    {
        icfg.slaac = cfg.ipv6_slaac;
    }
    let iface = Interface::new(icfg, &mut dev, instant(now_us));

    let eng_ptr = base as *mut Engine;
    eng_ptr.write(Engine {
        iface,
        sockets: SocketSet::new(&mut [][..]),
        storage: storage_ptr,
        storage_len: n + RESERVED_SOCKETS,
        span: 0,
        live: 0,
        dev,
        slots,
        dhcp: None,
        dns: None,
        dns_storage,
        dns_queries: [None; crate::dns::ESG_DNS_MAX_QUERIES],
    });
    #[cfg(feature = "ipv6")]
    {
        // Every IPv6 node has a link-local address (RFC 4291 §2.8), from the MAC (RFC 4862 §5.3).
        let e = &mut *eng_ptr;
        let ll = link_local_from_mac(&cfg.mac);
        e.iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(ll), 64));
        });
    }
    *out = eng_ptr;
    ESG_OK
}

#[cfg(feature = "ipv6")]
fn link_local_from_mac(mac: &[u8; 6]) -> smoltcp::wire::Ipv6Address {
    let mut b = [0u8; 16];
    b[0] = 0xfe;
    b[1] = 0x80;
    b[8] = mac[0] ^ 0x02;
    b[9] = mac[1];
    b[10] = mac[2];
    b[11] = 0xff;
    b[12] = 0xfe;
    b[13] = mac[3];
    b[14] = mac[4];
    b[15] = mac[5];
    smoltcp::wire::Ipv6Address::from(b)
}

#[no_mangle]
pub unsafe extern "C" fn esg_engine_deinit(eng: *mut Engine) {
    if !eng.is_null() {
        // SAFETY: built by esg_engine_init; dropping releases nothing of C's.
        core::ptr::drop_in_place(eng);
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_poll(eng: *mut Engine, now_us: u64) -> u64 {
    let Ok(e) = engine(eng) else {
        return u64::MAX;
    };
    let now = instant(now_us);
    e.iface.poll(now, &mut e.dev, &mut e.sockets);
    delay_micros(e, now)
}

/// Like esg_poll() without the sockets' egress: every queued frame is processed
/// (what ingress answers itself, ARP, ICMP echo, RST, leaves at once) and the
/// timers of the interface run, but the segments and datagrams the sockets then
/// want to send wait for the next esg_poll(). Returns as esg_poll(): 0 when
/// they want to be sent now.
#[no_mangle]
pub unsafe extern "C" fn esg_poll_ingress(eng: *mut Engine, now_us: u64) -> u64 {
    let Ok(e) = engine(eng) else {
        return u64::MAX;
    };
    let now = instant(now_us);
    e.iface.poll_maintenance(now);
    while !matches!(
        e.iface.poll_ingress_single(now, &mut e.dev, &mut e.sockets),
        PollIngressSingleResult::None
    ) {}
    delay_micros(e, now)
}

fn delay_micros(e: &mut Engine, now: Instant) -> u64 {
    match e.iface.poll_delay(now, &e.sockets) {
        Some(d) => d.total_micros(),
        None => u64::MAX,
    }
}

/// What esg_poll() would return after a poll at now_us, without polling: the
/// sockets' wishes after a socket call (a read that opened the window, ...).
#[no_mangle]
pub unsafe extern "C" fn esg_poll_delay(eng: *mut Engine, now_us: u64) -> u64 {
    match engine(eng) {
        Ok(e) => delay_micros(e, instant(now_us)),
        Err(_) => u64::MAX,
    }
}

// ---- interface ----------------------------------------------------------------

fn is_link_local(addr: &IpAddress) -> bool {
    match addr {
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(a) => a.is_unicast_link_local(),
        _ => false,
    }
}

fn family_matches(family: u8, addr: &IpAddress) -> bool {
    match addr {
        IpAddress::Ipv4(_) => family == ESG_AF_INET || family == ESG_AF_UNSPEC,
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(_) => family == ESG_AF_INET6 || family == ESG_AF_UNSPEC,
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_add_addr(eng: *mut Engine, family: u8, addr: *const u8, prefix: u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let a = addr_from_c(family, addr)?;
        let max_prefix = if family == ESG_AF_INET { 32 } else { 128 };
        if prefix > max_prefix {
            return Err(ESG_ERR_INVAL);
        }
        let cidr = IpCidr::new(a, prefix);
        let mut r = Ok(ESG_OK);
        e.iface.update_ip_addrs(|addrs| {
            if addrs.contains(&cidr) {
                return;
            }
            if addrs.push(cidr).is_err() {
                r = Err(ESG_ERR_NOSLOT);
            }
        });
        r
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_clear_addrs(eng: *mut Engine, family: u8) {
    if let Ok(e) = engine(eng) {
        // The IPv6 link-local address stays: every IPv6 node has one (RFC 4291 §2.8), and
        // smoltcp unwraps it when it sends router solicitations (found by fuzz_frames).
        e.iface.update_ip_addrs(|addrs| {
            addrs.retain(|c| !family_matches(family, &c.address()) || is_link_local(&c.address()))
        });
    }
}

/// Remove one address (any prefix length). ESG_ERR_INVAL when it is not there.
#[no_mangle]
pub unsafe extern "C" fn esg_iface_remove_addr(eng: *mut Engine, family: u8, addr: *const u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let a = addr_from_c(family, addr)?;
        let mut found = false;
        e.iface.update_ip_addrs(|addrs| {
            let before = addrs.len();
            addrs.retain(|c| c.address() != a);
            found = addrs.len() != before;
        });
        if found {
            Ok(ESG_OK)
        } else {
            Err(ESG_ERR_INVAL)
        }
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_get_addr(
    eng: *mut Engine,
    family: u8,
    index: u32,
    addr: *mut u8,
    prefix: *mut u8,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if addr.is_null() {
            return Err(ESG_ERR_INVAL);
        }
        let cidr = e
            .iface
            .ip_addrs()
            .iter()
            .filter(|c| family_matches(family, &c.address()))
            .nth(index as usize)
            .ok_or(ESG_ERR_INVAL)?;
        addr_to_c(&cidr.address(), addr);
        if !prefix.is_null() {
            *prefix = cidr.prefix_len();
        }
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_set_default_route(eng: *mut Engine, family: u8, gw: *const u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let routes = e.iface.routes_mut();
        match family {
            ESG_AF_INET => {
                routes.remove_default_ipv4_route();
                if !gw.is_null() {
                    #[allow(irrefutable_let_patterns)] // without the "ipv6" feature IpAddress has one variant
                    let IpAddress::Ipv4(a) = addr_from_c(family, gw)? else {
                        return Err(ESG_ERR_INVAL);
                    };
                    routes.add_default_ipv4_route(a).map_err(|_| ESG_ERR_NOSLOT)?;
                }
                Ok(ESG_OK)
            }
            #[cfg(feature = "ipv6")]
            ESG_AF_INET6 => {
                routes.remove_default_ipv6_route();
                if !gw.is_null() {
                    let IpAddress::Ipv6(a) = addr_from_c(family, gw)? else {
                        return Err(ESG_ERR_INVAL);
                    };
                    routes.add_default_ipv6_route(a).map_err(|_| ESG_ERR_NOSLOT)?;
                }
                Ok(ESG_OK)
            }
            _ => Err(ESG_ERR_INVAL),
        }
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_has_addr(eng: *mut Engine, family: u8, addr: *const u8) -> bool {
    match (engine(eng), addr_from_c(family, addr)) {
        (Ok(e), Ok(a)) => e.iface.has_ip_addr(a),
        _ => false,
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_iface_get_mac(eng: *mut Engine, mac: *mut u8) {
    if let (Ok(e), false) = (engine(eng), mac.is_null()) {
        let HardwareAddress::Ethernet(m) = e.iface.hardware_addr();
        core::ptr::copy_nonoverlapping(m.0.as_ptr(), mac, 6);
    }
}

// ---- DHCPv4 -------------------------------------------------------------------

/// `esg_dhcp_lease_t`.
#[repr(C)]
#[derive(Default)]
pub struct EsgDhcpLease {
    pub addr: [u8; 4],
    pub prefix: u8,
    pub has_router: bool,
    pub router: [u8; 4],
    pub server: [u8; 4],
    pub dns_count: u8,
    pub dns: [[u8; 4]; 3],
    pub lease_s: u32,
    pub ntp_count: u8,
    pub ntp: [[u8; 4]; 3],
}

pub const ESG_DHCP_MAX_NTP: i32 = 3;
/// Smallest receive buffer for `esg_dhcp_start`: RFC 2131's minimum message
/// (smoltcp reads the options from offset 240 of it without a length check).
pub const ESG_DHCP_RX_MIN: i32 = 576;
/// Options asked for: smoltcp's default (mask, router, DNS) plus NTP servers.
static DHCP_PARAMS: [u8; 4] = [1, 3, 6, 42];

pub const ESG_DHCP_EVENT_NONE: i32 = 0;
pub const ESG_DHCP_EVENT_CONFIGURED: i32 = 1;
pub const ESG_DHCP_EVENT_DECONFIGURED: i32 = 2;

#[no_mangle]
pub unsafe extern "C" fn esg_dhcp_start(eng: *mut Engine, rx_buf: *mut u8, rx_len: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if e.dhcp.is_some() {
            return Ok(ESG_OK);
        }
        if !rx_buf.is_null() && rx_len < ESG_DHCP_RX_MIN as usize {
            return Err(ESG_ERR_INVAL);
        }
        let mut s = dhcpv4::Socket::new();
        if !rx_buf.is_null() {
            // smoltcp copies each DHCP payload that fits into this buffer: the
            // only way to see options beyond 1, 3, 6. The caller keeps it
            // alive and untouched until esg_dhcp_stop / esg_engine_deinit.
            s.set_parameter_request_list(&DHCP_PARAMS);
            s.set_receive_packet_buffer(core::slice::from_raw_parts_mut(rx_buf, rx_len));
        }
        // The storage has one entry reserved beyond max_sockets for this.
        e.dhcp = Some(e.insert(s)?);
        Ok(ESG_OK)
    })())
}

/// Copy option 42 of the lease's ACK into `l`. The buffer holds the last DHCP
/// payload smoltcp received (it may be another server's OFFER, or the previous
/// ACK if the new one did not fit): only an ACK giving this lease's address
/// is read.
pub(crate) fn lease_ntp(pkt: &smoltcp::wire::DhcpPacket<&[u8]>, addr: [u8; 4], l: &mut EsgDhcpLease) {
    let is_ack = pkt.options().any(|o| o.kind == 53 && o.data == [5]);
    if !is_ack || pkt.your_ip().octets() != addr {
        return;
    }
    if let Some(o) = pkt.options().find(|o| o.kind == 42) {
        for (i, a) in o.data.chunks_exact(4).take(ESG_DHCP_MAX_NTP as usize).enumerate() {
            l.ntp[i].copy_from_slice(a);
            l.ntp_count = i as u8 + 1;
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_dhcp_stop(eng: *mut Engine) {
    if let Ok(e) = engine(eng) {
        if let Some(h) = e.dhcp.take() {
            e.release(h);
        }
    }
}

/// Restart discovery (link back up: the network may be another one). A bound
/// client reports DECONFIGURED at the next esg_dhcp_poll(). No-op when stopped.
#[no_mangle]
pub unsafe extern "C" fn esg_dhcp_reset(eng: *mut Engine) {
    if let Ok(e) = engine(eng) {
        if let Some(h) = e.dhcp {
            e.sockets.get_mut::<dhcpv4::Socket>(h).reset();
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_dhcp_poll(eng: *mut Engine, lease: *mut EsgDhcpLease) -> i32 {
    let Ok(e) = engine(eng) else {
        return ESG_ERR_INVAL;
    };
    let Some(h) = e.dhcp else {
        return ESG_ERR_STATE;
    };
    match e.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
        None => ESG_DHCP_EVENT_NONE,
        Some(dhcpv4::Event::Deconfigured) => ESG_DHCP_EVENT_DECONFIGURED,
        Some(dhcpv4::Event::Configured(c)) => {
            if let Some(l) = lease.as_mut() {
                *l = EsgDhcpLease::default();
                l.addr = c.address.address().octets();
                l.prefix = c.address.prefix_len();
                if let Some(r) = c.router {
                    l.has_router = true;
                    l.router = r.octets();
                }
                l.server = c.server.address.octets();
                for (i, d) in c.dns_servers.iter().take(3).enumerate() {
                    l.dns[i] = d.octets();
                    l.dns_count = i as u8 + 1;
                }
                if let Some(p) = c.packet.as_ref() {
                    lease_ntp(p, l.addr, l);
                }
            }
            ESG_DHCP_EVENT_CONFIGURED
        }
    }
}

// ---- socket table -------------------------------------------------------------

/// The storage index behind a handle. SocketHandle keeps it private, but its
/// derived Hash writes exactly that usize.
fn index_of(h: SocketHandle) -> usize {
    struct Index(usize);
    impl Hasher for Index {
        fn finish(&self) -> u64 {
            self.0 as u64
        }
        fn write(&mut self, _: &[u8]) {}
        fn write_usize(&mut self, i: usize) {
            self.0 = i;
        }
    }
    let mut x = Index(usize::MAX);
    h.hash(&mut x);
    x.0
}

impl Engine {
    /// Add a socket to the set. smoltcp walks every entry of the set's slice,
    /// empty or not, several times per packet and per poll, so the set spans
    /// only as much of the table as the sockets in it need (it takes the first
    /// empty entry), not max_sockets: the cost of a poll follows the sockets
    /// open, not the configuration (160 configured: +1.2 instructions per byte).
    pub fn insert<T: smoltcp::socket::AnySocket<'static>>(&mut self, s: T) -> Result<SocketHandle, i32> {
        if self.live == self.span {
            if self.span == self.storage_len {
                return Err(ESG_ERR_NOSLOT);
            }
            self.respan(self.span + 1);
        }
        self.live += 1;
        Ok(self.sockets.add(s))
    }

    /// Remove a socket from the set; the span shrinks to the last socket left.
    pub fn release(&mut self, h: SocketHandle) {
        self.sockets.remove(h);
        self.live -= 1;
        let in_use = self.slots.iter().flatten().map(|s| s.handle).chain(self.dhcp).chain(self.dns);
        let end = in_use.map(|h| index_of(h) + 1).max().unwrap_or(0);
        if end < self.span {
            self.respan(end);
        }
    }

    /// Storage entries the socket set spans now.
    pub fn span(&self) -> usize {
        self.span
    }

    fn respan(&mut self, len: usize) {
        // The old set's borrow ends before the new one is formed over the same entries.
        self.sockets = SocketSet::new(&mut [][..]);
        // SAFETY: storage points at storage_len initialised entries in the engine block,
        // borrowed by nothing but self.sockets; len <= storage_len (callers).
        self.sockets = SocketSet::new(unsafe { core::slice::from_raw_parts_mut(self.storage, len) });
        self.span = len;
    }

    /// Add a socket in a free slot; returns its id.
    pub fn add_socket<T: smoltcp::socket::AnySocket<'static>>(&mut self, s: T, kind: Kind) -> Result<i32, i32> {
        let idx = self.slots.iter().position(|s| s.is_none()).ok_or(ESG_ERR_NOSLOT)?;
        let handle = self.insert(s)?;
        self.slots[idx] = Some(Slot { handle, kind });
        Ok(idx as i32)
    }

    pub fn slot(&self, id: i32, kind: Kind) -> Result<SocketHandle, i32> {
        match self.slots.get(usize::try_from(id).map_err(|_| ESG_ERR_BADID)?) {
            Some(Some(s)) if s.kind == kind => Ok(s.handle),
            _ => Err(ESG_ERR_BADID),
        }
    }

    pub fn tcp(&mut self, id: i32) -> Result<&mut tcp::Socket<'static>, i32> {
        let h = self.slot(id, Kind::Tcp)?;
        Ok(self.sockets.get_mut::<tcp::Socket>(h))
    }

    pub fn udp(&mut self, id: i32) -> Result<&mut udp::Socket<'static>, i32> {
        let h = self.slot(id, Kind::Udp)?;
        Ok(self.sockets.get_mut::<udp::Socket>(h))
    }

    pub fn icmp(&mut self, id: i32) -> Result<&mut icmp::Socket<'static>, i32> {
        let h = self.slot(id, Kind::Icmp)?;
        Ok(self.sockets.get_mut::<icmp::Socket>(h))
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_socket_remove(eng: *mut Engine, id: i32) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let idx = usize::try_from(id).map_err(|_| ESG_ERR_BADID)?;
        let slot = e.slots.get_mut(idx).and_then(|s| s.take()).ok_or(ESG_ERR_BADID)?;
        e.release(slot.handle);
        Ok(ESG_OK)
    })())
}
