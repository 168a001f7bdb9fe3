//! Corrections to frames smoltcp 0.13.1 builds wrongly, applied in the TX
//! path before the runtime sees them. Each one names the upstream defect.

#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Packet, Ipv6Address};

/// smoltcp 0.13.1 (iface/interface/multicast.rs) announces a join as an MLDv2
/// CHANGE_TO_INCLUDE record with no sources and a leave as CHANGE_TO_EXCLUDE —
/// RFC 3810 §6.1 has it the other way round (join = exclude nothing, leave =
/// include nothing), so routers and snooping switches read our join as a leave.
/// smoltcp only ever sends source-less records, so swapping the two record
/// types in every report we send is exactly the correction. The ICMPv6
/// checksum is refilled unless the runtime fills it later.
#[cfg(feature = "ipv6")]
pub fn mldv2_record_types(frame: &mut [u8], fill_checksum: bool) {
    const ETH: usize = 14;
    const IP6: usize = 40;
    const MLDV2_REPORT: u8 = 143;
    const CHANGE_TO_INCLUDE: u8 = 3;
    const CHANGE_TO_EXCLUDE: u8 = 4;
    // Ethernet + IPv6 + hop-by-hop (router alert) + ICMPv6 report header
    if frame.len() < ETH + IP6 + 8 + 8 || frame[12..14] != [0x86, 0xdd] || frame[ETH + 6] != 0 {
        return;
    }
    let hbh = ETH + IP6;
    let icmp = hbh + (frame[hbh + 1] as usize + 1) * 8;
    let end = (ETH + IP6 + u16::from_be_bytes([frame[ETH + 4], frame[ETH + 5]]) as usize).min(frame.len());
    if frame[hbh] != 58 || icmp + 8 > end || frame[icmp] != MLDV2_REPORT {
        return;
    }
    let mut rec = icmp + 8;
    for _ in 0..u16::from_be_bytes([frame[icmp + 6], frame[icmp + 7]]) {
        if rec + 20 > end {
            return;
        }
        let sources = u16::from_be_bytes([frame[rec + 2], frame[rec + 3]]) as usize;
        if sources == 0 {
            frame[rec] = match frame[rec] {
                CHANGE_TO_INCLUDE => CHANGE_TO_EXCLUDE,
                CHANGE_TO_EXCLUDE => CHANGE_TO_INCLUDE,
                t => t,
            };
        }
        rec += 20 + sources * 16 + frame[rec + 1] as usize * 4;
    }
    if fill_checksum {
        let src = Ipv6Address::from(<[u8; 16]>::try_from(&frame[ETH + 8..ETH + 24]).unwrap());
        let dst = Ipv6Address::from(<[u8; 16]>::try_from(&frame[ETH + 24..ETH + 40]).unwrap());
        Icmpv6Packet::new_unchecked(&mut frame[icmp..end]).fill_checksum(&src, &dst);
    }
}

/// Every correction, on a frame about to leave.
pub fn outgoing(frame: &mut [u8], fill_checksums: bool) {
    #[cfg(feature = "ipv6")]
    mldv2_record_types(frame, fill_checksums);
    #[cfg(not(feature = "ipv6"))]
    let _ = (frame, fill_checksums);
}
