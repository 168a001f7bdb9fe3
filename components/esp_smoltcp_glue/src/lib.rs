//! esp_smoltcp_glue: a thin, policy-free C ABI over smoltcp.
//!
//! The C runtime owns every byte of memory (engine block, socket buffers),
//! serialises every call under its core lock and passes time in. This crate
//! only translates between C types and smoltcp. The C header
//! `include/esp_smoltcp_glue.h` mirrors the items marked `#[no_mangle]` here;
//! `tests/check_glue_header.py` keeps the two in sync.
// std only for test builds: under `cargo test` cargo also builds the
// staticlib with panic=unwind (the profile's panic=abort is ignored there),
// which a no_std staticlib cannot link. Target builds use panic=abort.
#![cfg_attr(not(any(test, panic = "unwind")), no_std)]
#![allow(clippy::missing_safety_doc)]

mod abi;
mod device;
mod dgram;
mod dns;
mod engine;
mod fixups;
mod mcast;
mod raw;
mod route;
mod tcp;
mod wake;

#[cfg(all(feature = "panic-handler", not(test), not(panic = "unwind")))]
mod panic;

#[cfg(test)]
mod tests;

pub use abi::*;
pub use device::*;
pub use dgram::*;
pub use dns::*;
pub use engine::*;
pub use mcast::*;
pub use raw::*;
pub use route::*;
pub use tcp::*;
pub use wake::*;
