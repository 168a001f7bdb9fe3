//! UDP and ICMP sockets: datagram ring buffers over caller memory.
//!
//! A buffer block is `PacketMetadata` × packets, then the payload bytes.

use core::ffi::c_void;
use core::mem::{align_of, size_of};

use smoltcp::socket::udp::UdpMetadata;
use smoltcp::socket::{icmp, udp};
use smoltcp::storage::{PacketBuffer, PacketMetadata};
use smoltcp::wire::IpAddress;

use crate::abi::*;
use crate::engine::{engine, Engine, Kind};

const META_SIZE: usize = {
    let a = size_of::<PacketMetadata<UdpMetadata>>();
    let b = size_of::<PacketMetadata<IpAddress>>();
    if a > b {
        a
    } else {
        b
    }
};
const META_ALIGN: usize = {
    let a = align_of::<PacketMetadata<UdpMetadata>>();
    let b = align_of::<PacketMetadata<IpAddress>>();
    if a > b {
        a
    } else {
        b
    }
};

#[no_mangle]
pub extern "C" fn esg_dgram_buffer_mem_size(packets: u16, payload_bytes: usize) -> usize {
    // Room to align the metadata inside any block the caller passes.
    META_ALIGN - 1 + META_SIZE * packets as usize + payload_bytes
}

/// Split a caller block into a packet ring of `packets` entries.
///
/// # Safety
/// `mem` must be valid for `len` bytes until the socket is removed.
pub(crate) unsafe fn packet_buffer<H>(mem: *mut c_void, len: usize, packets: u16) -> Result<PacketBuffer<'static, H>, i32> {
    if mem.is_null() || packets == 0 {
        return Err(ESG_ERR_INVAL);
    }
    let base = mem as usize;
    let meta_off = base.next_multiple_of(align_of::<PacketMetadata<H>>()) - base;
    let meta_bytes = size_of::<PacketMetadata<H>>() * packets as usize;
    if len < meta_off + meta_bytes + 1 {
        return Err(ESG_ERR_NOMEM);
    }
    let meta_ptr = (mem as *mut u8).add(meta_off) as *mut PacketMetadata<H>;
    for i in 0..packets as usize {
        meta_ptr.add(i).write(PacketMetadata::EMPTY);
    }
    let meta = core::slice::from_raw_parts_mut(meta_ptr, packets as usize);
    let payload_ptr = (mem as *mut u8).add(meta_off + meta_bytes);
    let payload = core::slice::from_raw_parts_mut(payload_ptr, len - meta_off - meta_bytes);
    Ok(PacketBuffer::new(meta, payload))
}

/// `esg_dgram_info_t`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct EsgDgramInfo {
    pub is_open: bool,
    pub can_send: bool,
    pub can_recv: bool,
    pub recv_queue: u32,
    /// Payload bytes queued for sending, not yet handed to the device.
    pub send_queue: u32,
    pub next_len: u32,
    pub local: EsgEndpoint,
}

/// Copy `data` into the caller's buffer, truncated; returns bytes copied.
unsafe fn copy_out(data: &[u8], buf: *mut u8, len: usize, full_len: *mut usize) -> i32 {
    let n = data.len().min(len).min(i32::MAX as usize);
    if n > 0 {
        core::ptr::copy_nonoverlapping(data.as_ptr(), buf, n);
    }
    if !full_len.is_null() {
        *full_len = data.len();
    }
    n as i32
}

