//! smoltcp `Device` over the C runtime's frame queue and transmit function.
//!
//! RX frames stay in the runtime's buffers (no copy here); `rx_done` returns
//! them, also when smoltcp drops a token unused. TX frames are built in one
//! scratch buffer and handed to the runtime during the call, so a TX token is
//! always available and dropping one costs nothing — the contract smoltcp
//! needs (a TX token with every RX token). The runtime may finish the frame in
//! place (checksums) before it goes out.

use core::ffi::c_void;

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Largest Ethernet frame without FCS: 1500-byte MTU + 14-byte header.
pub const MAX_FRAME: usize = 1514;

/// `esg_netdev_ops_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EsgNetdevOps {
    pub ctx: *mut c_void,
    pub rx_next: Option<
        unsafe extern "C" fn(ctx: *mut c_void, frame: *mut *const u8, len: *mut usize, cookie: *mut usize) -> bool,
    >,
    pub rx_done: Option<unsafe extern "C" fn(ctx: *mut c_void, cookie: usize)>,
    pub tx: Option<unsafe extern "C" fn(ctx: *mut c_void, frame: *mut u8, len: usize) -> i32>,
}

impl EsgNetdevOps {
    pub fn is_complete(&self) -> bool {
        self.rx_next.is_some() && self.rx_done.is_some() && self.tx.is_some()
    }
}

pub struct Dev {
    ops: EsgNetdevOps,
    caps: DeviceCapabilities,
    tx_buf: [u8; MAX_FRAME],
    /// smoltcp fills TX checksums (the runtime does not): fixups must refill them.
    tx_checksums_here: bool,
}

impl Dev {
    pub fn new(ops: EsgNetdevOps, mtu: usize, rx_checksums_verified: bool, tx_checksums_by_runtime: bool) -> Self {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = mtu + 14;
        caps.max_burst_size = None;
        // Which directions smoltcp must do itself: the runtime may verify RX and/or fill TX.
        let rx_tx = match (rx_checksums_verified, tx_checksums_by_runtime) {
            (false, false) => Checksum::Both,
            (true, false) => Checksum::Tx,
            (false, true) => Checksum::Rx,
            (true, true) => Checksum::None,
        };
        let mut sums = ChecksumCapabilities::default();
        sums.ipv4 = rx_tx;
        sums.udp = rx_tx;
        sums.tcp = rx_tx;
        sums.icmpv4 = rx_tx;
        #[cfg(feature = "ipv6")]
        {
            sums.icmpv6 = rx_tx;
        }
        caps.checksum = sums;
        Dev { ops, caps, tx_buf: [0; MAX_FRAME], tx_checksums_here: !tx_checksums_by_runtime }
    }
}

pub struct Rx<'a> {
    ops: EsgNetdevOps,
    frame: &'a [u8],
    cookie: usize,
}

pub struct Tx<'a> {
    ops: EsgNetdevOps,
    buf: &'a mut [u8; MAX_FRAME],
    fill_checksums: bool,
}

impl phy::Device for Dev {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let rx_next = self.ops.rx_next?;
        let mut ptr: *const u8 = core::ptr::null();
        let mut len = 0usize;
        let mut cookie = 0usize;
        // SAFETY: the runtime fills the three outputs when it returns true.
        if !unsafe { rx_next(self.ops.ctx, &mut ptr, &mut len, &mut cookie) } || ptr.is_null() {
            return None;
        }
        // SAFETY: the runtime keeps the frame valid until rx_done(cookie),
        // which Rx's Drop calls before the borrow of self ends.
        let frame = unsafe { core::slice::from_raw_parts(ptr, len) };
        Some((
            Rx { ops: self.ops, frame, cookie },
            Tx { ops: self.ops, buf: &mut self.tx_buf, fill_checksums: self.tx_checksums_here },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Tx<'_>> {
        Some(Tx { ops: self.ops, buf: &mut self.tx_buf, fill_checksums: self.tx_checksums_here })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl Drop for Rx<'_> {
    fn drop(&mut self) {
        if let Some(done) = self.ops.rx_done {
            // SAFETY: cookie came from rx_next and is released exactly once.
            unsafe { done(self.ops.ctx, self.cookie) };
        }
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than the MTU it was given.
        let len = len.min(MAX_FRAME);
        let r = f(&mut self.buf[..len]);
        crate::fixups::outgoing(&mut self.buf[..len], self.fill_checksums);
        if let Some(tx) = self.ops.tx {
            // SAFETY: buffer valid for len bytes during the call.
            // A failure is counted by the runtime; TCP recovers by retransmission.
            let _ = unsafe { tx(self.ops.ctx, self.buf.as_mut_ptr(), len) };
        }
        r
    }
}
