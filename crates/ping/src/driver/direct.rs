//! The dedicated-thread driver (Linux, Android): a run whose targets are all addresses probed
//! over UDP or ICMP is driven from a thread of its own, which waits for its sockets and its
//! next deadline in one `ppoll` ([`EngineConfig::dedicated_thread`]).
//!
//! On the runtime, every send and every reply wakes the engine's task through the reactor:
//! the reactor's turn, the task's wake-up, a poll of every branch of its loop, a `timerfd` to
//! arm for the next deadline. Here a wait that ends with a socket readable reads what it holds
//! in batches (`recvmmsg`, 32 datagrams a call: a short batch says the socket is empty).
//!
//! A busy run reads late ([`READ_LATE`]): when every socket stamps its datagrams' arrival and
//! the next send is at most 2 ms away, the thread sleeps through the replies (a plain
//! `nanosleep`, no descriptor to watch) and reads them every 2 ms (or every half event
//! period), each timed by its kernel stamp. A busy probe on loopback then costs the sleep that
//! ends at its send time, its `sendto` and a share of a batched read, where one read at once
//! costs four system calls; and a reply on a real network does not wake the thread.
//!
//! The caller's side is unchanged: events arrive on the run's channel (batched as
//! [`EngineConfig::forward_every`] asks), commands go through [`RunControl`], which also
//! writes the thread's `eventfd` so that a wait ends at once for them and for a cancel.
//!
//! [`EngineConfig::dedicated_thread`]: crate::EngineConfig::dedicated_thread
//! [`EngineConfig::forward_every`]: crate::EngineConfig::forward_every
//! [`RunControl`]: super::RunControl

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::icmp::{self, IcmpSocket};
use super::poll::{self, Wake};
use super::{
    Command, Ended, Read, Sink, apply, echo_packet, family_slot, next_wake, sys, take_datagram,
    take_echo, take_queued_error, timer, udp_packet,
};
use crate::machine::{Channel, Family, Machine, Transmit};
use crate::types::{Host, TargetSpec};
use edgegap_core::Unreachable;

/// How long a send waits for room in a full socket buffer before the probe counts as failed.
const SEND_ROOM_WAIT: Duration = Duration::from_millis(10);

/// Replies are read late, when every socket of the run stamps its datagrams' arrival: a reply
/// is timed by the kernel's stamp, so its round trip is the same as if it had been read at
/// once. A wait that ends within this (the next send of a paced run, mostly) is not ended by
/// a reply, and the sockets are read at the end of such a wait only when they were last read
/// this long ago (or half the run's event period, up to [`MAX_READ_EVERY`], when events wait
/// for it anyway), [`MAX_SENDS_UNREAD`] probes ago, or when a probe would otherwise time out
/// (or a command came). A busy run then wakes once per send, not once per send and once per
/// reply, and reads its replies in batches; without an event period, a reply reaches the
/// core at most twice this after it arrived.
const READ_LATE: Duration = Duration::from_millis(2);

/// The most probes sent between two reads while reading late: their replies wait in the
/// socket's buffer (1 MiB: room for a thousand and more) until the next read.
const MAX_SENDS_UNREAD: u32 = 64;

/// The longest time between two reads while reading late, whatever the event period: well
/// within the core's [`crate::machine::UNREAD_GRACE`] and the longest wait the kernel's
/// stamp may take off a round trip (`sys::MAX_QUEUE_WAIT`).
const MAX_READ_EVERY: Duration = Duration::from_millis(50);
const _: () = assert!(
    MAX_READ_EVERY.as_nanos() + READ_LATE.as_nanos() <= crate::machine::UNREAD_GRACE.as_nanos()
        && MAX_READ_EVERY.as_nanos() + READ_LATE.as_nanos() <= sys::MAX_QUEUE_WAIT.as_nanos()
);

/// The most reads of [`sys::BATCH`] datagrams a socket gets after such a wait; what is left
/// is read next time.
const MAX_BATCHES_PER_WAKE: usize = 128;

