//! DNS resolver: smoltcp's DNS socket, one per engine, with a fixed number
//! of concurrent queries (A or AAAA, one type per query).

use smoltcp::socket::dns::{self, GetQueryResultError, StartQueryError};
use smoltcp::wire::{DnsQueryType, IpAddress};

use crate::abi::*;
use crate::engine::{engine, Engine};
use crate::wake::token_waker;

pub const ESG_DNS_MAX_QUERIES: usize = 4;
pub const ESG_DNS_MAX_SERVERS: usize = 4;
pub const ESG_DNS_TYPE_A: u16 = 1;
pub const ESG_DNS_TYPE_AAAA: u16 = 28;

impl Engine {
    fn dns_socket(&mut self) -> Result<&mut dns::Socket<'static>, i32> {
        let h = match self.dns {
            Some(h) => h,
            None => {
                // SAFETY: dns_storage lives in the engine block as long as the engine.
                let storage: &'static mut [Option<dns::DnsQuery>] =
                    unsafe { core::slice::from_raw_parts_mut(self.dns_storage.as_mut_ptr(), self.dns_storage.len()) };
                let h = self.insert(dns::Socket::new(&[], storage))?;
                self.dns = Some(h);
                h
            }
        };
        Ok(self.sockets.get_mut::<dns::Socket>(h))
    }

    fn query(&self, qid: i32) -> Result<dns::QueryHandle, i32> {
        let i = usize::try_from(qid).map_err(|_| ESG_ERR_BADID)?;
        self.dns_queries.get(i).copied().flatten().ok_or(ESG_ERR_BADID)
    }
}

/// Replace the resolver's server list (at most ESG_DNS_MAX_SERVERS; the rest is ignored).
#[no_mangle]
pub unsafe extern "C" fn esg_dns_set_servers(eng: *mut Engine, servers: *const EsgEndpoint, count: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if servers.is_null() && count != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let mut list = [IpAddress::Ipv4(smoltcp::wire::Ipv4Address::UNSPECIFIED); ESG_DNS_MAX_SERVERS];
        let mut n = 0;
        for i in 0..count.min(ESG_DNS_MAX_SERVERS) {
            if let Some(a) = (*servers.add(i)).ip_addr()? {
                list[n] = a;
                n += 1;
            }
        }
        e.dns_socket()?.update_servers(&list[..n]);
        Ok(n as i32)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_dns_query(eng: *mut Engine, name: *const core::ffi::c_char, name_len: usize, qtype: u16) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if name.is_null() {
            return Err(ESG_ERR_INVAL);
        }
        let t = match qtype {
            ESG_DNS_TYPE_A => DnsQueryType::A,
            ESG_DNS_TYPE_AAAA => DnsQueryType::Aaaa,
            _ => return Err(ESG_ERR_INVAL),
        };
        let name = core::str::from_utf8(core::slice::from_raw_parts(name as *const u8, name_len)).map_err(|_| ESG_ERR_INVAL)?;
        let slot = e.dns_queries.iter().position(|q| q.is_none()).ok_or(ESG_ERR_NOSLOT)?;
        e.dns_socket()?;
        let h = e.dns.ok_or(ESG_ERR_STATE)?;
        let cx = e.iface.context();
        let q = e.sockets.get_mut::<dns::Socket>(h).start_query(cx, name, t).map_err(|err| match err {
            StartQueryError::NoFreeSlot => ESG_ERR_NOSLOT,
            StartQueryError::InvalidName | StartQueryError::NameTooLong => ESG_ERR_INVAL,
        })?;
        e.dns_queries[slot] = Some(q);
        Ok(slot as i32)
    })())
}

/// Result of query qid: number of addresses written (the query is then
/// finished and its id free), ESG_ERR_AGAIN while pending, ESG_ERR_FAILED when
/// the name does not resolve (NXDOMAIN, no answer, or every server timed out).
#[no_mangle]
pub unsafe extern "C" fn esg_dns_result(eng: *mut Engine, qid: i32, addrs: *mut EsgEndpoint, max: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let q = e.query(qid)?;
        if addrs.is_null() && max != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let r = e.dns_socket()?.get_query_result(q);
        if r != Err(GetQueryResultError::Pending) {
            e.dns_queries[qid as usize] = None; // smoltcp freed the slot
        }
        match r {
            Err(GetQueryResultError::Pending) => Err(ESG_ERR_AGAIN),
            Err(GetQueryResultError::Failed) => Err(ESG_ERR_FAILED),
            Ok(list) => {
                let n = list.len().min(max);
                for (i, a) in list.iter().take(n).enumerate() {
                    *addrs.add(i) = EsgEndpoint::from_ip(&smoltcp::wire::IpEndpoint::new(*a, 0));
                }
                Ok(n as i32)
            }
        }
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_dns_cancel(eng: *mut Engine, qid: i32) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let q = e.query(qid)?;
        e.dns_socket()?.cancel_query(q);
        e.dns_queries[qid as usize] = None;
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_dns_register_wake(eng: *mut Engine, qid: i32, token: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let q = e.query(qid)?;
        e.dns_socket()?.register_query_waker(q, &token_waker(token));
        Ok(ESG_OK)
    })())
}
