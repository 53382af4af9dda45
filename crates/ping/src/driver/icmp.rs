//! ICMP echo on the run's own sockets: one per family, an unprivileged datagram ICMP socket
//! where the OS allows it, a raw one otherwise. Sequence numbers come from the core's table
//! (so two probes never share one while either may be answered), the echo data is the same
//! payload as a UDP probe's (`payload::encode`, with the probe's secret), and replies are read
//! in the driver's loop like UDP datagrams and matched by the core (`Machine::on_echo`): the
//! address, sequence number and secret must all be those of the probe. No task per probe and
//! no client library in between.
//!
//! Linux's datagram ICMP sockets (`net.ipv4.ping_group_range`) set the echo identifier
//! themselves and only hand the socket the replies that carry it; a raw socket sees every ICMP
//! message of the host, so its replies are filtered by our identifier (random per run) and by
//! type. An IPv4 raw socket (and macOS's datagram one) reads the IP header in front of the
//! ICMP message: it is skipped.
//!
//! Not on Windows: it has no unprivileged ICMP socket (only raw sockets, for
//! administrators, or the IcmpSendEcho API, which is not implemented here), so every ICMP
//! target ends at once, unreachable with a message that says so. The `auto` protocol never
//! picks ICMP for a beacon that has a UDP or TCP port.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;
use tracing::debug;

use crate::machine::Family;
use edgegap_core::Unreachable;

/// ICMPv4 echo request / reply types.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
/// ICMPv6 echo request / reply types.
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Type, code, checksum, identifier, sequence number.
pub(crate) const ECHO_HEADER_LEN: usize = 8;

/// What an ICMP target on Windows ends with.
#[cfg(windows)]
pub(crate) const WINDOWS_UNSUPPORTED: &str = "ICMP echo is not implemented on Windows by this \
     library; use the udp or tcp protocol (auto picks them whenever the beacon has their port)";

/// The run's ICMP socket of one family: on tokio's reactor (`S` = tokio's `UdpSocket`), or a
/// plain non-blocking one for the dedicated-thread driver (`std::net::UdpSocket`).
#[derive(Debug)]
pub(crate) struct IcmpSocket<S = UdpSocket> {
    /// Neither tokio nor std has an ICMP socket type; their `UdpSocket` is a thin wrapper of a
    /// datagram-style descriptor (`sendto`, `recvmsg`, readiness), which is all an ICMP socket
    /// needs.
    pub(crate) socket: S,
    /// Its address family.
    pub(crate) family: Family,
    /// A raw socket: replies of other processes reach it too (filtered by `ident`).
    raw: bool,
    /// The echo identifier (the kernel replaces it with its own on a datagram socket).
    ident: u16,
}

/// Opens the family's ICMP socket: unprivileged datagram socket first, raw second.
#[cfg(windows)]
pub(crate) fn open(family: Family, _ident: u16) -> Result<IcmpSocket, Unreachable> {
    debug!(?family, "no ICMP on Windows");
    Err(Unreachable::SendFailed(WINDOWS_UNSUPPORTED.to_owned()))
}

/// Opens the family's ICMP socket on tokio's reactor: unprivileged datagram socket first, raw
/// second.
#[cfg(not(windows))]
pub(crate) fn open(family: Family, ident: u16) -> Result<IcmpSocket, Unreachable> {
    let plain = open_plain(family, ident)?;
    let socket = UdpSocket::from_std(plain.socket).map_err(|e| setup_failed(&e))?;
    Ok(IcmpSocket {
        socket,
        family,
        raw: plain.raw,
        ident,
    })
}

/// What a socket that opened but could not be set up means for the targets that need it.
#[cfg(not(windows))]
fn setup_failed(e: &io::Error) -> Unreachable {
    Unreachable::SendFailed(format!("cannot set up the ICMP socket: {e}"))
}

