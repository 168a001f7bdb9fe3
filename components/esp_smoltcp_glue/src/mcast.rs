//! Multicast group membership of the interface (IGMPv2 / MLDv2 reports are
//! sent by smoltcp's poll). The C runtime counts how many sockets want each
//! group; this layer only joins and leaves.

use smoltcp::iface::MulticastError;

use crate::abi::*;
use crate::engine::{engine, Engine};

fn map(r: Result<(), MulticastError>) -> Result<i32, i32> {
    match r {
        Ok(()) => Ok(ESG_OK),
        Err(MulticastError::GroupTableFull) => Err(ESG_ERR_NOSLOT),
        Err(MulticastError::Unaddressable) => Err(ESG_ERR_INVAL),
    }
}

/// Join the multicast group at addr. ESG_ERR_INVAL: not a multicast address;
/// ESG_ERR_NOSLOT: the group table is full. Joining a joined group is ESG_OK.
#[no_mangle]
pub unsafe extern "C" fn esg_iface_join_group(eng: *mut Engine, family: u8, addr: *const u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let a = addr_from_c(family, addr)?;
        map(e.iface.join_multicast_group(a))
    })())
}

/// Leave the multicast group at addr (a group never joined: ESG_OK).
#[no_mangle]
pub unsafe extern "C" fn esg_iface_leave_group(eng: *mut Engine, family: u8, addr: *const u8) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let a = addr_from_c(family, addr)?;
        map(e.iface.leave_multicast_group(a))
    })())
}

/// Is the interface a member of the group at addr (as smoltcp filters)?
#[no_mangle]
pub unsafe extern "C" fn esg_iface_has_group(eng: *mut Engine, family: u8, addr: *const u8) -> bool {
    let (Ok(e), Ok(a)) = (engine(eng), addr_from_c(family, addr)) else {
        return false;
    };
    e.iface.has_multicast_group(a)
}
