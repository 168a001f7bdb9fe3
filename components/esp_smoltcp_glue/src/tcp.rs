//! TCP socket operations.

use smoltcp::socket::tcp::{self, CongestionControl, RecvError, SendError, State};
use smoltcp::time::Duration;

use crate::abi::*;
use crate::engine::{engine, Engine, Kind};

pub const ESG_TCP_CLOSED: u8 = 0;
pub const ESG_TCP_LISTEN: u8 = 1;
pub const ESG_TCP_SYN_SENT: u8 = 2;
pub const ESG_TCP_SYN_RECEIVED: u8 = 3;
pub const ESG_TCP_ESTABLISHED: u8 = 4;
pub const ESG_TCP_FIN_WAIT_1: u8 = 5;
pub const ESG_TCP_FIN_WAIT_2: u8 = 6;
pub const ESG_TCP_CLOSE_WAIT: u8 = 7;
pub const ESG_TCP_CLOSING: u8 = 8;
pub const ESG_TCP_LAST_ACK: u8 = 9;
pub const ESG_TCP_TIME_WAIT: u8 = 10;

fn state_code(s: State) -> u8 {
    match s {
        State::Closed => ESG_TCP_CLOSED,
        State::Listen => ESG_TCP_LISTEN,
        State::SynSent => ESG_TCP_SYN_SENT,
        State::SynReceived => ESG_TCP_SYN_RECEIVED,
        State::Established => ESG_TCP_ESTABLISHED,
        State::FinWait1 => ESG_TCP_FIN_WAIT_1,
        State::FinWait2 => ESG_TCP_FIN_WAIT_2,
        State::CloseWait => ESG_TCP_CLOSE_WAIT,
        State::Closing => ESG_TCP_CLOSING,
        State::LastAck => ESG_TCP_LAST_ACK,
        State::TimeWait => ESG_TCP_TIME_WAIT,
    }
}

/// `esg_tcp_info_t`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct EsgTcpInfo {
    pub state: u8,
    pub may_send: bool,
    pub may_recv: bool,
    pub can_send: bool,
    pub can_recv: bool,
    pub recv_queue: u32,
    pub send_queue: u32,
    pub send_capacity: u32,
    pub recv_capacity: u32,
    pub local: EsgEndpoint,
    pub remote: EsgEndpoint,
}