/// Opens the family's ICMP socket, non-blocking and not on any reactor: unprivileged datagram
/// socket first, raw second.
#[cfg(not(windows))]
pub(crate) fn open_plain(
    family: Family,
    ident: u16,
) -> Result<IcmpSocket<std::net::UdpSocket>, Unreachable> {
    use socket2::{Domain, Protocol, Socket, Type};

    let (domain, protocol) = match family {
        Family::V4 => (Domain::IPV4, Protocol::ICMPV4),
        Family::V6 => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => (socket, false),
        Err(dgram) => {
            debug!(error = %dgram, ?family, "no datagram ICMP socket; trying a raw one");
            let socket = Socket::new(domain, Type::RAW, Some(protocol)).map_err(|e| {
                debug!(error = %e, ?family, "no ICMP socket");
                classify(&e)
            })?;
            (socket, true)
        }
    };
    let setup = || -> io::Result<std::net::UdpSocket> {
        socket.set_nonblocking(true)?;
        if let Err(e) = socket.set_recv_buffer_size(1 << 20) {
            debug!(error = %e, "could not enlarge the ICMP receive buffer");
        }
        if raw && let Err(e) = super::sys::only_echo_replies(&socket, family) {
            debug!(error = %e, ?family, "no ICMP filter: every ICMP message is read and sorted");
        }
        if let Err(e) = super::sys::enable_timestamps(&socket) {
            debug!(error = %e, ?family, "no receive timestamps on the ICMP socket");
        }
        Ok(socket.try_clone()?.into())
    };
    let socket = setup().map_err(|e| setup_failed(&e))?;
    debug!(?family, raw, "ICMP socket open");
    Ok(IcmpSocket {
        socket,
        family,
        raw,
        ident,
    })
}

/// What a failure to open an ICMP socket means for the targets that need it.
#[cfg(not(windows))]
fn classify(e: &io::Error) -> Unreachable {
    if e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EPERM) {
        // The detail is the operating system's own error, from its number.
        let detail = e.raw_os_error().map_or_else(
            || "permission denied".to_owned(),
            |code| io::Error::from_raw_os_error(code).to_string(),
        );
        Unreachable::PermissionDenied(detail)
    } else {
        Unreachable::SendFailed(format!("cannot open an ICMP socket: {e}"))
    }
}

impl IcmpSocket {
    /// Sends the echo request for sequence number `seq` to `dest`; `packet` holds its echo
    /// data behind [`ECHO_HEADER_LEN`] bytes of room for the header, which this fills in
    /// (the driver builds every probe in one buffer this way).
    pub(crate) async fn send(&self, dest: IpAddr, seq: u16, packet: &mut [u8]) -> io::Result<()> {
        write_header(self.family, self.ident, seq, packet);
        self.socket
            .send_to(packet, SocketAddr::new(dest, 0))
            .await
            .map(drop)
    }
}

impl IcmpSocket<std::net::UdpSocket> {
    /// [`IcmpSocket::send`] on a plain non-blocking socket (`WouldBlock` when its send buffer
    /// is full).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn send_now(&self, dest: IpAddr, seq: u16, packet: &mut [u8]) -> io::Result<()> {
        write_header(self.family, self.ident, seq, packet);
        self.socket
            .send_to(packet, SocketAddr::new(dest, 0))
            .map(drop)
    }
}

impl<S> IcmpSocket<S> {
    /// The echo data of a message read into `buf`, or `None` when it is not an echo reply
    /// meant for us (see [`echo_data`]).
    pub(crate) fn echo_data<'a>(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        echo_data(self.family, self.raw.then_some(self.ident), buf)
    }
}

/// The echo request of `family` with identifier `ident` and sequence number `seq`, carrying
/// `data`.
#[cfg(test)]
fn request(family: Family, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut packet = vec![0; ECHO_HEADER_LEN];
    packet.extend_from_slice(data);
    write_header(family, ident, seq, &mut packet);
    packet
}

