//! The raw socket calls of the UDP and ICMP paths (with `timer.rs`, the only modules with `unsafe` code).
//!
//! Linux and Android:
//! - The error queue: how an unconnected UDP socket learns that a probe was answered with
//!   ICMP port unreachable. With `IP_RECVERR` / `IPV6_RECVERR` set, the kernel queues each
//!   ICMP error that matches one of our datagrams; `recvmsg(MSG_ERRQUEUE)` returns a copy of
//!   the original datagram, its destination in `msg_name`, and a `sock_extended_err`
//!   control message saying what happened.
//! - Receive timestamps: with `SO_TIMESTAMPNS` the kernel stamps each datagram when it
//!   arrives, so the time it waited in the socket queue for a busy process to read it can
//!   be taken off its round-trip time (see [`Datagram::received_at`]).
//!
//! Windows: an ICMP port unreachable for any datagram the socket sent makes its *next*
//! receive fail with `WSAECONNRESET`, which says neither which destination nor which probe
//! (the source address `recvfrom` returns with it is not documented and is not trusted). So
//! [`ignore_port_unreachable`] turns that off (`SIO_UDP_CONNRESET`), and the receive loop
//! also skips a `ConnectionReset` should one come anyway: a beacon whose port is closed
//! shows as no reply on Windows (under the `auto` protocol its TCP port is tried next, and
//! a TCP reset does say refused).
//!
//! Elsewhere (macOS, iOS): no error queue and no receive timestamps; a closed port shows
//! as no reply, and round trips are measured to the instant a datagram is read.
#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use crate::machine::Family;

/// One entry read from the error queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueuedError {
    /// Where the datagram that caused it was going.
    pub(crate) dest: Option<SocketAddr>,
    /// Whether an ICMP/ICMPv6 message reported `ECONNREFUSED` (port unreachable).
    pub(crate) refused: bool,
    /// The reported errno.
    pub(crate) errno: i32,
    /// How many bytes of the original datagram were copied into the buffer.
    pub(crate) len: usize,
}

/// One datagram read from the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Datagram {
    /// Its length (bytes in the buffer).
    pub(crate) len: usize,
    /// Who sent it.
    pub(crate) from: SocketAddr,
    /// When it reached the socket, as a monotonic instant. On Linux and Android: the instant
    /// it was read, less the time it waited in the socket queue as the kernel's receive
    /// timestamp tells. The realtime clock only measures that wait, and only a wait of at
    /// most `MAX_QUEUE_WAIT` (100 ms) is trusted, so a clock step can never make a reply
    /// look faster by more than that (and in practice not at all). Elsewhere: the instant
    /// it was read.
    pub(crate) received_at: Instant,
}

/// How long after a socket asks for receive timestamps they may be relied on: the kernel
/// turns stamping on for the whole system a moment after the first socket asks (deferred
/// work), and until then stamps a datagram when it is read.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const STAMPS_SETTLE: std::time::Duration = std::time::Duration::from_millis(20);

