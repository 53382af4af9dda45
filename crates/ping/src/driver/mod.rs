//! The tokio driver: moves bytes between the sockets and the sans-I/O core, and
//! sleeps until the core's next deadline. No probe logic lives here.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod direct;
mod icmp;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod poll;
mod run;
mod sink;
mod sys;
mod tcp;
mod timer;
mod udp;

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::config::EngineConfig;
use crate::error::EngineError;
pub use run::{Finished, ObservedRun, Run, RunControl};

use std::marker::PhantomData;

use crate::machine::{Channel, Family, Machine, ProbeKey, Transmit};
use crate::observe::Observer;
use crate::payload;
use crate::types::{Host, Ports, TargetId, TargetSpec};
use edgegap_core::Unreachable;
use run::{Ended, Launched};
use sink::Sink;

/// Events handed to the reader between two yields (below tokio's budget of 128 operations per
/// poll, so a reader on the same thread empties the channel before the engine runs again).
const FORWARD_BATCH: usize = 64;

/// What the helper tasks (name lookups, TCP connects) report back.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A name lookup finished.
    Resolved {
        index: usize,
        result: Result<Vec<IpAddr>, String>,
    },
    /// A TCP probe was answered after `rtt`.
    Reply { key: ProbeKey, rtt: Duration },
    /// A TCP probe was refused.
    Refused { key: ProbeKey },
    /// A probe could not be sent.
    Failed { key: ProbeKey, error: String },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    Stop(TargetId),
    Extend {
        id: TargetId,
        more: u32,
        not_before: Option<Instant>,
    },
    Release(TargetId),
}

/// Starts a run on the current tokio runtime (it must be called from within one).
///
/// Errors only when the run as a whole cannot start: no runtime, an unusable
/// configuration, duplicate target ids, or no UDP socket could be opened at all.
/// Per-target problems (a name that does not resolve, a missing port, ICMP not
/// permitted) are that target's outcome, reported in its `Done` event.
pub fn start(targets: Vec<TargetSpec>, config: EngineConfig) -> Result<Run, EngineError> {
    let (events_tx, events) = mpsc::unbounded_channel();
    let launched = launch(targets, config, Sink::Channel(Some(events_tx)))?;
    Ok(Run { events, launched })
}

/// Starts a run like [`start`], whose events go to `observer` instead of a channel: the engine
/// calls it with each batch, where and when it hands events over, and carries out what it
/// asks at once (see [`Observer`]). A controller that only looks at the events to steer the
/// run saves a wake-up of its own per batch this way.
///
/// # Errors
/// As [`start`].
pub fn start_observed<O: Observer>(
    targets: Vec<TargetSpec>,
    config: EngineConfig,
    observer: O,
) -> Result<ObservedRun<O>, EngineError> {
    let launched = launch(targets, config, Sink::observer(Box::new(observer)))?;
    Ok(ObservedRun {
        launched,
        observer: PhantomData,
    })
}