/// Writes the echo request header (type, code, checksum, identifier `ident`, sequence number
/// `seq`) of `family` into the first [`ECHO_HEADER_LEN`] bytes of `packet`, whose rest is the
/// echo data.
pub(crate) fn write_header(family: Family, ident: u16, seq: u16, packet: &mut [u8]) {
    let kind = match family {
        Family::V4 => ECHO_REQUEST_V4,
        Family::V6 => ECHO_REQUEST_V6,
    };
    packet[..4].copy_from_slice(&[kind, 0, 0, 0]);
    packet[4..6].copy_from_slice(&ident.to_be_bytes());
    packet[6..8].copy_from_slice(&seq.to_be_bytes());
    // ICMPv6 checksums cover a pseudo-header the kernel knows: it always fills them in.
    if family == Family::V4 {
        let sum = checksum(packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
}

/// The echo data of an ICMP message of `family` (behind its IPv4 header, if any), or `None`
/// when it is not an echo reply (another type, truncated) or, when `ident` is given (raw
/// sockets), carries another identifier: another process's.
fn echo_data(family: Family, ident: Option<u16>, buf: &[u8]) -> Option<&[u8]> {
    let (message, reply) = match family {
        // An IPv4 header starts with version 4; an ICMP echo reply with type 0.
        Family::V4 if buf.first().is_some_and(|b| b >> 4 == 4) => {
            (buf.get(usize::from(buf[0] & 0x0f) * 4..)?, ECHO_REPLY_V4)
        }
        Family::V4 => (buf, ECHO_REPLY_V4),
        Family::V6 => (buf, ECHO_REPLY_V6),
    };
    if message.len() < ECHO_HEADER_LEN || message[0] != reply || message[1] != 0 {
        return None;
    }
    if ident.is_some_and(|ident| message[4..6] != ident.to_be_bytes()) {
        return None;
    }
    Some(&message[ECHO_HEADER_LEN..])
}

/// The Internet checksum (RFC 1071) of `data`.
fn checksum(data: &[u8]) -> u16 {
    let pairs = data.chunks_exact(2);
    // An odd last byte is padded with zero.
    let last = pairs.remainder().first().map_or(0, |&b| u32::from(b) << 8);
    let mut sum: u32 = pairs
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum::<u32>()
        + last;
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(windows)]
    #[test]
    fn windows_refuses_icmp_with_a_message_saying_so() {
        for family in [Family::V4, Family::V6] {
            match open(family, 1) {
                Err(Unreachable::SendFailed(why)) => assert!(why.contains("Windows")),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("an ICMP socket on Windows"),
            }
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn permission_errors_say_how_to_enable_icmp() {
        let denied = io::Error::new(io::ErrorKind::PermissionDenied, "some wrapper's wording");
        let why = classify(&denied);
        assert_eq!(
            why,
            Unreachable::PermissionDenied("permission denied".into()),
            "a wrapper's wording is never parsed"
        );
        assert_eq!(
            classify(&io::Error::from_raw_os_error(libc::EPERM)).code(),
            edgegap_core::UnreachableCode::PermissionDenied
        );
        assert!(why.to_string().contains("ping_group_range"));
        assert!(matches!(
            classify(&io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
            Unreachable::SendFailed(_)
        ));
    }

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071's example bytes sum to 0xddf2; the checksum is its complement.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // A message with its checksum filled in sums to zero (odd length padded with zero).
        let mut packet = vec![8, 0, 0, 0, 0x12, 0x34, 0, 7, 0xab];
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&packet), 0);
    }

    #[test]
    fn replies_are_parsed_and_other_messages_ignored() {
        fn v4(buf: &[u8]) -> Option<&[u8]> {
            echo_data(Family::V4, Some(0x1234), buf)
        }
        fn v6(buf: &[u8]) -> Option<&[u8]> {
            echo_data(Family::V6, Some(0x1234), buf)
        }
        let request = request(Family::V4, 0x1234, 7, b"data");
        assert_eq!(&request[..2], &[ECHO_REQUEST_V4, 0]);
        assert_eq!(&request[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(checksum(&request), 0);
        // The request itself (a raw socket sees it on loopback) is not a reply.
        assert_eq!(v4(&request), None);
        let mut reply = request.clone();
        reply[0] = ECHO_REPLY_V4;
        assert_eq!(v4(&reply), Some(&b"data"[..]));
        // Behind a 20-byte IPv4 header (raw sockets).
        let mut with_ip = vec![0x45; 1];
        with_ip.extend_from_slice(&[0; 19]);
        with_ip.extend_from_slice(&reply);
        assert_eq!(v4(&with_ip), Some(&b"data"[..]));
        // Another process's identifier, on a raw socket: not ours.
        let mut other = reply.clone();
        other[4] = 0x99;
        assert_eq!(v4(&other), None);
        assert_eq!(v4(&reply[..7]), None);
        // A datagram socket's kernel rewrote the identifier: it is not checked.
        assert_eq!(echo_data(Family::V4, None, &other), Some(&b"data"[..]));

        let mut reply6 = super::request(Family::V6, 0x1234, 7, b"data");
        assert_eq!(reply6[0], ECHO_REQUEST_V6);
        assert_eq!(&reply6[2..4], &[0, 0], "the kernel fills ICMPv6 checksums");
        assert_eq!(v6(&reply6), None);
        reply6[0] = ECHO_REPLY_V6;
        assert_eq!(v6(&reply6), Some(&b"data"[..]));
    }
}
