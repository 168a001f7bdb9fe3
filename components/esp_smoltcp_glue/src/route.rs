//! Routing questions the C runtime asks before it queues a packet, so a
//! socket call can fail at once (ENETUNREACH) as a BSD stack does, instead of
//! a packet that smoltcp would drop silently.

use smoltcp::wire::IpAddress;

use crate::abi::*;
use crate::engine::{engine, Engine};

/// Is addr on a directly connected network, a broadcast or multicast
/// address, or covered by a default route of its family?
#[no_mangle]
pub unsafe extern "C" fn esg_iface_has_route(eng: *mut Engine, family: u8, addr: *const u8) -> bool {
    let (Ok(e), Ok(a)) = (engine(eng), addr_from_c(family, addr)) else {
        return false;
    };
    if a.is_broadcast() || a.is_multicast() || e.iface.ip_addrs().iter().any(|c| c.contains_addr(&a)) {
        return true;
    }
    match a {
        IpAddress::Ipv4(_) => e.iface.routes().get_default_ipv4_route().is_some(),
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(_) => e.iface.routes().get_default_ipv6_route().is_some(),
    }
}

/// The source address the interface would use towards dst (RFC 6724 for
/// IPv6); writes 4 or 16 bytes to out. ESG_ERR_UNADDR when there is none.
#[no_mangle]
pub unsafe extern "C" fn esg_iface_source_addr(eng: *mut Engine, family: u8, dst: *const u8, out: *mut u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if out.is_null() {
            return Err(ESG_ERR_INVAL);
        }
        let src = match addr_from_c(family, dst)? {
            IpAddress::Ipv4(d) => IpAddress::Ipv4(e.iface.get_source_address_ipv4(&d).ok_or(ESG_ERR_UNADDR)?),
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(d) => IpAddress::Ipv6(e.iface.get_source_address_ipv6(&d)),
        };
        addr_to_c(&src, out);
        Ok(ESG_OK)
    })())
}