/// Starts the run's driver: its own thread where it suits (`direct.rs`), a task on the runtime
/// otherwise.
// The contract takes the list by value, so callers need not keep it alive.
#[allow(clippy::needless_pass_by_value)]
fn launch(
    targets: Vec<TargetSpec>,
    config: EngineConfig,
    sink: Sink,
) -> Result<Launched, EngineError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
    config.validate()?;
    let mut ids = HashSet::with_capacity(targets.len());
    if let Some(dup) = targets.iter().find(|t| !ids.insert(t.id)) {
        return Err(EngineError::DuplicateTarget(dup.id));
    }
    let udp4 = udp::open(Family::V4);
    let udp6 = udp::open(Family::V6);
    let (udp4, udp6) = match (udp4, udp6) {
        (Err(v4), Err(v6)) => return Err(EngineError::NoSocket { v4, v6 }),
        pair => pair,
    };
    let nonce = rand::random::<u64>();
    // rand's thread generator is a CSPRNG (ChaCha12) seeded from the operating system: the
    // 256-bit seed of the per-probe secrets cannot be guessed from anything on the wire.
    let secret_seed = rand::random::<[u8; 32]>();
    let machine = Machine::new(&targets, config, nonce, secret_seed, Instant::now());
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let token = CancellationToken::new();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if direct::suits(&targets, &machine, &sink) {
        match poll::Wake::new() {
            Ok(wake) => {
                let wake = Arc::new(wake);
                let driver = direct::Direct::new(direct::Parts {
                    machine,
                    udp: [udp4, udp6],
                    commands,
                    sink,
                    token: token.clone(),
                    wake: wake.clone(),
                });
                let handle = runtime.spawn_blocking(move || driver.run());
                let control = RunControl {
                    token,
                    commands: commands_tx,
                    wake: Some(wake),
                };
                return Ok(Launched {
                    control: control.clone(),
                    handle,
                    cancel_on_drop: Some(control),
                });
            }
            Err(e) => debug!(error = %e, "no eventfd: the run is driven on the runtime"),
        }
    }
    let to_tokio = |socket: io::Result<std::net::UdpSocket>| -> Result<UdpSocket, String> {
        socket
            .and_then(UdpSocket::from_std)
            .map_err(|e| e.to_string())
    };
    let (inbound_tx, inbound) = mpsc::unbounded_channel();
    let connects = Arc::new(Semaphore::new(machine.config().max_concurrent_connects));
    let engine = Engine {
        machine,
        ports: targets.iter().map(|t| t.ports).collect(),
        names: targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.host {
                Host::Name(name) => Some((i, name.clone())),
                Host::Ip(_) => None,
            })
            .collect(),
        udp4: to_tokio(udp4),
        udp6: to_tokio(udp6),
        udp_sent: false,
        icmp: [None, None],
        icmp_ident: rand::random::<u16>(),
        connects,
        tasks: JoinSet::new(),
        inbound_tx,
        inbound,
        commands,
        sink,
        token: token.clone(),
        timer: timer::Timer::new(),
        packet: Vec::new(),
        held_since: None,
    };
    let handle = runtime.spawn(engine.run());
    let control = RunControl {
        token,
        commands: commands_tx,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        wake: None,
    };
    Ok(Launched {
        control: control.clone(),
        handle,
        cancel_on_drop: Some(control),
    })
}

/// Everything the engine task owns.
struct Engine {
    machine: Machine,
    ports: Vec<Ports>,
    names: Vec<(usize, String)>,
    udp4: Result<UdpSocket, String>,
    udp6: Result<UdpSocket, String>,
    /// Whether a UDP probe was sent (from then on the UDP sockets are watched).
    udp_sent: bool,
    /// The ICMP sockets (V4, V6), opened for the first target that needs one.
    icmp: [Option<Result<icmp::IcmpSocket, Unreachable>>; 2],
    /// The echo identifier of the run's raw ICMP sockets.
    icmp_ident: u16,
    connects: Arc<Semaphore>,
    tasks: JoinSet<()>,
    inbound_tx: mpsc::UnboundedSender<Inbound>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Where the events go.
    sink: Sink,
    token: CancellationToken,
    /// Waits for the core's next deadline with microsecond precision (pacing).
    timer: timer::Timer,
    /// The probe being sent (UDP payload, or ICMP header and payload), reused for every probe.
    packet: Vec<u8>,
    /// Since when events are held back ([`EngineConfig::forward_every`]).
    held_since: Option<Instant>,
}

