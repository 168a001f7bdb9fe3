//! Per-socket wake-ups: a `Waker` whose data is the C runtime's token.
//!
//! Two wakers with the same token compare equal (`will_wake`), so re-arming
//! the same socket never clones or wakes the previous registration.

use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{RawWaker, RawWakerVTable, Waker};

use smoltcp::socket::{icmp, raw, tcp, udp};

use crate::abi::*;
use crate::engine::{engine, Engine, Kind};

static WAKE_HANDLER: AtomicUsize = AtomicUsize::new(0);

pub const ESG_WAKE_RECV: i32 = 0;
pub const ESG_WAKE_SEND: i32 = 1;

#[no_mangle]
pub extern "C" fn esg_set_wake_handler(handler: Option<extern "C" fn(token: usize)>) {
    WAKE_HANDLER.store(handler.map_or(0, |f| f as usize), Ordering::Release);
}

fn call_handler(token: usize) {
    let f = WAKE_HANDLER.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: only ever stored from an `extern "C" fn(usize)`.
        let f: extern "C" fn(usize) = unsafe { core::mem::transmute(f) };
        f(token);
    }
}

unsafe fn vt_clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}
unsafe fn vt_wake(data: *const ()) {
    call_handler(data as usize);
}
unsafe fn vt_drop(_data: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(vt_clone, vt_wake, vt_wake, vt_drop);

pub fn token_waker(token: usize) -> Waker {
    // SAFETY: the vtable functions uphold the RawWaker contract (data is a
    // plain integer, nothing to free).
    unsafe { Waker::from_raw(RawWaker::new(token as *const (), &VTABLE)) }
}

#[no_mangle]
pub unsafe extern "C" fn esg_socket_register_wake(eng: *mut Engine, id: i32, dir: i32, token: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if dir != ESG_WAKE_RECV && dir != ESG_WAKE_SEND {
            return Err(ESG_ERR_INVAL);
        }
        let idx = usize::try_from(id).map_err(|_| ESG_ERR_BADID)?;
        let slot = e.slots.get(idx).copied().flatten().ok_or(ESG_ERR_BADID)?;
        let w = token_waker(token);
        let recv = dir == ESG_WAKE_RECV;
        match slot.kind {
            Kind::Tcp => {
                let s = e.sockets.get_mut::<tcp::Socket>(slot.handle);
                if recv { s.register_recv_waker(&w) } else { s.register_send_waker(&w) }
            }
            Kind::Udp => {
                let s = e.sockets.get_mut::<udp::Socket>(slot.handle);
                if recv { s.register_recv_waker(&w) } else { s.register_send_waker(&w) }
            }
            Kind::Icmp => {
                let s = e.sockets.get_mut::<icmp::Socket>(slot.handle);
                if recv { s.register_recv_waker(&w) } else { s.register_send_waker(&w) }
            }
            Kind::Raw => {
                let s = e.sockets.get_mut::<raw::Socket>(slot.handle);
                if recv { s.register_recv_waker(&w) } else { s.register_send_waker(&w) }
            }
        }
        Ok(ESG_OK)
    })())
}
