//! Types and constants shared with C, and conversions to smoltcp's types.

use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};
#[cfg(feature = "ipv6")]
use smoltcp::wire::Ipv6Address;

pub const ESG_OK: i32 = 0;
pub const ESG_ERR_INVAL: i32 = -1;
pub const ESG_ERR_NOSLOT: i32 = -2;
pub const ESG_ERR_STATE: i32 = -3;
pub const ESG_ERR_AGAIN: i32 = -4;
pub const ESG_ERR_UNADDR: i32 = -5;
pub const ESG_ERR_BADID: i32 = -6;
pub const ESG_ERR_FINISHED: i32 = -7;
pub const ESG_ERR_TOOBIG: i32 = -8;
pub const ESG_ERR_NOMEM: i32 = -9;
pub const ESG_ERR_FAILED: i32 = -10;

pub const ESG_AF_UNSPEC: u8 = 0;
pub const ESG_AF_INET: u8 = 4;
pub const ESG_AF_INET6: u8 = 6;

/// `esg_endpoint_t`: family, port (host order), address bytes (network order).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EsgEndpoint {
    pub family: u8,
    pub reserved: u8,
    pub port: u16,
    pub addr: [u8; 16],
}

/// Read an address of `family` from C bytes.
///
/// # Safety
/// `bytes` must point at 4 (IPv4) or 16 (IPv6) readable bytes.
pub unsafe fn addr_from_c(family: u8, bytes: *const u8) -> Result<IpAddress, i32> {
    if bytes.is_null() {
        return Err(ESG_ERR_INVAL);
    }
    match family {
        ESG_AF_INET => {
            let mut b = [0u8; 4];
            core::ptr::copy_nonoverlapping(bytes, b.as_mut_ptr(), 4);
            Ok(IpAddress::Ipv4(Ipv4Address::from(b)))
        }
        #[cfg(feature = "ipv6")]
        ESG_AF_INET6 => {
            let mut b = [0u8; 16];
            core::ptr::copy_nonoverlapping(bytes, b.as_mut_ptr(), 16);
            Ok(IpAddress::Ipv6(Ipv6Address::from(b)))
        }
        _ => Err(ESG_ERR_INVAL),
    }
}

/// Write an address into C bytes; returns its family.
///
/// # Safety
/// `out` must point at 16 writable bytes (4 suffice for IPv4).
pub unsafe fn addr_to_c(addr: &IpAddress, out: *mut u8) -> u8 {
    match addr {
        IpAddress::Ipv4(a) => {
            core::ptr::copy_nonoverlapping(a.octets().as_ptr(), out, 4);
            ESG_AF_INET
        }
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(a) => {
            core::ptr::copy_nonoverlapping(a.octets().as_ptr(), out, 16);
            ESG_AF_INET6
        }
    }
}

impl EsgEndpoint {
    pub fn from_ip(ep: &IpEndpoint) -> Self {
        let mut out = EsgEndpoint { port: ep.port, ..Default::default() };
        // SAFETY: out.addr has 16 bytes.
        out.family = unsafe { addr_to_c(&ep.addr, out.addr.as_mut_ptr()) };
        out
    }

    pub fn from_listen(ep: &IpListenEndpoint) -> Self {
        match ep.addr {
            Some(addr) => Self::from_ip(&IpEndpoint::new(addr, ep.port)),
            None => EsgEndpoint { port: ep.port, ..Default::default() },
        }
    }

    /// The address, or None for ESG_AF_UNSPEC.
    pub fn ip_addr(&self) -> Result<Option<IpAddress>, i32> {
        if self.family == ESG_AF_UNSPEC {
            return Ok(None);
        }
        // SAFETY: addr has 16 bytes.
        unsafe { addr_from_c(self.family, self.addr.as_ptr()).map(Some) }
    }

    pub fn to_listen(&self) -> Result<IpListenEndpoint, i32> {
        Ok(IpListenEndpoint { addr: self.ip_addr()?, port: self.port })
    }

    /// A fully specified endpoint (address and port required).
    pub fn to_ip(&self) -> Result<IpEndpoint, i32> {
        match self.ip_addr()? {
            Some(addr) if self.port != 0 => Ok(IpEndpoint::new(addr, self.port)),
            _ => Err(ESG_ERR_UNADDR),
        }
    }
}

/// Borrow a C pointer as a reference, or fail with ESG_ERR_INVAL.
///
/// # Safety
/// `p` must be null or valid for reads of T.
pub unsafe fn c_ref<'a, T>(p: *const T) -> Result<&'a T, i32> {
    p.as_ref().ok_or(ESG_ERR_INVAL)
}

/// Fold a `Result<i32, i32>` into the C return convention.
pub fn ret(r: Result<i32, i32>) -> i32 {
    match r {
        Ok(v) => v,
        Err(e) => e,
    }
}
