//! Raw IP sockets: every packet of one IP version and protocol, header
//! included on receive (what a BSD SOCK_RAW socket of IPPROTO_ICMP returns).
//! On send the caller gives the payload; the glue puts an IP header in front
//! with the source address the interface would choose, as the kernel does for
//! a raw socket without IP_HDRINCL.

use core::ffi::c_void;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::raw;
use smoltcp::wire::{IpAddress, IpProtocol, IpVersion, Ipv4Packet, Ipv4Repr};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Ipv6Packet, Ipv6Repr};

use crate::abi::*;
use crate::dgram::{packet_buffer, EsgDgramInfo};
use crate::engine::{engine, Kind};
use crate::Engine;

const DEFAULT_HOP_LIMIT: u8 = 64;

#[no_mangle]
pub unsafe extern "C" fn esg_raw_open(
    eng: *mut Engine,
    family: u8,
    protocol: u8,
    rx_mem: *mut c_void,
    rx_mem_len: usize,
    rx_packets: u16,
    tx_mem: *mut c_void,
    tx_mem_len: usize,
    tx_packets: u16,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let version = match family {
            ESG_AF_INET => IpVersion::Ipv4,
            #[cfg(feature = "ipv6")]
            ESG_AF_INET6 => IpVersion::Ipv6,
            _ => return Err(ESG_ERR_INVAL),
        };
        let rx = packet_buffer::<()>(rx_mem, rx_mem_len, rx_packets)?;
        let tx = packet_buffer::<()>(tx_mem, tx_mem_len, tx_packets)?;
        e.add_socket(raw::Socket::new(Some(version), Some(IpProtocol::from(protocol)), rx, tx), Kind::Raw)
    })())
}

/// Queue `payload` to `addr` behind a fresh IP header (protocol of the
/// socket, hop limit 0 = 64). Returns len; ESG_ERR_UNADDR when the interface
/// has no source address for addr, ESG_ERR_TOOBIG, ESG_ERR_AGAIN.
#[no_mangle]
pub unsafe extern "C" fn esg_raw_send(
    eng: *mut Engine,
    id: i32,
    buf: *const u8,
    len: usize,
    family: u8,
    addr: *const u8,
    hop_limit: u8,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let dst = addr_from_c(family, addr)?;
        let hop_limit = if hop_limit == 0 { DEFAULT_HOP_LIMIT } else { hop_limit };
        let payload = if len == 0 { &[][..] } else { core::slice::from_raw_parts(buf, len) };
        let h = e.slot(id, Kind::Raw)?;
        let (proto, version) = {
            let s = e.sockets.get::<raw::Socket>(h);
            (s.ip_protocol(), s.ip_version())
        };
        let caps = ChecksumCapabilities::default();
        match dst {
            IpAddress::Ipv4(d) => {
                if version != Some(IpVersion::Ipv4) {
                    return Err(ESG_ERR_INVAL);
                }
                let src = e.iface.get_source_address_ipv4(&d).ok_or(ESG_ERR_UNADDR)?;
                let repr = Ipv4Repr {
                    src_addr: src,
                    dst_addr: d,
                    next_header: proto.unwrap_or(IpProtocol::Unknown(255)),
                    payload_len: len,
                    hop_limit,
                };
                let total = repr.buffer_len() + len;
                let s = e.sockets.get_mut::<raw::Socket>(h);
                if total > s.payload_send_capacity() || len > u16::MAX as usize - repr.buffer_len() {
                    return Err(ESG_ERR_TOOBIG);
                }
                let out = s.send(total).map_err(|_| ESG_ERR_AGAIN)?;
                repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..repr.buffer_len()]), &caps);
                out[repr.buffer_len()..].copy_from_slice(payload);
            }
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(d) => {
                if version != Some(IpVersion::Ipv6) {
                    return Err(ESG_ERR_INVAL);
                }
                let src = e.iface.get_source_address_ipv6(&d);
                let repr = Ipv6Repr {
                    src_addr: src,
                    dst_addr: d,
                    next_header: proto.unwrap_or(IpProtocol::Unknown(255)),
                    payload_len: len,
                    hop_limit,
                };
                let total = repr.buffer_len() + len;
                let s = e.sockets.get_mut::<raw::Socket>(h);
                if total > s.payload_send_capacity() || len > u16::MAX as usize {
                    return Err(ESG_ERR_TOOBIG);
                }
                let out = s.send(total).map_err(|_| ESG_ERR_AGAIN)?;
                repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..repr.buffer_len()]));
                out[repr.buffer_len()..].copy_from_slice(payload);
            }
        }
        Ok(len as i32)
    })())
}

/// Next packet, IP header included (truncated to len; peek leaves it queued).
/// *full_len = its size, *from = its source address (port 0).
#[no_mangle]
pub unsafe extern "C" fn esg_raw_recv(
    eng: *mut Engine,
    id: i32,
    buf: *mut u8,
    len: usize,
    peek: bool,
    full_len: *mut usize,
    from: *mut EsgEndpoint,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let h = e.slot(id, Kind::Raw)?;
        let s = e.sockets.get_mut::<raw::Socket>(h);
        let data = if peek { s.peek() } else { s.recv() }.map_err(|_| ESG_ERR_AGAIN)?;
        if let Some(f) = from.as_mut() {
            *f = source_of(data);
        }
        let n = data.len().min(len).min(i32::MAX as usize);
        if n > 0 {
            core::ptr::copy_nonoverlapping(data.as_ptr(), buf, n);
        }
        if !full_len.is_null() {
            *full_len = data.len();
        }
        Ok(n as i32)
    })())
}

fn source_of(packet: &[u8]) -> EsgEndpoint {
    let mut out = EsgEndpoint::default();
    match packet.first().map(|b| b >> 4) {
        Some(4) if packet.len() >= 20 => {
            out.family = ESG_AF_INET;
            out.addr[..4].copy_from_slice(&packet[12..16]);
        }
        Some(6) if packet.len() >= 40 => {
            out.family = ESG_AF_INET6;
            out.addr.copy_from_slice(&packet[8..24]);
        }
        _ => {}
    }
    out
}

#[no_mangle]
pub unsafe extern "C" fn esg_raw_get_info(eng: *mut Engine, id: i32, info: *mut EsgDgramInfo) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let out = info.as_mut().ok_or(ESG_ERR_INVAL)?;
        let h = e.slot(id, Kind::Raw)?;
        let s = e.sockets.get_mut::<raw::Socket>(h);
        let next_len = s.peek().map(|d| d.len() as u32).unwrap_or(0);
        *out = EsgDgramInfo {
            is_open: true,
            can_send: s.can_send(),
            can_recv: s.can_recv(),
            recv_queue: s.recv_queue() as u32,
            send_queue: s.send_queue() as u32,
            next_len,
            local: EsgEndpoint::default(),
        };
        Ok(ESG_OK)
    })())
}
