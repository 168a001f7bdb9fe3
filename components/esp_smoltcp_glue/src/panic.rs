//! Panic handler for images with no other Rust: report through C and stop.
//! Feature `panic-handler`; turn it off when another crate provides one.

extern "C" {
    /// Provided by the C runtime: log and abort (esp_system_abort on the target).
    fn esg_panic(msg: *const u8, len: usize) -> !;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    const MSG: &[u8] = b"esp_smoltcp_glue: panic in smoltcp";
    // SAFETY: static message, C side never returns.
    unsafe { esg_panic(MSG.as_ptr(), MSG.len()) }
}

/// The precompiled `core` of hosted targets is built for unwinding and names
/// this symbol; with panic=abort it is never called. Same feature gate as the
/// handler, so an image with other Rust turns both off together.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