/// Room beyond the payload in each datagram slot of a batched read: an IPv4 header with
/// options (60 bytes) and an ICMP header (8) in front of an echo's data.
const SLOT_HEADROOM: usize = 128;

/// The most targets a run whose events go to a channel may have here. A run's events come in
/// bursts as long as its list (a `Resolved` per target at the start, a `Done` per target at a
/// cancel or the deadline). On the runtime the reader takes each batch before the engine goes
/// on; from another thread they would all wait in the channel at once, a few hundred bytes
/// each. Up to this many that is under a megabyte; a longer list stays on the runtime, where
/// its memory stays under a kilobyte per target (`benches/scale.sh`). An observer takes every
/// batch where it is made: no limit then.
const MAX_CHANNEL_TARGETS: usize = 4096;

/// Whether this driver can take the run: it is asked to, the list is not too long for its
/// sink, and no target has a name to resolve or probes over TCP (both need the runtime).
pub(crate) fn suits(targets: &[TargetSpec], machine: &Machine, sink: &Sink) -> bool {
    machine.config().dedicated_thread
        && (matches!(sink, Sink::Observer { .. }) || targets.len() <= MAX_CHANNEL_TARGETS)
        && targets.iter().all(|t| matches!(t.host, Host::Ip(_)))
        && (0..machine.len()).all(|i| !matches!(machine.channel(i), Some(Channel::Tcp(_))))
}

/// What the driver is made of.
pub(crate) struct Parts {
    pub(crate) machine: Machine,
    /// The UDP sockets (V4, V6), or why they did not open.
    pub(crate) udp: [io::Result<UdpSocket>; 2],
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) sink: Sink,
    pub(crate) token: CancellationToken,
    /// Written by the run's [`super::RunControl`] after a command or a cancel.
    pub(crate) wake: Arc<Wake>,
}

/// The driver: everything its thread owns.
pub(crate) struct Direct {
    machine: Machine,
    udp: [Result<UdpSocket, String>; 2],
    /// Whether a UDP probe was sent (from then on the UDP sockets are watched).
    udp_sent: bool,
    /// The ICMP sockets (V4, V6), opened for the first target that needs one.
    icmp: [Option<Result<IcmpSocket<UdpSocket>, Unreachable>>; 2],
    /// The echo identifier of the run's raw ICMP sockets.
    icmp_ident: u16,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Where the events go.
    sink: Sink,
    token: CancellationToken,
    cancelled: bool,
    wake: Arc<Wake>,
    /// The probe being sent, reused for every probe.
    packet: Vec<u8>,
    /// Since when events are held back ([`crate::EngineConfig::forward_every`]).
    held_since: Option<Instant>,
    /// From when replies may be read late ([`READ_LATE`]): [`sys::STAMPS_SETTLE`] after the
    /// run's sockets opened, when every one of them stamps its datagrams' arrival; `None`
    /// when one does not (set when the run starts).
    read_late_from: Option<Instant>,
    /// When the sockets were last read.
    last_read: Instant,
    /// Probes sent since then.
    sent_unread: u32,
    /// How often replies are read while reading late: [`READ_LATE`], or half the period events
    /// are handed over at ([`crate::EngineConfig::forward_every`]) when that is longer (they
    /// would wait for it anyway).
    read_every: Duration,
    /// Room for the datagrams of one batched read (after a wait that read late).
    batch: sys::Batch,
}

/// What a polled descriptor is.
#[derive(Debug, Clone, Copy)]
enum Source {
    Wake,
    Udp(Family),
    Icmp(Family),
}