impl Engine {
    async fn run(mut self) -> Ended {
        for (index, name) in std::mem::take(&mut self.names) {
            let tx = self.inbound_tx.clone();
            self.tasks.spawn(async move {
                let result = tokio::net::lookup_host((name.as_str(), 0))
                    .await
                    .map(|addrs| addrs.map(|a| a.ip()).collect())
                    .map_err(|e| e.to_string());
                let _ = tx.send(Inbound::Resolved { index, result });
            });
        }
        for index in 0..self.machine.len() {
            self.check_channel(index);
        }
        let mut buf4 = vec![0u8; 65_536];
        let mut buf6 = vec![0u8; 65_536];
        let mut icmp_buf = vec![0u8; 65_536];
        let mut cancelled = false;
        // Made once, not on every pass of the loop (each pass polls every branch afresh).
        let cancel = self.token.clone().cancelled_owned();
        tokio::pin!(cancel);
        loop {
            self.machine.handle_timeout(Instant::now());
            self.transmit().await;
            self.forward_events().await;
            if self.machine.is_finished() {
                break;
            }
            let wake = next_wake(&self.machine, self.held_since, self.sink.next_look());
            // The UDP sockets are watched once a UDP probe went out: before, nothing on them
            // can be an answer, and a run without UDP targets (ICMP, TCP) saves four polls
            // per pass.
            let udp4 = self.udp4.as_ref().ok().filter(|_| self.udp_sent);
            let udp6 = self.udp6.as_ref().ok().filter(|_| self.udp_sent);
            let [icmp4, icmp6] = self
                .icmp
                .each_ref()
                .map(|s| s.as_ref().and_then(|s| s.as_ref().ok()));
            tokio::select! {
                biased;
                () = &mut cancel, if !cancelled => {
                    cancelled = true;
                    self.machine.cancel(Instant::now());
                }
                Some(command) = self.commands.recv() => {
                    apply(&mut self.machine, command);
                }
                // A branch whose socket is missing is not polled at all (`if`): every pass
                // of the loop builds and polls the enabled branches afresh.
                () = readable(udp4), if udp4.is_some() => {
                    drain_datagrams(&mut self.machine, Family::V4, udp4, &mut buf4);
                }
                () = readable(udp6), if udp6.is_some() => {
                    drain_datagrams(&mut self.machine, Family::V6, udp6, &mut buf6);
                }
                () = error_ready(udp4), if udp4.is_some() => {
                    drain_errors(&mut self.machine, Family::V4, udp4, &mut buf4);
                }
                () = error_ready(udp6), if udp6.is_some() => {
                    drain_errors(&mut self.machine, Family::V6, udp6, &mut buf6);
                }
                () = readable(icmp4.map(|s| &s.socket)), if icmp4.is_some() => {
                    drain_echoes(&mut self.machine, icmp4, &mut icmp_buf);
                }
                () = readable(icmp6.map(|s| &s.socket)), if icmp6.is_some() => {
                    drain_echoes(&mut self.machine, icmp6, &mut icmp_buf);
                }
                Some(msg) = self.inbound.recv() => {
                    self.handle_inbound(msg);
                }
                () = self.timer.sleep_until(wake) => {}
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        self.forward_events().await;
        self.tasks.abort_all();
        Ended {
            machine: self.machine,
            at: Instant::now(),
            sink: self.sink,
        }
    }

    /// Sends every probe the core wants now (pacing lets at most one out per `min_gap`).
    async fn transmit(&mut self) {
        loop {
            let now = Instant::now();
            let Some(tx) = self.machine.poll_transmit(now) else {
                return;
            };
            self.send(tx).await;
        }
    }

    async fn send(&mut self, tx: Transmit) {
        let limit = self.machine.config().timeout;
        match tx.key.channel {
            Channel::Udp(family) => {
                let socket = match family {
                    Family::V4 => self.udp4.as_ref(),
                    Family::V6 => self.udp6.as_ref(),
                };
                let Ok(socket) = socket else { return };
                self.udp_sent = true;
                udp_packet(&self.machine, &tx, &mut self.packet);
                if let Err(e) = socket.send_to(&self.packet, tx.dest).await {
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        // A port unreachable for an earlier probe surfaced here.
                        drain_errors(
                            &mut self.machine,
                            family,
                            Some(socket),
                            &mut vec![0u8; 2048],
                        );
                    }
                    self.machine.on_send_failed(
                        Instant::now(),
                        tx.key,
                        format!("UDP send to {}: {e}", tx.dest),
                    );
                }
            }
            Channel::Tcp(_) => {
                let task = tcp::probe(
                    tx.key,
                    tx.dest,
                    limit,
                    self.connects.clone(),
                    self.inbound_tx.clone(),
                );
                self.tasks.spawn(task);
            }
            Channel::Icmp(family) => {
                let Some(Ok(socket)) = &self.icmp[family_slot(family)] else {
                    return;
                };
                let seq = echo_packet(&self.machine, &tx, &mut self.packet);
                if let Err(e) = socket.send(tx.dest.ip(), seq, &mut self.packet).await {
                    self.machine.on_send_failed(
                        Instant::now(),
                        tx.key,
                        format!("ICMP echo to {}: {e}", tx.dest.ip()),
                    );
                }
            }
        }
    }

    /// Ends a target at once when its channel cannot work (no socket of its family,
    /// ICMP not permitted).
    fn check_channel(&mut self, index: usize) {
        let why = match self.machine.channel(index) {
            Some(Channel::Udp(family)) => {
                let socket = match family {
                    Family::V4 => &self.udp4,
                    Family::V6 => &self.udp6,
                };
                socket.as_ref().err().map(|e| no_udp_socket(family, e))
            }
            Some(Channel::Icmp(family)) => {
                let ident = self.icmp_ident;
                self.icmp[family_slot(family)]
                    .get_or_insert_with(|| icmp::open(family, ident))
                    .as_ref()
                    .err()
                    .cloned()
            }
            Some(Channel::Tcp(_)) | None => None,
        };
        if let Some(why) = why {
            self.machine.end_unreachable(Instant::now(), index, why);
        }
    }

    fn handle_inbound(&mut self, msg: Inbound) {
        let now = Instant::now();
        match msg {
            Inbound::Resolved { index, result } => {
                let ports = self.ports.get(index).copied().unwrap_or_default();
                self.machine.on_resolved(now, index, result, ports);
                self.check_channel(index);
            }
            Inbound::Reply { key, rtt } => self.machine.on_probe_reply(now, key, rtt),
            Inbound::Refused { key } => self.machine.on_probe_refused(now, key),
            Inbound::Failed { key, error } => self.machine.on_send_failed(now, key, error),
        }
    }

    /// Hands the core's events over (see [`Sink::forward`]). A burst to a channel (a `Resolved`
    /// per target at the start, a `Done` per target at a cancel) goes in batches with a yield
    /// between them, so a reader on the same thread takes them as they come instead of the
    /// channel holding them all.
    async fn forward_events(&mut self) {
        while self.sink.forward(
            &mut self.machine,
            &mut self.held_since,
            FORWARD_BATCH,
            Instant::now(),
        ) {
            tokio::task::yield_now().await;
        }
    }
}

/// When a driver must wake next: the core's next deadline, or the events held back
/// ([`EngineConfig::forward_every`] since `held_since`), which go out on the first wake-up after
/// their period; one is added for them only when none comes within another period.
fn next_wake(
    machine: &Machine,
    held_since: Option<Instant>,
    look: Option<Instant>,
) -> Option<Instant> {
    let flush = machine
        .config()
        .forward_every
        .zip(held_since)
        .map(|(every, since)| (since + every, every));
    let next = match (machine.poll_timeout(), flush) {
        (Some(next), Some((flush, every))) if next <= flush + every => Some(next),
        (Some(next), Some((flush, _))) => Some(next.min(flush)),
        (next, flush) => next.or(flush.map(|(at, _)| at)),
    };
    // An observer's look (its own clock) is a wake-up of its own.
    match (next, look) {
        (Some(next), Some(look)) => Some(next.min(look)),
        (next, look) => next.or(look),
    }
}

/// Whether the core's events are held back now ([`EngineConfig::forward_every`]): they are
/// while the period that started with the first of them (`held_since`) runs, unless the run
/// is over.
fn holding(machine: &Machine, held_since: &mut Option<Instant>, now: Instant) -> bool {
    if let Some(every) = machine.config().forward_every
        && !machine.is_finished()
        && machine.has_events()
    {
        let since = *held_since.get_or_insert(now);
        if now.saturating_duration_since(since) < every {
            return true;
        }
    }
    *held_since = None;
    false
}

/// Carries out a caller's command.
fn apply(machine: &mut Machine, command: Command) {
    let now = Instant::now();
    match command {
        Command::Stop(id) => machine.stop_target(now, id),
        Command::Extend {
            id,
            more,
            not_before,
        } => machine.extend_target(now, id, more, not_before),
        Command::Release(id) => machine.release_target(now, id),
    }
}

/// Writes the UDP probe `tx` into `packet`.
fn udp_packet(machine: &Machine, tx: &Transmit, packet: &mut Vec<u8>) {
    packet.clear();
    let size = machine.config().payload_size;
    payload::encode_into(machine.nonce(), tx.key.seq, tx.secret, size, packet);
}

/// Writes the echo data of the ICMP probe `tx` into `packet` behind room for the echo header
/// (the socket fills it in), and returns the header's sequence number.
fn echo_packet(machine: &Machine, tx: &Transmit, packet: &mut Vec<u8>) -> u16 {
    packet.clear();
    packet.resize(icmp::ECHO_HEADER_LEN, 0);
    let size = machine.config().payload_size;
    payload::encode_into(machine.nonce(), tx.key.seq, tx.secret, size, packet);
    // The channel's sequence space is 16 bits wide: the number fits the header.
    tx.key.seq.0 as u16
}

/// Why a target of `family` cannot probe over UDP: its socket did not open.
fn no_udp_socket(family: Family, e: &dyn std::fmt::Display) -> Unreachable {
    Unreachable::SendFailed(format!("no {family:?} UDP socket: {e}"))
}

async fn readable(socket: Option<&UdpSocket>) {
    match socket {
        Some(socket) => {
            if let Err(e) = socket.readable().await {
                debug!(error = %e, "waiting for datagrams failed");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn error_ready(socket: Option<&UdpSocket>) {
    match socket {
        Some(socket) => {
            if let Err(e) = socket.ready(Interest::ERROR).await {
                debug!(error = %e, "waiting for socket errors failed");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Hands every queued datagram to the core, each with the instant it arrived.
fn drain_datagrams(
    machine: &mut Machine,
    family: Family,
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) {
    let Some(socket) = socket else { return };
    loop {
        let read = socket.try_io(Interest::READABLE, || sys::recv(socket, buf));
        match take_datagram(machine, family, read, buf) {
            Read::Again => {}
            Read::ErrorQueue => drain_errors(machine, family, Some(socket), buf),
            Read::Done => return,
        }
    }
}

/// What to do after one receive on a UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Read on.
    Again,
    /// A port unreachable is waiting in the error queue: read it.
    ErrorQueue,
    /// Nothing more to read now.
    Done,
}

/// Hands what one receive on a UDP socket of `family` read into `buf` to the core.
fn take_datagram(
    machine: &mut Machine,
    family: Family,
    read: io::Result<sys::Datagram>,
    buf: &[u8],
) -> Read {
    match read {
        Ok(d) => {
            machine.on_datagram(d.received_at, family, d.from, &buf[..d.len]);
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Read::ErrorQueue,
        Err(e) if sys::is_stale_datagram_error(&e) => {
            // Windows: an ICMP error about an earlier datagram, naming no destination
            // we can trust. Only this read failed; the datagrams behind it are read on.
            debug!(error = %e, ?family, "UDP receive reported an earlier ICMP error");
            Read::Again
        }
        Err(e) => {
            debug!(error = %e, ?family, "UDP receive error");
            Read::Done
        }
    }
}

/// The index of a family in per-family arrays.
fn family_slot(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Hands every queued ICMP echo reply to the core, each with the instant it arrived.
fn drain_echoes(machine: &mut Machine, socket: Option<&icmp::IcmpSocket>, buf: &mut [u8]) {
    let Some(icmp) = socket else { return };
    loop {
        let read = icmp
            .socket
            .try_io(Interest::READABLE, || sys::recv(&icmp.socket, buf));
        if take_echo(machine, icmp, read, buf) == Read::Done {
            return;
        }
    }
}

/// Hands what one receive on an ICMP socket read into `buf` to the core, if it is an echo
/// reply meant for us.
fn take_echo<S>(
    machine: &mut Machine,
    icmp: &icmp::IcmpSocket<S>,
    read: io::Result<sys::Datagram>,
    buf: &[u8],
) -> Read {
    match read {
        Ok(d) => {
            if let Some(data) = icmp.echo_data(&buf[..d.len]) {
                machine.on_echo(d.received_at, icmp.family, d.from.ip(), data);
            }
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) => {
            debug!(error = %e, "ICMP receive error");
            Read::Done
        }
    }
}

/// Reads the socket's error queue until it is empty.
fn drain_errors(machine: &mut Machine, family: Family, socket: Option<&UdpSocket>, buf: &mut [u8]) {
    let Some(socket) = socket else { return };
    // Through `try_io` first, so tokio clears the error readiness once the queue is empty;
    // then directly, for entries queued before tokio saw the readiness (the ECONNREFUSED
    // path of recv and send).
    for direct in [false, true] {
        loop {
            let entry = if direct {
                sys::recv_error(socket, buf)
            } else {
                socket.try_io(Interest::ERROR, || sys::recv_error(socket, buf))
            };
            if take_queued_error(machine, family, entry, buf) == Read::Done {
                break;
            }
        }
    }
}

/// Hands one entry of a UDP socket's error queue (its datagram in `buf`) to the core, if it
/// says a probe was refused.
fn take_queued_error(
    machine: &mut Machine,
    family: Family,
    entry: io::Result<sys::QueuedError>,
    buf: &[u8],
) -> Read {
    match entry {
        Ok(err) => {
            match err.dest {
                Some(dest) if err.refused => {
                    machine.on_udp_refused(Instant::now(), family, dest, &buf[..err.len]);
                }
                dest => debug!(?dest, errno = err.errno, "socket error queue entry ignored"),
            }
            Read::Again
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::Done,
        Err(e) => {
            debug!(error = %e, ?family, "reading the socket error queue failed");
            Read::Done
        }
    }
}
