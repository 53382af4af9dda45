//! Creating the loopback sockets (socket2 for the options tokio does not expose).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// A failed socket operation: what was attempted (`"bind"`, `"listen on"`, ...) and the OS error.
pub type SockError = (&'static str, io::Error);

/// Receive buffer asked for UDP sockets, so bursts of probes are not dropped by the kernel
/// (the kernel may grant less; that is not an error).
const UDP_RECV_BUFFER: usize = 1 << 20;

fn new_socket(addr: SocketAddr, ty: Type, protocol: Protocol) -> Result<Socket, SockError> {
    let socket =
        Socket::new(Domain::for_address(addr), ty, Some(protocol)).map_err(|e| ("create", e))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(|e| ("configure", e))?;
    }
    Ok(socket)
}

/// A bound non-blocking UDP socket, and a second handle to it (for the reply thread).
pub fn udp(addr: SocketAddr) -> Result<(tokio::net::UdpSocket, std::net::UdpSocket), SockError> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECV_BUFFER) {
        tracing::debug!(%addr, error = %e, "could not enlarge the UDP receive buffer");
    }
    socket.bind(&addr.into()).map_err(|e| ("bind", e))?;
    socket.set_nonblocking(true).map_err(|e| ("configure", e))?;
    let second = socket.try_clone().map_err(|e| ("duplicate", e))?;
    let tokio_socket =
        tokio::net::UdpSocket::from_std(socket.into()).map_err(|e| ("register", e))?;
    Ok((tokio_socket, second.into()))
}

/// A bound non-blocking UDP socket that is only sent from (never registered with a runtime).
pub fn udp_send_only(addr: SocketAddr) -> Result<std::net::UdpSocket, SockError> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&addr.into()).map_err(|e| ("bind", e))?;
    socket.set_nonblocking(true).map_err(|e| ("configure", e))?;
    Ok(socket.into())
}

/// A listening TCP socket with the given accept backlog, registered with the current runtime.
pub fn tcp_listener(addr: SocketAddr, backlog: i32) -> Result<tokio::net::TcpListener, SockError> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    socket
        .set_reuse_address(true)
        .map_err(|e| ("configure", e))?;
    socket.bind(&addr.into()).map_err(|e| ("bind", e))?;
    socket.listen(backlog).map_err(|e| ("listen on", e))?;
    socket.set_nonblocking(true).map_err(|e| ("configure", e))?;
    tokio::net::TcpListener::from_std(socket.into()).map_err(|e| ("register", e))
}

/// A port that was free on `addr`'s IP a moment ago and has no socket now: the kernel answers
/// UDP to it with ICMP port-unreachable and TCP with RST. Binds, reads the port, closes.
pub fn closed_port(addr: SocketAddr, tcp: bool) -> Result<u16, SockError> {
    let (ty, protocol) = if tcp {
        (Type::STREAM, Protocol::TCP)
    } else {
        (Type::DGRAM, Protocol::UDP)
    };
    let socket = new_socket(addr, ty, protocol)?;
    socket.bind(&addr.into()).map_err(|e| ("bind", e))?;
    let local = socket.local_addr().map_err(|e| ("inspect", e))?;
    let port = local
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| ("inspect", io::Error::other("not an IP socket")))?;
    drop(socket);
    Ok(port)
}