impl Direct {
    pub(crate) fn new(parts: Parts) -> Self {
        let parts_payload = parts.machine.config().payload_size;
        let parts_forward_every = parts.machine.config().forward_every;
        let [udp4, udp6] = parts.udp;
        Self {
            machine: parts.machine,
            udp: [udp4, udp6].map(|s| s.map_err(|e| e.to_string())),
            udp_sent: false,
            icmp: [None, None],
            icmp_ident: rand::random::<u16>(),
            commands: parts.commands,
            sink: parts.sink,
            token: parts.token,
            cancelled: false,
            wake: parts.wake,
            packet: Vec::new(),
            held_since: None,
            read_late_from: None,
            last_read: Instant::now(),
            sent_unread: 0,
            read_every: parts_forward_every.map_or(READ_LATE, |every| {
                (every / 2).clamp(READ_LATE, MAX_READ_EVERY)
            }),
            batch: sys::Batch::new(parts_payload + SLOT_HEADROOM),
        }
    }

    /// Runs to the end (every target done, cancelled, or the deadline) on the calling thread.
    pub(crate) fn run(mut self) -> Ended {
        for index in 0..self.machine.len() {
            self.check_channel(index);
        }
        // The ICMP sockets opened just now: their stamps settle from now.
        let stamped = self.udp.iter().flatten().all(sys::stamps_arrivals)
            && (self.icmp.iter().flatten().flatten())
                .all(|icmp| sys::stamps_arrivals(&icmp.socket));
        self.read_late_from = stamped.then(|| Instant::now() + sys::STAMPS_SETTLE);
        // What came before the thread started (a wake written then also ends the first wait).
        self.take_commands();
        let mut buf = vec![0u8; 65_536];
        let mut looked = Instant::now();
        loop {
            self.machine.handle_timeout(looked);
            // A probe's send time is read just before it goes: the timeouts handled above
            // (first thing after a sleep, on cold caches: microseconds) would otherwise count
            // in its round trip. `transmit` reads the clock again after each send.
            let now = self.transmit(Instant::now());
            let now = self.forward_events(now);
            if self.machine.is_finished() {
                break;
            }
            let wake = next_wake(&self.machine, self.held_since, self.sink.next_look());
            looked = self.wait(now, wake, &mut buf);
        }
        self.forward_events(Instant::now());
        Ended {
            machine: self.machine,
            at: Instant::now(),
            sink: self.sink,
        }
    }

    /// Waits for a socket, a wake or `until` (`now` is the pass's latest clock reading), takes
    /// what came, and returns the instant it did (what the core's timeouts are handled at:
    /// no reply that came before it is left unread when one would time out).
    fn wait(&mut self, now: Instant, until: Option<Instant>, buf: &mut [u8]) -> Instant {
        let mut fds = [poll::readable(self.wake.raw()); 5];
        let mut sources = [Source::Wake; 5];
        let mut n = 1;
        for family in [Family::V4, Family::V6] {
            let slot = family_slot(family);
            if self.udp_sent
                && let Ok(socket) = &self.udp[slot]
            {
                fds[n] = poll::readable(socket.as_raw_fd());
                sources[n] = Source::Udp(family);
                n += 1;
            }
            if let Some(Ok(icmp)) = &self.icmp[slot] {
                fds[n] = poll::readable(icmp.socket.as_raw_fd());
                sources[n] = Source::Icmp(family);
                n += 1;
            }
        }
        // A wait too short to sleep through cheaply is spent polling without sleeping, as the
        // runtime's driver spends it yielding (`timer::YIELD_BELOW`).
        let timeout = until.map(|at| {
            let left = at.saturating_duration_since(now);
            if left < timer::YIELD_BELOW {
                Duration::ZERO
            } else {
                left
            }
        });
        // A short sleep is not ended by a reply (see `READ_LATE`), nor by a command (it waits
        // at most as long): it watches nothing.
        let read_late = n > 1
            && timeout.is_some_and(|t| !t.is_zero() && t <= READ_LATE)
            && self.read_late_from.is_some_and(|from| now >= from);
        if read_late {
            std::thread::sleep(timeout.unwrap_or_default());
            return self.after_late_sleep(&sources[1..n], buf);
        }
        if let Err(e) = poll::wait(&mut fds[..n], timeout) {
            // Not expected (the descriptors are ours and open): sleep instead, so the run still
            // keeps its schedule and its deadline.
            debug!(error = %e, "ppoll failed");
            std::thread::sleep(timeout.unwrap_or(SEND_ROOM_WAIT).min(SEND_ROOM_WAIT));
        }
        // What came before a command or a cancel is read first, as after a late sleep.
        for (fd, source) in fds[1..n].iter().zip(&sources[1..n]) {
            if fd.revents & libc::POLLIN != 0 {
                self.read_all(*source, buf);
            }
            if let Source::Udp(family) = *source
                && fd.revents & libc::POLLERR != 0
                && let Ok(socket) = &self.udp[family_slot(family)]
            {
                drain_errors(&mut self.machine, family, socket, buf);
            }
        }
        self.take_wake(fds[0].revents != 0 || self.wake.pending());
        let now = Instant::now();
        self.read_at(now);
        now
    }

