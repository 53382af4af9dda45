//! The run's UDP sockets: one per address family, for every UDP target (non-blocking, not yet
//! on any reactor: the driver that takes them decides).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use socket2::{Domain, Socket, Type};
use tracing::debug;

use super::sys;
use crate::machine::Family;

/// Opens an unconnected, non-blocking UDP socket of `family` on an ephemeral port,
/// with the error queue turned on so port-unreachable replies are seen (Linux, Android),
/// or with port unreachable kept from failing its receives (Windows).
pub(crate) fn open(family: Family) -> io::Result<UdpSocket> {
    let (domain, addr) = match family {
        Family::V4 => (Domain::IPV4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))),
        Family::V6 => (Domain::IPV6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if family == Family::V6 {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    // Many targets answer at once: a larger receive buffer avoids drops (best effort).
    if let Err(e) = socket.set_recv_buffer_size(1 << 20) {
        debug!(error = %e, "could not enlarge the UDP receive buffer");
    }
    socket.bind(&addr.into())?;
    if let Err(e) = sys::enable(&socket, family) {
        debug!(error = %e, ?family, "no socket error queue: port unreachable will show as timeouts");
    }
    #[cfg(windows)]
    if let Err(e) = sys::ignore_port_unreachable(&socket) {
        // The receive loop skips the resets anyway (`sys::is_stale_datagram_error`).
        debug!(error = %e, ?family, "SIO_UDP_CONNRESET could not be turned off");
    }
    if let Err(e) = sys::enable_timestamps(&socket) {
        debug!(error = %e, ?family, "no receive timestamps: RTTs include the wait to be read");
    }
    Ok(socket.into())
}