/// Longest time in the socket queue the receive timestamp may take off a round trip.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const MAX_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The monotonic instant a datagram arrived, from the instant and wall time it was read
/// and the kernel's (wall clock) arrival stamp. Only where the kernel stamps datagrams.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn arrival(
    read_at: Instant,
    read_wall: std::time::SystemTime,
    stamp: Option<std::time::SystemTime>,
) -> Instant {
    stamp
        .and_then(|stamp| read_wall.duration_since(stamp).ok())
        .filter(|wait| *wait <= MAX_QUEUE_WAIT)
        .and_then(|wait| read_at.checked_sub(wait))
        .unwrap_or(read_at)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::mem::{size_of, size_of_val, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;
    use std::ptr;

    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    use super::{Datagram, Family, QueuedError, SocketAddr, arrival, io};

    /// Turns on `SO_TIMESTAMPNS`: the kernel stamps each received datagram.
    pub(crate) fn enable_timestamps(socket: &socket2::Socket) -> io::Result<()> {
        setsockopt_on(socket, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS)
    }

    /// Whether the kernel stamps the socket's datagrams (`SO_TIMESTAMPNS` is on). The
    /// dedicated-thread driver may then read them late without changing their round trips.
    pub(crate) fn stamps_arrivals(socket: &impl AsRawFd) -> bool {
        let mut on: libc::c_int = 0;
        let mut len = libc::socklen_t::try_from(size_of::<libc::c_int>()).unwrap_or(0);
        // SAFETY: `on` and `len` are live and writable, and `len` is `on`'s size, as
        // getsockopt expects for an int option.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&raw mut on).cast(),
                &raw mut len,
            )
        };
        rc == 0 && on != 0
    }

    /// Turns on `IP_RECVERR` (or `IPV6_RECVERR`) for the socket.
    pub(crate) fn enable(socket: &socket2::Socket, family: Family) -> io::Result<()> {
        let (level, name) = match family {
            Family::V4 => (libc::SOL_IP, libc::IP_RECVERR),
            Family::V6 => (libc::SOL_IPV6, libc::IPV6_RECVERR),
        };
        setsockopt_on(socket, level, name)
    }

    /// Has the kernel drop every ICMP message but echo replies before they reach a raw ICMP
    /// socket (`ICMP_FILTER` / `ICMP6_FILTER`): on loopback it would otherwise read each echo
    /// request too, and on any host every ICMP message the host receives.
    pub(crate) fn only_echo_replies(socket: &socket2::Socket, family: Family) -> io::Result<()> {
        /// `ICMP_FILTER` (linux/icmp.h) and `ICMP6_FILTER` (linux/icmpv6.h): a bit set for
        /// each message type to drop.
        const ICMP_FILTER: libc::c_int = 1;
        const ICMP6_FILTER: libc::c_int = 1;
        match family {
            Family::V4 => {
                let drop_all_but_echo_reply: u32 = !(1 << 0);
                setsockopt_with(socket, libc::SOL_RAW, ICMP_FILTER, &drop_all_but_echo_reply)
            }
            Family::V6 => {
                let mut types = [u32::MAX; 8];
                types[129 / 32] &= !(1 << (129 % 32));
                setsockopt_with(socket, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &types)
            }
        }
    }

    fn setsockopt_on(
        socket: &socket2::Socket,
        level: libc::c_int,
        name: libc::c_int,
    ) -> io::Result<()> {
        let on: libc::c_int = 1;
        setsockopt_with(socket, level, name, &on)
    }

    fn setsockopt_with<T>(
        socket: &socket2::Socket,
        level: libc::c_int,
        name: libc::c_int,
        value: &T,
    ) -> io::Result<()> {
        // SAFETY: the fd is a valid open socket owned by `socket` for the whole call;
        // `value` is a live `T` and the length passed is exactly its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                ptr::from_ref(value).cast::<libc::c_void>(),
                socklen_of::<T>(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The size of a `T` as a `socklen_t` (an `i32` on 32-bit Android; every `T` here is a
    /// few hundred bytes at most).
    fn socklen_of<T>() -> libc::socklen_t {
        libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
    }

    /// What one `recvmsg` call returned.
    struct Message {
        /// Bytes received into the buffer.
        len: usize,
        /// The address in `msg_name`: the sender, or for the error queue the original
        /// datagram's destination.
        name: libc::sockaddr_storage,
        /// The control messages (u64 elements keep it aligned for cmsghdr): room for the ones
        /// asked for, a receive timestamp (32 bytes) and an extended error with its offender's
        /// address (at most 64), zeroed and copied on every read.
        control: [u64; CONTROL_WORDS],
        /// How many bytes of `control` the kernel filled.
        control_len: usize,
    }

    /// The size of a read's room for control messages, in u64s (128 bytes).
    const CONTROL_WORDS: usize = 16;

    /// One `recvmsg` into `buf` with `flags`, with room for the address and control messages.
    fn recv_msg(socket: &impl AsRawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<Message> {
        // SAFETY: all-zero bytes are a valid value for these plain C structs.
        let mut name: libc::sockaddr_storage = unsafe { zeroed() };
        let mut control = [0u64; CONTROL_WORDS];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = ptr::from_mut(&mut name).cast();
        msg.msg_namelen = socklen_of::<libc::sockaddr_storage>();
        msg.msg_iov = ptr::from_mut(&mut iov);
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` points to a live local (`name`, `iov` and through it
        // `buf`, `control`) whose size is the length given next to it; they outlive the call.
        let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Message {
            len: (n as usize).min(buf.len()),
            name,
            control,
            control_len: (msg.msg_controllen as usize).min(size_of_val(&control)),
        })
    }

    /// The data of the last control message in the first `control_len` bytes of `control`
    /// for which `wanted(level, type)` holds, read as a `T`.
    ///
    /// # Safety
    ///
    /// `control_len` bytes of `control` were filled by the kernel, and for every (level, type)
    /// that `wanted` accepts, the kernel places a `T` in the control message's data.
    unsafe fn last_cmsg<T>(
        control: &[u64],
        control_len: usize,
        wanted: impl Fn(libc::c_int, libc::c_int) -> bool,
    ) -> Option<T> {
        // SAFETY: all-zero bytes are a valid value for this plain C struct.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_control = control.as_ptr().cast_mut().cast();
        msg.msg_controllen = control_len.min(size_of_val(control)) as _;
        let mut found = None;
        // SAFETY: `msg_control`/`msg_controllen` describe the part of `control` the kernel
        // filled; CMSG_FIRSTHDR/CMSG_NXTHDR only walk within it, and return null at
        // its end. Nothing is written through the pointer.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
        while !cmsg.is_null() {
            // SAFETY: `cmsg` is non-null and points into `control`, checked by the CMSG
            // macros.
            let (level, kind) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type) };
            if wanted(level, kind) {
                // SAFETY: the caller guarantees the data is a `T`; read_unaligned copes
                // with any alignment of CMSG_DATA.
                found = Some(unsafe { ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<T>()) });
            }
            // SAFETY: as for CMSG_FIRSTHDR.
            cmsg = unsafe { libc::CMSG_NXTHDR(&raw const msg, cmsg) };
        }
        found
    }

    /// Reads one datagram without blocking (`WouldBlock` when there is none), with its
    /// arrival instant corrected by the kernel's receive timestamp when there is one.
    pub(crate) fn recv(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Datagram> {
        let msg = recv_msg(socket, buf, libc::MSG_DONTWAIT)?;
        let read_at = Instant::now();
        let read_wall = SystemTime::now();
        datagram(
            msg.len,
            &msg.name,
            &msg.control[..],
            msg.control_len,
            (read_at, read_wall),
        )
    }

    /// A datagram `len` bytes long from `name`, read at `read` (monotonic and wall clock),
    /// with the control messages in the first `control_len` bytes of `control` (the kernel's).
    fn datagram(
        len: usize,
        name: &libc::sockaddr_storage,
        control: &[u64],
        control_len: usize,
        (read_at, read_wall): (Instant, SystemTime),
    ) -> io::Result<Datagram> {
        // SAFETY: the kernel filled `control_len` bytes of `control`, and for SCM_TIMESTAMPNS
        // it places a `timespec` in the data.
        let ts = unsafe {
            last_cmsg::<libc::timespec>(control, control_len, |level, kind| {
                level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS
            })
        };
        let stamp = ts.and_then(|ts| {
            let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec))
            else {
                return None;
            };
            UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
        });
        let from = socket_addr(name)
            .ok_or_else(|| io::Error::other("datagram from an unknown address family"))?;
        Ok(Datagram {
            len,
            from,
            received_at: arrival(read_at, read_wall, stamp),
        })
    }

    /// The most datagrams one [`recv_batch`] reads.
    pub(crate) const BATCH: usize = 32;

    /// Room for the datagrams of one [`recv_batch`], kept from read to read.
    pub(crate) struct Batch {
        /// [`BATCH`] slots of `slot` bytes each.
        data: Vec<u8>,
        slot: usize,
        names: Vec<libc::sockaddr_storage>,
        control: Vec<[u64; CONTROL_WORDS]>,
        /// The last read's datagrams: (bytes received, bytes of control messages).
        lens: [(usize, usize); BATCH],
        /// When the last read returned (monotonic and wall clock).
        read: (Instant, SystemTime),
    }

    impl Batch {
        /// Room for [`BATCH`] datagrams of up to `slot` bytes each (a longer one is cut).
        pub(crate) fn new(slot: usize) -> Self {
            let slot = slot.max(1);
            Self {
                data: vec![0; BATCH * slot],
                slot,
                // SAFETY: all-zero bytes are a valid value for this plain C struct.
                names: vec![unsafe { zeroed() }; BATCH],
                control: vec![[0; CONTROL_WORDS]; BATCH],
                lens: [(0, 0); BATCH],
                read: (Instant::now(), SystemTime::now()),
            }
        }

        /// The `i`th datagram of the last read (below what it returned), and its bytes.
        pub(crate) fn get(&self, i: usize) -> (io::Result<Datagram>, &[u8]) {
            let (len, control_len) = self.lens[i];
            let data = &self.data[i * self.slot..][..len];
            let datagram = datagram(
                len,
                &self.names[i],
                &self.control[i][..],
                control_len,
                self.read,
            );
            (datagram, data)
        }
    }

    /// Reads up to [`BATCH`] datagrams without blocking, in one system call (`recvmmsg`), and
    /// returns how many (`WouldBlock` when there is none); [`Batch::get`] gives each.
    pub(crate) fn recv_batch(socket: &impl AsRawFd, batch: &mut Batch) -> io::Result<usize> {
        // SAFETY: all-zero bytes are a valid value for these plain C structs.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let slots = batch.data.chunks_exact_mut(batch.slot);
        let rooms = slots.zip(&mut batch.names).zip(&mut batch.control);
        for ((iov, header), ((data, name), control)) in iovs.iter_mut().zip(&mut headers).zip(rooms)
        {
            iov.iov_base = data.as_mut_ptr().cast();
            iov.iov_len = data.len();
            let msg = &mut header.msg_hdr;
            msg.msg_name = ptr::from_mut(name).cast();
            msg.msg_namelen = socklen_of::<libc::sockaddr_storage>();
            msg.msg_iov = ptr::from_mut(iov);
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = size_of_val(control) as _;
        }
        // SAFETY: each header points to its own iovec, name and control room in `batch`
        // (and through the iovec to its own slot), with the sizes given beside them; all
        // live and not otherwise borrowed during the call. No timeout pointer.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        batch.read = (Instant::now(), SystemTime::now());
        let n = (n as usize).min(BATCH);
        for (lens, header) in batch.lens.iter_mut().zip(&headers).take(n) {
            let msg = header.msg_hdr;
            *lens = (
                (header.msg_len as usize).min(batch.slot),
                msg.msg_controllen.min(size_of::<[u64; CONTROL_WORDS]>()),
            );
        }
        Ok(n)
    }

    /// Reads one entry of the error queue without blocking (`WouldBlock` when it is empty).
    pub(crate) fn recv_error(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<QueuedError> {
        let msg = recv_msg(socket, buf, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT)?;
        // SAFETY: the kernel filled `control_len` bytes of `control`, and for IP(V6)_RECVERR it
        // places a `sock_extended_err` in the data.
        let ee = unsafe {
            last_cmsg::<libc::sock_extended_err>(&msg.control, msg.control_len, |level, kind| {
                (level == libc::SOL_IP && kind == libc::IP_RECVERR)
                    || (level == libc::SOL_IPV6 && kind == libc::IPV6_RECVERR)
            })
        };
        let (refused, errno) = ee.map_or((false, 0), |ee| {
            let errno = i32::try_from(ee.ee_errno).unwrap_or(i32::MAX);
            let from_icmp =
                ee.ee_origin == libc::SO_EE_ORIGIN_ICMP || ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6;
            (from_icmp && errno == libc::ECONNREFUSED, errno)
        });
        Ok(QueuedError {
            dest: socket_addr(&msg.name),
            refused,
            errno,
            len: msg.len,
        })
    }

    fn socket_addr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match i32::from(name.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, which fits in it.
                let sin: libc::sockaddr_in = unsafe { ptr::read(ptr::from_ref(name).cast()) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6, which fits in it.
                let sin6: libc::sockaddr_in6 = unsafe { ptr::read(ptr::from_ref(name).cast()) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use std::time::Instant;

    use tokio::net::UdpSocket;

    use super::{Datagram, Family, QueuedError, io};

    /// No kernel receive timestamps here: the read instant is used.
    pub(crate) fn enable_timestamps(_socket: &socket2::Socket) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no receive timestamps on this platform",
        ))
    }

    /// Reads one datagram without blocking.
    pub(crate) fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
        let (len, from) = socket.try_recv_from(buf)?;
        Ok(Datagram {
            len,
            from,
            received_at: Instant::now(),
        })
    }

    /// No ICMP filter here: the driver drops other messages itself.
    #[cfg(not(windows))] // Windows opens no ICMP socket.
    pub(crate) fn only_echo_replies(_socket: &socket2::Socket, _family: Family) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no ICMP filter on this platform",
        ))
    }

    /// The error queue is Linux-only; elsewhere port unreachable shows as timeouts.
    pub(crate) fn enable(_socket: &socket2::Socket, _family: Family) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no socket error queue on this platform",
        ))
    }

    /// Always `WouldBlock`: nothing is ever queued.
    pub(crate) fn recv_error(_socket: &UdpSocket, _buf: &mut [u8]) -> io::Result<QueuedError> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

#[cfg(not(windows))] // Windows opens no ICMP socket.
pub(crate) use imp::only_echo_replies;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use imp::{BATCH, Batch, recv_batch, stamps_arrivals};
pub(crate) use imp::{enable, enable_timestamps, recv, recv_error};

/// Stops Windows from reporting an ICMP port unreachable as `WSAECONNRESET` on the next
/// receive of the socket (`SIO_UDP_CONNRESET` off), which would say neither which probe nor
/// which beacon it was about. See the module documentation.
#[cfg(windows)]
pub(crate) fn ignore_port_unreachable(socket: &socket2::Socket) -> io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{SIO_UDP_CONNRESET, SOCKET_ERROR, WSAIoctl};

    let report: u32 = 0; // a BOOL: FALSE
    let mut returned: u32 = 0;
    // SAFETY: the socket handle is valid and owned by `socket` for the whole call; the input
    // buffer is a live 4-byte BOOL whose size is passed with it; there is no output buffer
    // (null, length 0); `returned` is a live u32; a null OVERLAPPED and completion routine
    // make the call synchronous, so no pointer is kept after it returns.
    let rc = unsafe {
        WSAIoctl(
            socket.as_raw_socket() as usize,
            SIO_UDP_CONNRESET,
            std::ptr::from_ref(&report).cast(),
            std::mem::size_of::<u32>() as u32,
            std::ptr::null_mut(),
            0,
            &raw mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Whether a failed receive on a UDP socket is about an earlier datagram (an ICMP error
/// reported the Windows way: `WSAECONNRESET` for port unreachable, `WSAENETRESET` for time
/// to live exceeded) rather than about the socket: the receive loop skips it and reads on.
pub(crate) fn is_stale_datagram_error(e: &io::Error) -> bool {
    #[cfg(windows)]
    if e.raw_os_error() == Some(windows_sys::Win32::Networking::WinSock::WSAENETRESET) {
        return true;
    }
    e.kind() == io::ErrorKind::ConnectionReset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_is_about_an_earlier_datagram_other_errors_are_not() {
        assert!(is_stale_datagram_error(
            &io::ErrorKind::ConnectionReset.into()
        ));
        assert!(!is_stale_datagram_error(&io::ErrorKind::WouldBlock.into()));
        assert!(!is_stale_datagram_error(
            &io::ErrorKind::ConnectionRefused.into()
        ));
        #[cfg(windows)]
        {
            use windows_sys::Win32::Networking::WinSock::{WSAECONNRESET, WSAENETRESET};
            assert!(is_stale_datagram_error(&io::Error::from_raw_os_error(
                WSAECONNRESET
            )));
            assert!(is_stale_datagram_error(&io::Error::from_raw_os_error(
                WSAENETRESET
            )));
        }
    }

    #[cfg(windows)]
    #[test]
    fn windows_udp_sockets_do_not_report_port_unreachable_as_a_reset() {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .unwrap();
        ignore_port_unreachable(&socket).expect("WSAIoctl(SIO_UDP_CONNRESET, FALSE)");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_socket_stamps_arrivals_once_timestamps_are_on() {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .unwrap();
        assert!(!stamps_arrivals(&socket));
        enable_timestamps(&socket).unwrap();
        assert!(stamps_arrivals(&socket));
    }

    /// What the dedicated-thread driver relies on to read late: a datagram read long after it
    /// came keeps its arrival instant, a read takes at most a batch, and a datagram longer
    /// than its slot is cut to it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_batch_read_late_keeps_each_arrival_and_takes_at_most_a_batch() {
        use std::net::UdpSocket;
        use std::time::Duration;

        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        enable_timestamps(&socket2::SockRef::from(&rx)).unwrap();
        // The kernel turns stamping on for the whole system a moment after the first socket
        // asks (deferred work); until then a datagram is stamped when it is read.
        std::thread::sleep(STAMPS_SETTLE);
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let sent = Instant::now();
        let count = BATCH + 2;
        for i in 0..count {
            let len = if i == 0 { 40 } else { 3 };
            tx.send_to(&vec![u8::try_from(i).unwrap(); len], to)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut batch = Batch::new(16);
        let mut seen = 0;
        for expected in [BATCH, count - BATCH] {
            assert_eq!(recv_batch(&rx, &mut batch).unwrap(), expected);
            let read = Instant::now();
            for i in 0..expected {
                let (datagram, data) = batch.get(i);
                let datagram = datagram.unwrap();
                let byte = u8::try_from(seen).unwrap();
                let len = if seen == 0 { 16 } else { 3 };
                assert_eq!(data, &vec![byte; len][..], "datagram {seen}");
                assert_eq!(datagram.len, len);
                assert_eq!(datagram.from, tx.local_addr().unwrap());
                // It came at once and waited 50 ms to be read: its arrival says so.
                let late = read.duration_since(datagram.received_at);
                assert!(
                    late >= Duration::from_millis(45),
                    "datagram {seen} read {late:?} after"
                );
                assert!(datagram.received_at + Duration::from_millis(5) >= sent);
                seen += 1;
            }
        }
        let empty = recv_batch(&rx, &mut batch).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_queue_wait_is_taken_off_only_when_plausible() {
        use std::time::{Duration, UNIX_EPOCH};

        let read_at = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ms = Duration::from_millis;
        assert_eq!(
            arrival(read_at, wall, Some(wall - ms(3))),
            read_at.checked_sub(ms(3)).unwrap()
        );
        assert_eq!(arrival(read_at, wall, None), read_at);
        // A stamp in the future (clock stepped back) or too old (clock stepped forward,
        // or a stamp we cannot trust): no correction, the round trip can only look slower.
        assert_eq!(arrival(read_at, wall, Some(wall + ms(3))), read_at);
        assert_eq!(arrival(read_at, wall, Some(wall - ms(500))), read_at);
    }
}