    /// The cancel and the commands are looked at only when the wake says something came
    /// (`signalled`): `RunControl` signals it after each (no lock or channel touched on other
    /// passes).
    fn take_wake(&mut self, signalled: bool) {
        if signalled {
            self.wake.clear();
            self.take_commands();
        }
    }

    /// The sockets were read to empty at `now`.
    fn read_at(&mut self, now: Instant) {
        self.last_read = now;
        self.sent_unread = 0;
    }

    /// After a sleep that watched nothing: reads the sockets (`sources`) to empty if they were
    /// last read `read_every` or [`MAX_SENDS_UNREAD`] probes ago, or if a probe would time out
    /// or a command came (what came before a cancel counts); then takes the commands. Returns
    /// the instant it looked.
    fn after_late_sleep(&mut self, sources: &[Source], buf: &mut [u8]) -> Instant {
        let now = Instant::now();
        let signalled = self.wake.pending();
        if signalled
            || self.sent_unread >= MAX_SENDS_UNREAD
            || now.saturating_duration_since(self.last_read) >= self.read_every
            || self.machine.expires_by(now)
        {
            for source in sources {
                self.read_all(*source, buf);
            }
            self.read_at(now);
        }
        self.take_wake(signalled);
        now
    }

    /// The cancel and the commands that came since the last look.
    fn take_commands(&mut self) {
        if !self.cancelled && self.token.is_cancelled() {
            self.cancelled = true;
            self.machine.cancel(Instant::now());
        }
        while let Ok(command) = self.commands.try_recv() {
            apply(&mut self.machine, command);
        }
    }

    /// Reads a socket until it is empty (or [`MAX_BATCHES_PER_WAKE`] reads), in batches of
    /// [`sys::BATCH`] datagrams (one system call each), and a UDP socket's error queue when it
    /// has entries (`buf` is room for them).
    fn read_all(&mut self, source: Source, buf: &mut [u8]) {
        for _ in 0..MAX_BATCHES_PER_WAKE {
            let read = match source {
                Source::Udp(family) => {
                    let Ok(socket) = &self.udp[family_slot(family)] else {
                        return;
                    };
                    match sys::recv_batch(socket, &mut self.batch) {
                        Ok(n) => {
                            for i in 0..n {
                                let (datagram, data) = self.batch.get(i);
                                take_datagram(&mut self.machine, family, datagram, data);
                            }
                            Ok(n)
                        }
                        Err(e) => match take_datagram(&mut self.machine, family, Err(e), buf) {
                            Read::ErrorQueue => {
                                drain_errors(&mut self.machine, family, socket, buf);
                                Err(Read::Again)
                            }
                            read => Err(read),
                        },
                    }
                }
                Source::Icmp(family) => {
                    let Some(Ok(icmp)) = &self.icmp[family_slot(family)] else {
                        return;
                    };
                    match sys::recv_batch(&icmp.socket, &mut self.batch) {
                        Ok(n) => {
                            for i in 0..n {
                                let (datagram, data) = self.batch.get(i);
                                take_echo(&mut self.machine, icmp, datagram, data);
                            }
                            Ok(n)
                        }
                        Err(e) => Err(take_echo(&mut self.machine, icmp, Err(e), buf)),
                    }
                }
                Source::Wake => return,
            };
            match read {
                // A short batch: the socket is empty.
                Ok(n) if n < sys::BATCH => return,
                Err(Read::Done) => return,
                Ok(_) | Err(_) => {}
            }
        }
    }