/// Run `f` on TCP socket `id` and fold the result for C.
unsafe fn with_tcp(eng: *mut Engine, id: i32, f: impl FnOnce(&mut tcp::Socket<'static>) -> Result<i32, i32>) -> i32 {
    ret(engine(eng).and_then(|e| e.tcp(id)).and_then(f))
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_open(eng: *mut Engine, rx_buf: *mut u8, rx_len: usize, tx_buf: *mut u8, tx_len: usize) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        if rx_buf.is_null() || tx_buf.is_null() || rx_len == 0 || tx_len == 0 {
            return Err(ESG_ERR_INVAL);
        }
        // SAFETY: the runtime keeps both buffers alive until esg_socket_remove.
        let rx = core::slice::from_raw_parts_mut(rx_buf, rx_len);
        let tx = core::slice::from_raw_parts_mut(tx_buf, tx_len);
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        // Reno: cubic needs f64 on the hot path, which the P4 lacks in hardware.
        s.set_congestion_control(CongestionControl::Reno);
        // TCP timestamps stay off: smoltcp 0.13.1 does not shrink the MSS by the
        // option's 12 bytes and sends frames over the MTU (fixed upstream after 0.13.1).
        s.set_tsval_generator(None);
        e.add_socket(s, Kind::Tcp)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_listen(eng: *mut Engine, id: i32, local: *const EsgEndpoint) -> i32 {
    with_tcp(eng, id, |s| {
        let ep = c_ref(local)?.to_listen()?;
        if ep.port == 0 {
            return Err(ESG_ERR_INVAL);
        }
        s.listen(ep).map_err(|e| match e {
            tcp::ListenError::InvalidState => ESG_ERR_STATE,
            tcp::ListenError::Unaddressable => ESG_ERR_INVAL,
        })?;
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_connect(
    eng: *mut Engine,
    id: i32,
    remote: *const EsgEndpoint,
    local: *const EsgEndpoint,
) -> i32 {
    ret((|| {
        let e = engine(eng)?;
        let remote = c_ref(remote)?.to_ip()?;
        let local = c_ref(local)?.to_listen()?;
        if local.port == 0 {
            return Err(ESG_ERR_INVAL);
        }
        let h = e.slot(id, Kind::Tcp)?;
        let cx = e.iface.context();
        e.sockets.get_mut::<tcp::Socket>(h).connect(cx, remote, local).map_err(|err| match err {
            tcp::ConnectError::InvalidState => ESG_ERR_STATE,
            tcp::ConnectError::Unaddressable => ESG_ERR_UNADDR,
        })?;
        Ok(ESG_OK)
    })())
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_send(eng: *mut Engine, id: i32, buf: *const u8, len: usize) -> i32 {
    with_tcp(eng, id, |s| {
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        if len == 0 {
            return if s.may_send() { Ok(0) } else { Err(ESG_ERR_STATE) };
        }
        let data = core::slice::from_raw_parts(buf, len.min(i32::MAX as usize));
        match s.send_slice(data) {
            Ok(n) => Ok(n as i32),
            Err(SendError::InvalidState) => Err(ESG_ERR_STATE),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_recv(eng: *mut Engine, id: i32, buf: *mut u8, len: usize, peek: bool) -> i32 {
    with_tcp(eng, id, |s| {
        if buf.is_null() && len != 0 {
            return Err(ESG_ERR_INVAL);
        }
        let data = if len == 0 { &mut [][..] } else { core::slice::from_raw_parts_mut(buf, len.min(i32::MAX as usize)) };
        let r = if peek {
            // smoltcp's peek_slice skips the state check recv_slice makes (EOF,
            // not open) and would report 0; peek(0) makes that check first.
            match s.peek(0) {
                Ok(_) => s.peek_slice(data),
                Err(e) => Err(e),
            }
        } else {
            s.recv_slice(data)
        };
        match r {
            Ok(n) => Ok(n as i32),
            Err(RecvError::Finished) => Err(ESG_ERR_FINISHED),
            Err(RecvError::InvalidState) => Err(ESG_ERR_STATE),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_close(eng: *mut Engine, id: i32) -> i32 {
    with_tcp(eng, id, |s| {
        s.close();
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_abort(eng: *mut Engine, id: i32) -> i32 {
    with_tcp(eng, id, |s| {
        s.abort();
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_get_info(eng: *mut Engine, id: i32, info: *mut EsgTcpInfo) -> i32 {
    with_tcp(eng, id, |s| {
        let out = info.as_mut().ok_or(ESG_ERR_INVAL)?;
        *out = EsgTcpInfo {
            state: state_code(s.state()),
            may_send: s.may_send(),
            may_recv: s.may_recv(),
            can_send: s.can_send(),
            can_recv: s.can_recv(),
            recv_queue: s.recv_queue() as u32,
            send_queue: s.send_queue() as u32,
            send_capacity: s.send_capacity() as u32,
            recv_capacity: s.recv_capacity() as u32,
            local: match s.local_endpoint() {
                Some(ep) => EsgEndpoint::from_ip(&ep),
                None => EsgEndpoint::from_listen(&s.listen_endpoint()),
            },
            remote: s.remote_endpoint().map(|ep| EsgEndpoint::from_ip(&ep)).unwrap_or_default(),
        };
        Ok(ESG_OK)
    })
}

/// The state (ESG_TCP_*, returned) and whether the peer may still send
/// (*may_recv, when not null): what the runtime reads of every connection after
/// every poll, without the queues and endpoints of esg_tcp_get_info().
#[no_mangle]
pub unsafe extern "C" fn esg_tcp_get_state(eng: *mut Engine, id: i32, may_recv: *mut bool) -> i32 {
    with_tcp(eng, id, |s| {
        if let Some(m) = may_recv.as_mut() {
            *m = s.may_recv();
        }
        Ok(state_code(s.state()) as i32)
    })
}

fn millis(ms: u32) -> Option<Duration> {
    if ms == 0 {
        None
    } else {
        Some(Duration::from_millis(ms as u64))
    }
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_set_nodelay(eng: *mut Engine, id: i32, nodelay: bool) -> i32 {
    with_tcp(eng, id, |s| {
        s.set_nagle_enabled(!nodelay);
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_set_keepalive(eng: *mut Engine, id: i32, interval_ms: u32) -> i32 {
    with_tcp(eng, id, |s| {
        s.set_keep_alive(millis(interval_ms));
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_set_timeout(eng: *mut Engine, id: i32, timeout_ms: u32) -> i32 {
    with_tcp(eng, id, |s| {
        s.set_timeout(millis(timeout_ms));
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_set_ack_delay(eng: *mut Engine, id: i32, delay_ms: u32) -> i32 {
    with_tcp(eng, id, |s| {
        s.set_ack_delay(millis(delay_ms));
        Ok(ESG_OK)
    })
}

#[no_mangle]
pub unsafe extern "C" fn esg_tcp_set_hop_limit(eng: *mut Engine, id: i32, hop_limit: u8) -> i32 {
    with_tcp(eng, id, |s| {
        s.set_hop_limit(if hop_limit == 0 { None } else { Some(hop_limit) });
        Ok(ESG_OK)
    })
}