// ---- UDP ----------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn esg_udp_open(
    eng: *mut Engine,
    rx_mem: *mut c_void,
    rx_mem_len: usize,
    rx_packets: u16,
    tx_mem: *mut c_void,
    tx_mem_len: usize,
    tx_packets: u16,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let rx = packet_buffer::<UdpMetadata>(rx_mem, rx_mem_len, rx_packets)?;
        let tx = packet_buffer::<UdpMetadata>(tx_mem, tx_mem_len, tx_packets)?;
        e.add_socket(udp::Socket::new(rx, tx), Kind::Udp)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_udp_bind(eng: *mut Engine, id: i32, local: *const EsgEndpoint) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let ep = c_ref(local)?.to_listen()?;
        if ep.port == 0 {
            return Err(ESG_ERR_INVAL);
        }
        e.udp(id)?.bind(ep).map_err(|err| match err {
            udp::BindError::InvalidState => ESG_ERR_STATE,
            udp::BindError::Unaddressable => ESG_ERR_INVAL,
        })?;
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_udp_send(
    eng: *mut Engine,
    id: i32,
    buf: *const u8,
    len: usize,
    remote: *const EsgEndpoint,
    src: *const u8,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let remote = c_ref(remote)?;
        let ep = remote.to_ip()?;
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let s = e.udp(id)?;
        if len > s.payload_send_capacity() || len > i32::MAX as usize {
            return Err(ESG_ERR_TOOBIG);
        }
        // smoltcp panics ("IP version mismatch") on a socket bound to an address of one
        // family sending to the other; refuse it here (found by fuzz_bsd).
        if let Some(bound) = s.endpoint().addr {
            if core::mem::discriminant(&bound) != core::mem::discriminant(&ep.addr) {
                return Err(ESG_ERR_UNADDR);
            }
        }
        let mut meta = UdpMetadata::from(ep);
        if !src.is_null() {
            meta.local_address = Some(addr_from_c(remote.family, src)?);
        }
        let data = if len == 0 { &[][..] } else { core::slice::from_raw_parts(buf, len) };
        s.send_slice(data, meta).map_err(|err| match err {
            udp::SendError::Unaddressable => ESG_ERR_UNADDR,
            udp::SendError::BufferFull => ESG_ERR_AGAIN,
        })?;
        Ok(len as i32)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_udp_recv(
    eng: *mut Engine,
    id: i32,
    buf: *mut u8,
    len: usize,
    peek: bool,
    full_len: *mut usize,
    from: *mut EsgEndpoint,
    to: *mut EsgEndpoint,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let s = e.udp(id)?;
        let r = if peek { s.peek().map(|(d, m)| (d, *m)) } else { s.recv() };
        let (data, meta) = r.map_err(|_| ESG_ERR_AGAIN)?;
        if let Some(f) = from.as_mut() {
            *f = EsgEndpoint::from_ip(&meta.endpoint);
        }
        if let Some(t) = to.as_mut() {
            *t = match meta.local_address {
                Some(a) => EsgEndpoint::from_ip(&smoltcp::wire::IpEndpoint::new(a, 0)),
                None => EsgEndpoint::default(),
            };
        }
        Ok(copy_out(data, buf, len, full_len))
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_udp_get_info(eng: *mut Engine, id: i32, info: *mut EsgDgramInfo) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let out = info.as_mut().ok_or(ESG_ERR_INVAL)?;
        let s = e.udp(id)?;
        let next_len = s.peek().map(|(d, _)| d.len() as u32).unwrap_or(0);
        *out = EsgDgramInfo {
            is_open: s.is_open(),
            can_send: s.can_send(),
            can_recv: s.can_recv(),
            recv_queue: s.recv_queue() as u32,
            send_queue: s.send_queue() as u32,
            next_len,
            local: EsgEndpoint::from_listen(&s.endpoint()),
        };
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_udp_set_hop_limit(eng: *mut Engine, id: i32, hop_limit: u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        e.udp(id)?.set_hop_limit(if hop_limit == 0 { None } else { Some(hop_limit) });
        Ok(ESG_OK)
    })())
}

// ---- ICMP ---------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn esg_icmp_open(
    eng: *mut Engine,
    rx_mem: *mut c_void,
    rx_mem_len: usize,
    rx_packets: u16,
    tx_mem: *mut c_void,
    tx_mem_len: usize,
    tx_packets: u16,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let rx = packet_buffer::<IpAddress>(rx_mem, rx_mem_len, rx_packets)?;
        let tx = packet_buffer::<IpAddress>(tx_mem, tx_mem_len, tx_packets)?;
        e.add_socket(icmp::Socket::new(rx, tx), Kind::Icmp)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_icmp_bind_ident(eng: *mut Engine, id: i32, ident: u16) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        e.icmp(id)?.bind(icmp::Endpoint::Ident(ident)).map_err(|err| match err {
            icmp::BindError::InvalidState => ESG_ERR_STATE,
            icmp::BindError::Unaddressable => ESG_ERR_INVAL,
        })?;
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_icmp_send(
    eng: *mut Engine,
    id: i32,
    buf: *const u8,
    len: usize,
    family: u8,
    addr: *const u8,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let dst = addr_from_c(family, addr)?;
        if buf.is_null() || len == 0 {
            return Err(ESG_ERR_INVAL);
        }
        let s = e.icmp(id)?;
        if len > s.payload_send_capacity() || len > i32::MAX as usize {
            return Err(ESG_ERR_TOOBIG);
        }
        s.send_slice(core::slice::from_raw_parts(buf, len), dst).map_err(|err| match err {
            icmp::SendError::Unaddressable => ESG_ERR_UNADDR,
            icmp::SendError::BufferFull => ESG_ERR_AGAIN,
        })?;
        Ok(len as i32)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_icmp_recv(
    eng: *mut Engine,
    id: i32,
    buf: *mut u8,
    len: usize,
    full_len: *mut usize,
    from: *mut EsgEndpoint,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let (data, addr) = e.icmp(id)?.recv().map_err(|_| ESG_ERR_AGAIN)?;
        if let Some(f) = from.as_mut() {
            *f = EsgEndpoint::from_ip(&smoltcp::wire::IpEndpoint::new(addr, 0));
        }
        Ok(copy_out(data, buf, len, full_len))
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_icmp_get_info(eng: *mut Engine, id: i32, info: *mut EsgDgramInfo) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let out = info.as_mut().ok_or(ESG_ERR_INVAL)?;
        let s = e.icmp(id)?;
        *out = EsgDgramInfo {
            is_open: s.is_open(),
            can_send: s.can_send(),
            can_recv: s.can_recv(),
            recv_queue: s.recv_queue() as u32,
            send_queue: s.send_queue() as u32,
            next_len: 0,
            local: EsgEndpoint::default(),
        };
        Ok(ESG_OK)
    })())
}