    /// Sends every probe the core wants at `now` (pacing lets at most one out per `min_gap`),
    /// and returns the instant after the last send.
    fn transmit(&mut self, mut now: Instant) -> Instant {
        while let Some(tx) = self.machine.poll_transmit(now) {
            self.send(&tx);
            self.sent_unread = self.sent_unread.saturating_add(1);
            now = Instant::now();
        }
        now
    }

    fn send(&mut self, tx: &Transmit) {
        let failed = match tx.key.channel {
            Channel::Udp(family) => {
                let Ok(socket) = &self.udp[family_slot(family)] else {
                    return;
                };
                self.udp_sent = true;
                udp_packet(&self.machine, tx, &mut self.packet);
                let sent = with_room(socket, || socket.send_to(&self.packet, tx.dest).map(drop));
                sent.err().map(|e| {
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        // A port unreachable for an earlier probe surfaced here.
                        drain_errors(&mut self.machine, family, socket, &mut [0u8; 2048]);
                    }
                    format!("UDP send to {}: {e}", tx.dest)
                })
            }
            Channel::Icmp(family) => {
                let Some(Ok(icmp)) = &self.icmp[family_slot(family)] else {
                    return;
                };
                let seq = echo_packet(&self.machine, tx, &mut self.packet);
                let packet = &mut self.packet;
                let sent = with_room(&icmp.socket, || icmp.send_now(tx.dest.ip(), seq, packet));
                sent.err()
                    .map(|e| format!("ICMP echo to {}: {e}", tx.dest.ip()))
            }
            // `suits` keeps TCP targets on the runtime.
            Channel::Tcp(_) => Some("TCP probes are not sent by this driver".to_owned()),
        };
        if let Some(error) = failed {
            self.machine.on_send_failed(Instant::now(), tx.key, error);
        }
    }

    /// Ends a target at once when its channel cannot work (see [`super::check_channel`]).
    fn check_channel(&mut self, index: usize) {
        let ident = self.icmp_ident;
        let [udp4, udp6] = &self.udp;
        super::check_channel(
            &mut self.machine,
            index,
            [udp4.as_ref().err(), udp6.as_ref().err()],
            &mut self.icmp,
            |family| icmp::open_plain(family, ident),
        );
    }

    /// Hands the core's events over, unless they are held back (see [`Sink::forward`]), and
    /// returns the instant after: read afresh when an observer was called, which takes time.
    fn forward_events(&mut self, now: Instant) -> Instant {
        let forwarded = self
            .sink
            .forward(&mut self.machine, &mut self.held_since, usize::MAX, now);
        if forwarded.observed {
            Instant::now()
        } else {
            now
        }
    }
}

/// Runs `send`; if the socket's buffer is full, waits up to [`SEND_ROOM_WAIT`] for room and
/// tries once more.
fn with_room(socket: &UdpSocket, mut send: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    match send() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let mut fds = [libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            }];
            poll::wait(&mut fds, Some(SEND_ROOM_WAIT))?;
            send()
        }
        other => other,
    }
}

/// Reads a UDP socket's error queue until it is empty.
fn drain_errors(machine: &mut Machine, family: Family, socket: &UdpSocket, buf: &mut [u8]) {
    loop {
        let entry = sys::recv_error(socket, buf);
        if take_queued_error(machine, family, entry, buf) == Read::Done {
            return;
        }
    }
}
